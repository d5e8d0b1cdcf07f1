package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/gitsync"
	"github.com/openproton/openproton/internal/store"
)

// Service sync, as Proton did it: a service's instances follow a proton-ops file
// (sync.services.<service>.<instance>.{branch, spec}) on a branch of a linked repository.
// When the repository's branches move, each listed instance is created from, or updated
// to, its entry in the spec file on its own branch. A manual change to a synced instance
// (created or updated through the API) puts an ACTIVE blocker on it, and removing an
// instance puts one on the whole service: sync leaves them alone until someone resolves
// the blocker with UpdateServiceSyncBlocker.

const syncTypeService = string(types.SyncTypeServiceSync)

type fromSyncKey struct{}

// bySync marks changes service sync makes itself: they put up no blockers.
func bySync(ctx context.Context) context.Context { return context.WithValue(ctx, fromSyncKey{}, true) }

func madeBySync(ctx context.Context) bool { v, _ := ctx.Value(fromSyncKey{}).(bool); return v }

// noteManualChange puts up a blocker for a change made outside service sync to a synced
// service (instance "" = the whole service). It never fails the change itself.
func (s *Service) noteManualChange(ctx context.Context, accountID, serviceName, instanceName, reason string) {
	if madeBySync(ctx) {
		return
	}
	if _, err := s.store.ServiceSyncConfigGet(ctx, accountID, serviceName); err != nil {
		return // not synced (or unreadable: then the sync, which reads it too, waits)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return
	}
	ctxs := []store.Tag{{Key: "serviceName", Value: serviceName}}
	if instanceName != "" {
		ctxs = append(ctxs, store.Tag{Key: "serviceInstanceName", Value: instanceName})
	}
	b := &store.SyncBlocker{AccountID: accountID, ID: id.String(), ServiceName: serviceName, InstanceName: instanceName,
		Type: string(types.BlockerTypeAutomated), Status: string(types.BlockerStatusActive), CreatedReason: reason,
		CreatedAt: s.now(), Contexts: ctxs}
	if err := s.store.SyncBlockerCreate(ctx, b); err != nil {
		s.log.Warn("recording a service sync blocker", "service", serviceName, "instance", instanceName, "err", err)
	}
}

func serviceSyncOut(c *store.ServiceSyncConfig) *types.ServiceSyncConfig {
	return &types.ServiceSyncConfig{ServiceName: c.ServiceName, RepositoryProvider: types.RepositoryProvider(c.Provider),
		RepositoryName: c.Repository, Branch: c.Branch, FilePath: c.FilePath}
}

// cleanOpsPath normalises the proton-ops file's path and refuses one that leaves the
// repository.
func cleanOpsPath(p string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(strings.TrimSpace(p), "/"))
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", api.Validationf("filePath: %q is not a file in the repository", p)
	}
	return clean, nil
}

func (s *Service) CreateServiceSyncConfig(ctx context.Context, in *types.CreateServiceSyncConfigInput) (*types.CreateServiceSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	file, err := cleanOpsPath(in.FilePath)
	if err != nil {
		return nil, err
	}
	cfg := &store.ServiceSyncConfig{AccountID: c.AccountID, ServiceName: in.ServiceName, Provider: string(in.RepositoryProvider),
		Repository: in.RepositoryName, Branch: in.Branch, FilePath: file, CreatedAt: s.now()}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if _, err := s.getService(ctx, q, c.AccountID, in.ServiceName); err != nil {
			return err
		}
		if _, err := s.linkedRepository(ctx, q, c.AccountID, "repositoryName", &types.RepositoryBranchInput{
			Provider: in.RepositoryProvider, Name: in.RepositoryName, Branch: in.Branch}); err != nil {
			return err
		}
		return q.ServiceSyncConfigCreate(ctx, cfg)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, api.Conflictf("service %s already has a service sync configuration", in.ServiceName)
	}
	if err != nil {
		return nil, err
	}
	s.kickSync()
	return &types.CreateServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncOut(cfg)}, nil
}

func (s *Service) getServiceSync(ctx context.Context, q store.Queries, accountID, name string) (*store.ServiceSyncConfig, error) {
	cfg, err := q.ServiceSyncConfigGet(ctx, accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("service %s has no service sync configuration", name)
	}
	return cfg, err
}

func (s *Service) GetServiceSyncConfig(ctx context.Context, in *types.GetServiceSyncConfigInput) (*types.GetServiceSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := s.getServiceSync(ctx, s.store, c.AccountID, in.ServiceName)
	if err != nil {
		return nil, err
	}
	return &types.GetServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncOut(cfg)}, nil
}

func (s *Service) UpdateServiceSyncConfig(ctx context.Context, in *types.UpdateServiceSyncConfigInput) (*types.UpdateServiceSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	file, err := cleanOpsPath(in.FilePath)
	if err != nil {
		return nil, err
	}
	var out *store.ServiceSyncConfig
	err = s.txRetrying(ctx, func(q store.Queries) error {
		cfg, err := s.getServiceSync(ctx, q, c.AccountID, in.ServiceName)
		if err != nil {
			return err
		}
		if _, err := s.linkedRepository(ctx, q, c.AccountID, "repositoryName", &types.RepositoryBranchInput{
			Provider: in.RepositoryProvider, Name: in.RepositoryName, Branch: in.Branch}); err != nil {
			return err
		}
		cfg.Provider, cfg.Repository, cfg.Branch, cfg.FilePath = string(in.RepositoryProvider), in.RepositoryName, in.Branch, file
		out = cfg
		return q.ServiceSyncConfigUpdate(ctx, cfg)
	})
	if err != nil {
		return nil, err
	}
	s.kickSync()
	return &types.UpdateServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncOut(out)}, nil
}

func (s *Service) DeleteServiceSyncConfig(ctx context.Context, in *types.DeleteServiceSyncConfigInput) (*types.DeleteServiceSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.ServiceSyncConfig
	err = s.store.Tx(ctx, func(q store.Queries) error {
		cfg, err := s.getServiceSync(ctx, q, c.AccountID, in.ServiceName)
		if err != nil {
			return err
		}
		out = cfg
		return q.ServiceSyncConfigDelete(ctx, c.AccountID, in.ServiceName)
	})
	if err != nil {
		return nil, err
	}
	return &types.DeleteServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncOut(out)}, nil
}

func instanceSyncTarget(service, instance string) string {
	return "service/" + service + "/" + instance
}

func (s *Service) GetServiceInstanceSyncStatus(ctx context.Context, in *types.GetServiceInstanceSyncStatusInput) (*types.GetServiceInstanceSyncStatusOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.getInstance(ctx, s.store, c.AccountID, in.ServiceName, in.ServiceInstanceName); err != nil {
		return nil, err
	}
	target := instanceSyncTarget(in.ServiceName, in.ServiceInstanceName)
	out := &types.GetServiceInstanceSyncStatusOutput{}
	latest, err := s.store.SyncAttemptLatest(ctx, c.AccountID, syncTypeService, target, false)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.LatestSync = resourceSyncOut(latest)
	out.DesiredState = out.LatestSync.TargetRevision
	if ok, err := s.store.SyncAttemptLatest(ctx, c.AccountID, syncTypeService, target, true); err == nil {
		out.LatestSuccessfulSync = resourceSyncOut(ok)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return out, nil
}

func blockerOut(b *store.SyncBlocker) types.SyncBlocker {
	out := types.SyncBlocker{Id: b.ID, Type: types.BlockerType(b.Type), Status: types.BlockerStatus(b.Status),
		CreatedReason: b.CreatedReason, CreatedAt: types.TimeOf(b.CreatedAt), ResolvedReason: b.ResolvedReason}
	if !b.ResolvedAt.IsZero() {
		out.ResolvedAt = types.TimeOf(b.ResolvedAt)
	}
	for _, c := range b.Contexts {
		out.Contexts = append(out.Contexts, types.SyncBlockerContext{Key: c.Key, Value: c.Value})
	}
	return out
}

// latestBlockers is how many of the most recent blockers the summary shows.
const latestBlockers = 10

func (s *Service) GetServiceSyncBlockerSummary(ctx context.Context, in *types.GetServiceSyncBlockerSummaryInput) (*types.GetServiceSyncBlockerSummaryOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.getService(ctx, s.store, c.AccountID, in.ServiceName); err != nil {
		return nil, err
	}
	list, err := s.store.SyncBlockerList(ctx, c.AccountID, in.ServiceName, in.ServiceInstanceName, false, latestBlockers)
	if err != nil {
		return nil, err
	}
	sum := &types.ServiceSyncBlockerSummary{ServiceName: in.ServiceName, ServiceInstanceName: in.ServiceInstanceName}
	for _, b := range list {
		sum.LatestBlockers = append(sum.LatestBlockers, blockerOut(b))
	}
	return &types.GetServiceSyncBlockerSummaryOutput{ServiceSyncBlockerSummary: sum}, nil
}

// UpdateServiceSyncBlocker resolves a blocker: sync takes the instance (or service) up
// again. Resolving a resolved blocker returns it unchanged.
func (s *Service) UpdateServiceSyncBlocker(ctx context.Context, in *types.UpdateServiceSyncBlockerInput) (*types.UpdateServiceSyncBlockerOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.SyncBlocker
	err = s.txRetrying(ctx, func(q store.Queries) error {
		b, err := q.SyncBlockerGet(ctx, c.AccountID, in.Id)
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFoundf("sync blocker %s not found", in.Id)
		}
		if err != nil {
			return err
		}
		out = b
		if b.Status == string(types.BlockerStatusResolved) {
			return nil
		}
		b.Status, b.ResolvedReason, b.ResolvedAt = string(types.BlockerStatusResolved), in.ResolvedReason, s.now()
		if err := q.SyncBlockerUpdate(ctx, b); err != nil {
			return err
		}
		// Forget what the service last synced, so the next poll syncs it again now that
		// the blocker is gone, without waiting for a push.
		cfg, err := q.ServiceSyncConfigGet(ctx, c.AccountID, b.ServiceName)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return q.SyncHeadPut(ctx, &store.SyncHead{AccountID: c.AccountID, Provider: cfg.Provider, Repository: cfg.Repository,
			Branch: "service/" + cfg.ServiceName, SyncType: syncTypeService, SHA: "", SyncedAt: s.now()})
	})
	if err != nil {
		return nil, err
	}
	s.kickSync()
	return &types.UpdateServiceSyncBlockerOutput{ServiceName: out.ServiceName, ServiceInstanceName: out.InstanceName,
		ServiceSyncBlocker: ptr(blockerOut(out))}, nil
}

// ServiceSyncArgs is one sync of a service's instances.
type ServiceSyncArgs struct {
	AccountID string `json:"account_id"`
	Service   string `json:"service"`
}

func (ServiceSyncArgs) Kind() string { return "service_sync" }

// ServiceSyncWorker runs service syncs on the engine.
type ServiceSyncWorker struct {
	river.WorkerDefaults[ServiceSyncArgs]
	S *Service
}

func (w *ServiceSyncWorker) Work(ctx context.Context, job *river.Job[ServiceSyncArgs]) error {
	return w.S.syncService(ctx, job.Args)
}

// Timeout bounds one service sync: fetching its branches and starting its deployments.
func (w *ServiceSyncWorker) Timeout(*river.Job[ServiceSyncArgs]) time.Duration {
	return 10 * time.Minute
}

// pollServices queues a sync of every synced service whose repository's branches moved
// since its last sync (or that has an instance left to retry).
func (s *Service) pollServices(ctx context.Context) error {
	p := store.Page{Limit: 500}
	for {
		list, next, err := s.store.ServiceSyncConfigList(ctx, p)
		if err != nil {
			return err
		}
		for _, cfg := range list {
			if err := s.pollService(ctx, cfg); err != nil && ctx.Err() == nil {
				s.log.Warn("polling a synced service", "service", cfg.ServiceName, "err", err)
			}
		}
		if next == "" {
			return nil
		}
		p.After = next
	}
}

// serviceSyncState is what a service's sync head records: the repository's branch heads
// it synced, hashed, with the configuration they were read through.
func serviceSyncState(cfg *store.ServiceSyncConfig, heads map[string]string) string {
	b, _ := json.Marshal(struct {
		Cfg   [4]string
		Heads map[string]string
	}{[4]string{cfg.Provider, cfg.Repository, cfg.Branch, cfg.FilePath}, heads})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *Service) pollService(ctx context.Context, cfg *store.ServiceSyncConfig) error {
	rem, err := s.syncRemote(ctx, SyncArgs{AccountID: cfg.AccountID, Provider: cfg.Provider, Repository: cfg.Repository})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, gitCallTimeout)
	heads, err := gitsync.Heads(cctx, rem)
	cancel()
	if err != nil {
		return err
	}
	head, err := s.store.SyncHeadGet(ctx, cfg.AccountID, cfg.Provider, cfg.Repository, "service/"+cfg.ServiceName, syncTypeService)
	if err == nil && head.SHA == serviceSyncState(cfg, heads) {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		return s.queue.EnqueueTx(ctx, q, ServiceSyncArgs{AccountID: cfg.AccountID, Service: cfg.ServiceName}, &river.InsertOpts{UniqueOpts: syncUnique})
	})
}

// syncService brings a service's listed instances to their spec files.
func (s *Service) syncService(ctx context.Context, a ServiceSyncArgs) error {
	cfg, err := s.store.ServiceSyncConfigGet(ctx, a.AccountID, a.Service)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rem, err := s.syncRemote(ctx, SyncArgs{AccountID: cfg.AccountID, Provider: cfg.Provider, Repository: cfg.Repository})
	if err != nil {
		return nil // the link is gone: nothing to sync from
	}
	// The branch's own record, for GetRepositorySyncStatus with SERVICE_SYNC.
	run, err := s.startAttempt(ctx, syncTypeService, cfg.AccountID, repositorySyncTarget(cfg.Provider, cfg.Repository, cfg.Branch), nil, nil)
	if err != nil {
		return err
	}
	run.event(ctx, "CLONE_STARTED", "", "Clone started for service %s", cfg.ServiceName)
	heads, err := gitsync.Heads(ctx, rem)
	if err != nil {
		run.event(ctx, "CLONE_FAILED", "", "%v", err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return nil
	}
	ops, err := gitsync.Fetch(ctx, rem, cfg.Branch)
	if err != nil {
		run.event(ctx, "CLONE_FAILED", "", "%v", err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		if errors.Is(err, gitsync.ErrTooLarge) || errors.Is(err, gitsync.ErrNoBranch) {
			return s.recordServiceHead(ctx, cfg, heads) // until something is pushed
		}
		return nil
	}
	raw, ok := ops.File(cfg.FilePath)
	if !ok {
		run.event(ctx, "OPS_FILE_MISSING", ops.Commit, "No proton-ops file %s on branch %s", cfg.FilePath, cfg.Branch)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return s.recordServiceHead(ctx, cfg, heads)
	}
	opsFile, err := gitsync.ParseOpsFile(raw)
	if err != nil {
		run.event(ctx, "OPS_FILE_INVALID", ops.Commit, "%s: %v", cfg.FilePath, err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return s.recordServiceHead(ctx, cfg, heads)
	}
	run.event(ctx, "STARTING_SYNC", ops.Commit, "Starting syncs of service %s for commit %s", cfg.ServiceName, ops.Commit)
	defer run.finish(ctx, types.ResourceSyncStatusSucceeded)
	serviceBlocked, err := s.store.SyncBlockerList(ctx, cfg.AccountID, cfg.ServiceName, "", true, 1)
	if err != nil {
		return err
	}
	instances := opsFile.Services[cfg.ServiceName]
	names := make([]string, 0, len(instances))
	for n := range instances {
		names = append(names, n)
	}
	slices.Sort(names)
	snaps := map[string]*gitsync.Snapshot{cfg.Branch: ops}
	retry := false
	for _, name := range names {
		again, err := s.syncInstance(ctx, cfg, rem, snaps, name, instances[name], len(serviceBlocked) > 0)
		if err != nil {
			return err
		}
		retry = retry || again
	}
	if retry {
		return nil // leave the head: the next poll tries the busy instances again
	}
	return s.recordServiceHead(ctx, cfg, heads)
}

func (s *Service) recordServiceHead(ctx context.Context, cfg *store.ServiceSyncConfig, heads map[string]string) error {
	return s.store.SyncHeadPut(ctx, &store.SyncHead{AccountID: cfg.AccountID, Provider: cfg.Provider, Repository: cfg.Repository,
		Branch: "service/" + cfg.ServiceName, SyncType: syncTypeService, SHA: serviceSyncState(cfg, heads), SyncedAt: s.now()})
}

// syncInstance creates or updates one instance from its spec file. retry reports an
// instance that could not be synced now (a deployment in progress).
func (s *Service) syncInstance(ctx context.Context, cfg *store.ServiceSyncConfig, rem gitsync.Remote, snaps map[string]*gitsync.Snapshot,
	name string, entry gitsync.OpsInstance, serviceBlocked bool) (retry bool, err error) {
	snap := snaps[entry.Branch]
	if snap == nil {
		if snap, err = gitsync.Fetch(ctx, rem, entry.Branch); err != nil {
			snap = nil
		}
		snaps[entry.Branch] = snap
	}
	rev := &types.Revision{RepositoryName: cfg.Repository, RepositoryProvider: types.RepositoryProvider(cfg.Provider),
		Branch: entry.Branch, Directory: entry.Spec}
	if snap != nil {
		rev.Sha = snap.Commit
	}
	target := instanceSyncTarget(cfg.ServiceName, name)
	last, err := s.store.SyncAttemptLatest(ctx, cfg.AccountID, syncTypeService, target, true)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	initial := rev
	if last != nil {
		initial = revisionOf(last.TargetRevision)
	}
	run, err := s.startAttempt(ctx, syncTypeService, cfg.AccountID, target, initial, rev)
	if err != nil {
		return false, err
	}
	fail := func(typ, format string, args ...any) (bool, error) {
		run.event(ctx, typ, rev.Sha, format, args...)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return false, nil
	}
	if serviceBlocked {
		return fail("SYNC_BLOCKED", "Service %s has an active sync blocker; resolve it with UpdateServiceSyncBlocker", cfg.ServiceName)
	}
	blocked, err := s.store.SyncBlockerList(ctx, cfg.AccountID, cfg.ServiceName, name, true, 1)
	if err != nil {
		return false, err
	}
	if len(blocked) > 0 {
		return fail("SYNC_BLOCKED", "Service instance %s has an active sync blocker (%s); resolve it with UpdateServiceSyncBlocker", name, blocked[0].CreatedReason)
	}
	if snap == nil {
		return fail("SYNC_FAILED", "Branch %s cannot be read", entry.Branch)
	}
	specText, ok := snap.File(entry.Spec)
	if !ok {
		return fail("SYNC_FAILED", "No spec file %s on branch %s", entry.Spec, entry.Branch)
	}
	want, err := instanceEntry(string(specText), name)
	if err != nil {
		return fail("SYNC_FAILED", "%s: %v", entry.Spec, apiMessage(err))
	}
	// Service sync acts for the account, as Proton's service-linked role did.
	ctx = bySync(auth.WithCaller(ctx, auth.Caller{AccountID: cfg.AccountID, Role: auth.RoleAdmin}))
	cur, err := s.store.ServiceInstanceGet(ctx, cfg.AccountID, cfg.ServiceName, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, err = s.CreateServiceInstance(ctx, &types.CreateServiceInstanceInput{ServiceName: cfg.ServiceName, Name: name, Spec: string(specText)})
		if err == nil {
			run.event(ctx, "INSTANCE_CREATED", rev.Sha, "Created service instance %s from %s", name, entry.Spec)
		}
	case err != nil:
		return false, err
	default:
		have, herr := instanceEntry(cur.Spec, name)
		if herr == nil && have.Environment == want.Environment && reflect.DeepEqual(normalJSON(have.Inputs), normalJSON(want.Inputs)) {
			run.event(ctx, "NO_CHANGES", rev.Sha, "Service instance %s matches %s", name, entry.Spec)
			run.finish(ctx, types.ResourceSyncStatusSucceeded)
			return false, nil
		}
		_, err = s.UpdateServiceInstance(ctx, &types.UpdateServiceInstanceInput{ServiceName: cfg.ServiceName, Name: name,
			DeploymentType: types.DeploymentUpdateTypeCurrentVersion, Spec: string(specText)})
		if err == nil {
			run.event(ctx, "INSTANCE_UPDATED", rev.Sha, "Updated service instance %s from %s", name, entry.Spec)
		}
	}
	if err != nil {
		var conflict *types.ConflictException
		if errors.As(err, &conflict) && strings.Contains(conflict.Message, "in progress") {
			// Busy deploying: tried again at the next poll.
			run.event(ctx, "SYNC_DEFERRED", rev.Sha, "%s; retrying", conflict.Message)
			run.finish(ctx, types.ResourceSyncStatusFailed)
			return true, nil
		}
		if msg, ok := asAPIError(err); ok {
			return fail("SYNC_FAILED", "%s", msg)
		}
		run.event(ctx, "SYNC_FAILED", rev.Sha, "%v", err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return false, err
	}
	run.finish(ctx, types.ResourceSyncStatusSucceeded)
	return false, nil
}

// normalJSON compares inputs by their JSON form (numbers as written).
func normalJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func apiMessage(err error) string {
	if msg, ok := asAPIError(err); ok {
		return msg
	}
	return err.Error()
}
