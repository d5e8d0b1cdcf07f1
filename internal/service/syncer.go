package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/gitsync"
	"github.com/openproton/openproton/internal/store"
)

// Template sync, as Proton did it: a poller notices that a followed branch moved and
// queues a sync of the branch (a River job, so any replica may run it and it survives
// restarts); the sync reads the branch's tip and, for every template following that
// branch, registers a new version of each v<N> folder whose bundle changed since the last
// version synced from it (or whose last synced version was deleted): major N is created
// when it does not exist, otherwise its next minor. New versions go through the same
// registration as uploaded ones and end DRAFT (or REGISTRATION_FAILED). A branch has at
// most one sync queued or running: commits pushed meanwhile are picked up, together, by the
// next one, and a commit already synced is never synced again.

// SyncArgs is one sync of a branch.
type SyncArgs struct {
	AccountID  string `json:"account_id"`
	Provider   string `json:"provider"`
	Repository string `json:"repository"`
	Branch     string `json:"branch"`
}

func (SyncArgs) Kind() string { return "template_sync" }

// SyncWorker runs branch syncs on the engine.
type SyncWorker struct {
	river.WorkerDefaults[SyncArgs]
	S *Service
}

func (w *SyncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	return w.S.syncBranch(ctx, job.Args)
}

// Timeout bounds one sync: fetching, and waiting for the new versions to register.
func (w *SyncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return 10 * time.Minute }

// syncUnique keeps one sync per branch queued or running.
var syncUnique = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}

func (s *Service) kickSync() {
	select {
	case s.syncKick <- struct{}{}:
	default:
	}
}

// KickSync makes the poller look at every followed branch now (the sync webhook). Kicks
// closer together than a second are dropped: the webhook is unauthenticated, and each kick
// costs a look at every followed repository.
func (s *Service) KickSync() {
	now := s.now().UnixNano()
	last := s.lastWebhook.Load()
	if now-last < int64(time.Second) || !s.lastWebhook.CompareAndSwap(last, now) {
		return
	}
	s.kickSync()
}

// RunSyncPoller looks for moved branches every interval, and at once when kicked, until
// ctx ends. Every replica may run it: the queue keeps one sync per branch.
func (s *Service) RunSyncPoller(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.pollSync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("polling synced repositories", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.syncKick:
		}
	}
}

func (s *Service) pollSync(ctx context.Context) error {
	if s.repos == nil || s.queue == nil {
		return nil
	}
	if err := s.pollServices(ctx); err != nil {
		return err
	}
	branches := map[SyncArgs][]*store.TemplateSyncConfig{}
	var order []SyncArgs
	p := store.Page{Limit: 500}
	for {
		list, next, err := s.store.TemplateSyncConfigList(ctx, "", p)
		if err != nil {
			return err
		}
		for _, cfg := range list {
			a := SyncArgs{AccountID: cfg.AccountID, Provider: cfg.Provider, Repository: cfg.Repository, Branch: cfg.Branch}
			if branches[a] == nil {
				order = append(order, a)
			}
			branches[a] = append(branches[a], cfg)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	for _, a := range order {
		if err := s.pollBranch(ctx, a, branches[a]); err != nil && ctx.Err() == nil {
			s.log.Warn("polling a synced branch", "repository", a.Provider+" "+a.Repository, "branch", a.Branch, "err", err)
		}
	}
	return nil
}

// gitCallTimeout bounds one look at a remote by the poller: a host that never answers
// must not hold up every other sync.
const gitCallTimeout = time.Minute

// templateSyncState is what a branch's sync head records: the commit synced and the
// configurations that followed the branch then, so that a new or changed configuration
// syncs at once instead of at the next push.
func templateSyncState(commit string, cfgs []*store.TemplateSyncConfig) string {
	keys := make([]string, 0, len(cfgs))
	for _, c := range cfgs {
		keys = append(keys, c.TemplateType+"/"+c.TemplateName+"/"+c.Subdirectory)
	}
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return commit + " " + hex.EncodeToString(sum[:8])
}

// pollBranch queues a sync of a branch whose tip (or whose followers) changed since the
// last sync.
func (s *Service) pollBranch(ctx context.Context, a SyncArgs, cfgs []*store.TemplateSyncConfig) error {
	rem, err := s.syncRemote(ctx, a)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, gitCallTimeout)
	sha, err := gitsync.Head(cctx, rem, a.Branch)
	cancel()
	if err != nil || sha == "" {
		return err
	}
	head, err := s.store.SyncHeadGet(ctx, a.AccountID, a.Provider, a.Repository, a.Branch, syncTypeTemplate)
	if err == nil && head.SHA == templateSyncState(sha, cfgs) {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		return s.queue.EnqueueTx(ctx, q, a, &river.InsertOpts{UniqueOpts: syncUnique})
	})
}

// syncRemote is the git remote of a synced branch's linked repository.
func (s *Service) syncRemote(ctx context.Context, a SyncArgs) (gitsync.Remote, error) {
	link, err := s.store.RepositoryGet(ctx, a.AccountID, a.Provider, a.Repository)
	if err != nil {
		return gitsync.Remote{}, fmt.Errorf("repository %s %s: %w", a.Provider, a.Repository, err)
	}
	rem, err := s.remoteOf(a.Provider, a.Repository, link.ConnectionARN)
	if err != nil {
		return gitsync.Remote{}, err
	}
	out := gitsync.Remote{URL: rem.URL}
	if a := rem.Auth; a != nil {
		out.Username, out.Password, out.SSHKey, out.KnownHostsFile = a.Username, a.Password, a.SSHKey, a.KnownHostsFile
	}
	return out, nil
}

// attempt is a sync attempt being recorded.
type attempt struct {
	s      *Service
	rec    *store.SyncAttempt
	events []syncEvent
}

func (s *Service) startAttempt(ctx context.Context, syncType, accountID, target string, initial, targetRev *types.Revision) (*attempt, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	a := &attempt{s: s, rec: &store.SyncAttempt{AccountID: accountID, ID: id.String(), SyncType: syncType, Target: target,
		StartedAt: s.now(), Status: string(types.ResourceSyncStatusInProgress), InitialRevision: marshalRevision(initial),
		TargetRevision: marshalRevision(targetRev), Events: "[]"}}
	return a, s.store.SyncAttemptCreate(ctx, a.rec)
}

func marshalRevision(r *types.Revision) string {
	if r == nil {
		return "{}"
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// event records one event (written at once, so the status APIs show progress).
func (a *attempt) event(ctx context.Context, typ, externalID, format string, args ...any) {
	a.events = append(a.events, syncEvent{Type: typ, ExternalID: externalID, Time: a.s.now(), Event: fmt.Sprintf(format, args...)})
	a.save(ctx)
}

func (a *attempt) finish(ctx context.Context, status types.ResourceSyncStatus) {
	a.rec.Status = string(status)
	a.save(ctx)
}

func (a *attempt) save(ctx context.Context) {
	raw, _ := json.Marshal(a.events)
	a.rec.Events = string(raw)
	// Recorded even when the job is being stopped: the status APIs must not show an
	// attempt that ended as still in progress.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.s.store.SyncAttemptUpdate(ctx, a.rec); err != nil {
		a.s.log.Warn("recording a sync attempt", "target", a.rec.Target, "err", err)
	}
}

// syncBranch syncs every template that follows a branch to the branch's tip.
func (s *Service) syncBranch(ctx context.Context, a SyncArgs) error {
	configs, err := s.store.TemplateSyncConfigsOfRepository(ctx, a.AccountID, a.Provider, a.Repository, a.Branch)
	if err != nil || len(configs) == 0 {
		return err
	}
	repoTarget := repositorySyncTarget(a.Provider, a.Repository, a.Branch)
	run, err := s.startAttempt(ctx, syncTypeTemplate, a.AccountID, repoTarget, nil, nil)
	if err != nil {
		return err
	}
	run.event(ctx, "CLONE_STARTED", "", "Clone started")
	rem, err := s.syncRemote(ctx, a)
	if err != nil {
		run.event(ctx, "CLONE_FAILED", "", "%v", err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return nil // the next poll tries again
	}
	snap, err := gitsync.Fetch(ctx, rem, a.Branch)
	if err != nil {
		run.event(ctx, "CLONE_FAILED", "", "%v", err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		if errors.Is(err, gitsync.ErrTooLarge) {
			// It stays too large until the next push: do not fetch it again every poll.
			return s.recordTemplateHead(ctx, a, "", configs)
		}
		return nil
	}
	state := templateSyncState(snap.Commit, configs)
	if head, err := s.store.SyncHeadGet(ctx, a.AccountID, a.Provider, a.Repository, a.Branch, syncTypeTemplate); err == nil && head.SHA == state {
		run.event(ctx, "SYNC_SKIPPED", snap.Commit, "Commit %s was synced already", snap.Commit)
		run.finish(ctx, types.ResourceSyncStatusSucceeded)
		return nil
	}
	run.event(ctx, "STARTING_SYNC", snap.Commit, "Starting syncs for commit %s", snap.Commit)
	for _, cfg := range configs {
		// A template's failure is its own (GetTemplateSyncStatus shows it); the branch's
		// sync, which fetched the commit and started the templates' syncs, succeeded.
		if _, err := s.syncTemplate(ctx, cfg, snap); err != nil {
			return err // storage trouble: the job is retried
		}
	}
	if err := s.recordTemplateHead(ctx, a, snap.Commit, configs); err != nil {
		return err
	}
	run.finish(ctx, types.ResourceSyncStatusSucceeded)
	return nil
}

func (s *Service) recordTemplateHead(ctx context.Context, a SyncArgs, commit string, configs []*store.TemplateSyncConfig) error {
	return s.store.SyncHeadPut(ctx, &store.SyncHead{AccountID: a.AccountID, Provider: a.Provider, Repository: a.Repository,
		Branch: a.Branch, SyncType: syncTypeTemplate, SHA: templateSyncState(commit, configs), SyncedAt: s.now()})
}

// syncTemplate syncs one template's majors from a snapshot; ok is false when any failed.
func (s *Service) syncTemplate(ctx context.Context, cfg *store.TemplateSyncConfig, snap *gitsync.Snapshot) (ok bool, err error) {
	// The configuration may have moved to another branch or repository since this sync
	// began: then that branch's sync is the one that counts.
	cur, err := s.store.TemplateSyncConfigGet(ctx, cfg.AccountID, cfg.TemplateType, cfg.TemplateName)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if cur.Provider != cfg.Provider || cur.Repository != cfg.Repository || cur.Branch != cfg.Branch {
		return true, nil
	}
	cfg = cur
	kind := bundle.Environment
	if cfg.TemplateType == store.ServiceTemplateType {
		kind = bundle.Service
	}
	majors, err := gitsync.TemplateMajors(snap, kind, cfg.Subdirectory, cfg.TemplateName)
	if err != nil {
		s.log.Warn("reading a synced template", "template", cfg.TemplateName, "err", err)
		return false, nil
	}
	ok = true
	for i := range majors {
		good, err := s.syncMajor(ctx, cfg, snap, &majors[i])
		if err != nil {
			return false, err
		}
		ok = ok && good
	}
	return ok, nil
}

// syncMajor registers a new version of a template major when its bundle changed since
// the version last synced from it (or that version was deleted, or replaced by an upload).
// A version whose registration an interrupted sync left waiting is waited for, not made
// again; a bundle that failed registration is not registered again until it changes.
func (s *Service) syncMajor(ctx context.Context, cfg *store.TemplateSyncConfig, snap *gitsync.Snapshot, m *gitsync.Major) (bool, error) {
	major := strconv.Itoa(m.Major)
	target := templateSyncTarget(cfg.TemplateType, cfg.TemplateName, major)
	desired := &types.Revision{RepositoryName: cfg.Repository, RepositoryProvider: types.RepositoryProvider(cfg.Provider),
		Sha: snap.Commit, Directory: m.Dir, Branch: cfg.Branch}
	last, err := s.store.SyncAttemptLatest(ctx, cfg.AccountID, syncTypeTemplate, target, true)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	initial := desired
	if last != nil {
		initial = revisionOf(last.TargetRevision)
	}
	run, err := s.startAttempt(ctx, syncTypeTemplate, cfg.AccountID, target, initial, desired)
	if err != nil {
		return false, err
	}
	if m.Err != nil {
		run.event(ctx, "SYNC_FAILED", snap.Commit, "%v", m.Err)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return false, nil
	}
	if len(m.Bundle) > maxBundleBytes {
		run.event(ctx, "SYNC_FAILED", snap.Commit, "The bundle in %s is larger than the 5 MB limit", m.Dir)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return false, nil
	}
	v, err := s.syncedVersionOf(ctx, cfg, m)
	if err != nil {
		return false, err
	}
	if v == nil {
		if v, err = s.createSyncedVersion(ctx, cfg, m); err != nil {
			if msg, ok := asAPIError(err); ok {
				run.event(ctx, "SYNC_FAILED", snap.Commit, "%s", msg)
				run.finish(ctx, types.ResourceSyncStatusFailed)
				return false, nil
			}
			return false, err
		}
		// Recorded at once: a sync interrupted from here on finds the version it made.
		run.rec.Digest = m.Digest + " " + strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
		run.event(ctx, "VERSION_CREATED", snap.Commit, "Created version %d.%d from %s at %s", v.Major, v.Minor, m.Dir, snap.Commit)
	} else {
		run.rec.Digest = m.Digest + " " + strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
		if v.Status != string(types.TemplateVersionStatusRegistrationInProgress) {
			if v.Status == string(types.TemplateVersionStatusRegistrationFailed) {
				run.event(ctx, "REGISTRATION_FAILED", snap.Commit, "Bundle unchanged since version %d.%d, which failed registration: %s", v.Major, v.Minor, v.StatusMessage)
				run.finish(ctx, types.ResourceSyncStatusFailed)
				return false, nil
			}
			run.event(ctx, "NO_CHANGES", snap.Commit, "Bundle unchanged since version %d.%d", v.Major, v.Minor)
			run.finish(ctx, types.ResourceSyncStatusSucceeded)
			return true, nil
		}
		run.event(ctx, "REGISTRATION_RESUMED", snap.Commit, "Waiting for version %d.%d to register", v.Major, v.Minor)
	}
	final, err := s.awaitRegistration(ctx, v.VersionKey)
	if errors.Is(err, store.ErrNotFound) {
		run.event(ctx, "SYNC_FAILED", snap.Commit, "Version %d.%d was deleted while it registered", v.Major, v.Minor)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if final.Status != string(types.TemplateVersionStatusDraft) && final.Status != string(types.TemplateVersionStatusPublished) {
		run.event(ctx, "REGISTRATION_FAILED", snap.Commit, "Version %d.%d: %s", v.Major, v.Minor, final.StatusMessage)
		run.finish(ctx, types.ResourceSyncStatusFailed)
		return false, nil
	}
	run.event(ctx, "VERSION_REGISTERED", snap.Commit, "Version %d.%d registered (DRAFT)", v.Major, v.Minor)
	run.finish(ctx, types.ResourceSyncStatusSucceeded)
	return true, nil
}

// syncedVersionOf is the version an earlier sync made from exactly this bundle, if it
// still exists and still holds that bundle (a version deleted, or its number taken by an
// upload, does not count); nil otherwise.
func (s *Service) syncedVersionOf(ctx context.Context, cfg *store.TemplateSyncConfig, m *gitsync.Major) (*store.TemplateVersion, error) {
	prev, err := s.store.SyncAttemptLatestWithDigest(ctx, cfg.AccountID, syncTypeTemplate, templateSyncTarget(cfg.TemplateType, cfg.TemplateName, strconv.Itoa(m.Major)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	digest, key, ok := splitSyncDigest(prev.Digest)
	if !ok || digest != m.Digest {
		return nil, nil
	}
	key.AccountID, key.TemplateType, key.TemplateName = cfg.AccountID, cfg.TemplateType, cfg.TemplateName
	v, err := s.store.TemplateVersionGet(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	held, err := s.store.TemplateVersionBundle(ctx, key)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(held, m.Bundle) {
		return nil, nil
	}
	return v, nil
}

// createSyncedVersion stores a new version of a synced major with its bundle inline, for
// the registrar to check: major N itself when it has no version yet, else its next minor.
func (s *Service) createSyncedVersion(ctx context.Context, cfg *store.TemplateSyncConfig, m *gitsync.Major) (*store.TemplateVersion, error) {
	k := kindOfType(cfg.TemplateType)
	var compatible []store.CompatibleTemplate
	var components []string
	if r := m.Registration; r != nil {
		for _, c := range r.CompatibleEnvironments {
			compatible = append(compatible, store.CompatibleTemplate{TemplateName: c.TemplateName, MajorVersion: c.MajorVersion})
		}
		components = r.SupportedComponentSources
	}
	var v *store.TemplateVersion
	for attempt := 0; attempt < 5; attempt++ {
		err := s.store.Tx(ctx, func(q store.Queries) error {
			if err := s.templateExists(ctx, q, k, cfg.AccountID, cfg.TemplateName); err != nil {
				return err
			}
			if err := s.checkCompatibleTemplates(ctx, q, cfg.AccountID, compatible); err != nil {
				return err
			}
			minor := 0
			latest, err := q.TemplateVersionLatest(ctx, cfg.AccountID, cfg.TemplateType, cfg.TemplateName, m.Major, false)
			switch {
			case err == nil:
				minor = latest.Minor + 1
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			now := s.now().UTC()
			v = &store.TemplateVersion{
				VersionKey: store.VersionKey{AccountID: cfg.AccountID, TemplateType: cfg.TemplateType, TemplateName: cfg.TemplateName,
					Major: m.Major, Minor: minor},
				Status:                         string(types.TemplateVersionStatusRegistrationInProgress),
				Bundle:                         m.Bundle,
				CompatibleEnvironmentTemplates: compatible, SupportedComponentSources: components,
				CreatedAt: now, LastModifiedAt: now,
			}
			return q.TemplateVersionCreate(ctx, v)
		})
		if errors.Is(err, store.ErrAlreadyExists) {
			continue // an upload took the number meanwhile
		}
		if err != nil {
			return nil, err
		}
		s.kickRegistrar()
		return v, nil
	}
	return nil, fmt.Errorf("template %s major %d: version numbers kept being taken", cfg.TemplateName, m.Major)
}

// awaitRegistration waits for a version to leave REGISTRATION_IN_PROGRESS.
func (s *Service) awaitRegistration(ctx context.Context, key store.VersionKey) (*store.TemplateVersion, error) {
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		v, err := s.store.TemplateVersionGet(ctx, key)
		if err != nil {
			return nil, err
		}
		if v.Status != string(types.TemplateVersionStatusRegistrationInProgress) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// asAPIError is the message of a modelled error (a request-level refusal such as a
// missing compatible environment template), which a sync records as its failure.
func asAPIError(err error) (string, bool) {
	var e api.Error
	if errors.As(err, &e) {
		return e.ErrorMessage(), true
	}
	return "", false
}

// splitSyncDigest reads an attempt's digest: the bundle digest and the version it made.
func splitSyncDigest(s string) (digest string, v store.VersionKey, ok bool) {
	var major, minor int
	var d string
	if _, err := fmt.Sscanf(s, "%s %d.%d", &d, &major, &minor); err != nil {
		return "", v, false
	}
	return d, store.VersionKey{Major: major, Minor: minor}, true
}
