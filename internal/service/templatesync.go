package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// Template sync configurations: a template follows <subdirectory>/<template>/v<N>/ on a
// branch of a linked repository (see syncer.go for the syncing itself).

const syncTypeTemplate = string(types.SyncTypeTemplateSync)

func templateTypeOf(t types.TemplateType) string {
	if t == types.TemplateTypeService {
		return store.ServiceTemplateType
	}
	return store.EnvironmentTemplateType
}

func apiTemplateType(t string) types.TemplateType {
	if t == store.ServiceTemplateType {
		return types.TemplateTypeService
	}
	return types.TemplateTypeEnvironment
}

func templateSyncOut(c *store.TemplateSyncConfig) *types.TemplateSyncConfig {
	return &types.TemplateSyncConfig{TemplateName: c.TemplateName, TemplateType: apiTemplateType(c.TemplateType),
		RepositoryProvider: types.RepositoryProvider(c.Provider), RepositoryName: c.Repository, Branch: c.Branch, Subdirectory: c.Subdirectory}
}

// cleanSubdirectory normalises a subdirectory ("/templates/", "./templates" → "templates")
// and refuses one that leaves the repository.
func cleanSubdirectory(dir string) (string, error) {
	dir = strings.Trim(strings.TrimPrefix(strings.TrimSpace(dir), "./"), "/")
	for _, part := range strings.Split(dir, "/") {
		if part == ".." {
			return "", api.Validationf("subdirectory: %q leaves the repository", dir)
		}
	}
	return dir, nil
}

func (s *Service) CreateTemplateSyncConfig(ctx context.Context, in *types.CreateTemplateSyncConfigInput) (*types.CreateTemplateSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := cleanSubdirectory(in.Subdirectory)
	if err != nil {
		return nil, err
	}
	cfg := &store.TemplateSyncConfig{AccountID: c.AccountID, TemplateType: templateTypeOf(in.TemplateType), TemplateName: in.TemplateName,
		Provider: string(in.RepositoryProvider), Repository: in.RepositoryName, Branch: in.Branch, Subdirectory: dir, CreatedAt: s.now()}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := s.templateExists(ctx, q, kindOfType(cfg.TemplateType), c.AccountID, in.TemplateName); err != nil {
			return err
		}
		if _, err := s.linkedRepository(ctx, q, c.AccountID, "repositoryName", &types.RepositoryBranchInput{
			Provider: in.RepositoryProvider, Name: in.RepositoryName, Branch: in.Branch}); err != nil {
			return err
		}
		return q.TemplateSyncConfigCreate(ctx, cfg)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, api.Conflictf("%s template %s already has a template sync configuration", strings.ToLower(string(in.TemplateType)), in.TemplateName)
	}
	if err != nil {
		return nil, err
	}
	s.kickSync()
	return &types.CreateTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncOut(cfg)}, nil
}

func kindOfType(t string) templateKind {
	if t == store.ServiceTemplateType {
		return svcKind
	}
	return envKind
}

func (s *Service) getTemplateSync(ctx context.Context, q store.Queries, accountID string, t types.TemplateType, name string) (*store.TemplateSyncConfig, error) {
	cfg, err := q.TemplateSyncConfigGet(ctx, accountID, templateTypeOf(t), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("%s template %s has no template sync configuration", strings.ToLower(string(t)), name)
	}
	return cfg, err
}

func (s *Service) GetTemplateSyncConfig(ctx context.Context, in *types.GetTemplateSyncConfigInput) (*types.GetTemplateSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := s.getTemplateSync(ctx, s.store, c.AccountID, in.TemplateType, in.TemplateName)
	if err != nil {
		return nil, err
	}
	return &types.GetTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncOut(cfg)}, nil
}

// UpdateTemplateSyncConfig changes the repository, branch or subdirectory; the next sync
// reads from there (a sync in progress finishes from where it started, as on Proton).
func (s *Service) UpdateTemplateSyncConfig(ctx context.Context, in *types.UpdateTemplateSyncConfigInput) (*types.UpdateTemplateSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := cleanSubdirectory(in.Subdirectory)
	if err != nil {
		return nil, err
	}
	var out *store.TemplateSyncConfig
	err = s.txRetrying(ctx, func(q store.Queries) error {
		cfg, err := s.getTemplateSync(ctx, q, c.AccountID, in.TemplateType, in.TemplateName)
		if err != nil {
			return err
		}
		if _, err := s.linkedRepository(ctx, q, c.AccountID, "repositoryName", &types.RepositoryBranchInput{
			Provider: in.RepositoryProvider, Name: in.RepositoryName, Branch: in.Branch}); err != nil {
			return err
		}
		cfg.Provider, cfg.Repository, cfg.Branch, cfg.Subdirectory = string(in.RepositoryProvider), in.RepositoryName, in.Branch, dir
		out = cfg
		return q.TemplateSyncConfigUpdate(ctx, cfg)
	})
	if err != nil {
		return nil, err
	}
	s.kickSync()
	return &types.UpdateTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncOut(out)}, nil
}

func (s *Service) DeleteTemplateSyncConfig(ctx context.Context, in *types.DeleteTemplateSyncConfigInput) (*types.DeleteTemplateSyncConfigOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.TemplateSyncConfig
	err = s.store.Tx(ctx, func(q store.Queries) error {
		cfg, err := s.getTemplateSync(ctx, q, c.AccountID, in.TemplateType, in.TemplateName)
		if err != nil {
			return err
		}
		out = cfg
		return q.TemplateSyncConfigDelete(ctx, c.AccountID, cfg.TemplateType, cfg.TemplateName)
	})
	if err != nil {
		return nil, err
	}
	return &types.DeleteTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncOut(out)}, nil
}

// templateSyncTarget names a template major's sync attempts.
func templateSyncTarget(templateType, name string, major string) string {
	return templateType + "/" + name + "/" + major
}

// repositorySyncTarget names a branch's sync attempts.
func repositorySyncTarget(provider, repository, branch string) string {
	return "repository/" + provider + "/" + repository + "/" + branch
}

func (s *Service) GetTemplateSyncStatus(ctx context.Context, in *types.GetTemplateSyncStatusInput) (*types.GetTemplateSyncStatusOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.getTemplateSync(ctx, s.store, c.AccountID, in.TemplateType, in.TemplateName); err != nil {
		return nil, err
	}
	target := templateSyncTarget(templateTypeOf(in.TemplateType), in.TemplateName, in.TemplateVersion)
	out := &types.GetTemplateSyncStatusOutput{}
	latest, err := s.store.SyncAttemptLatest(ctx, c.AccountID, syncTypeTemplate, target, false)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil // not synced yet
	}
	if err != nil {
		return nil, err
	}
	out.LatestSync = resourceSyncOut(latest)
	out.DesiredState = out.LatestSync.TargetRevision
	ok, err := s.store.SyncAttemptLatest(ctx, c.AccountID, syncTypeTemplate, target, true)
	if err == nil {
		out.LatestSuccessfulSync = resourceSyncOut(ok)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return out, nil
}

// syncEvent is one event of an attempt, as stored.
type syncEvent struct {
	Type       string    `json:"type"`
	ExternalID string    `json:"externalId,omitempty"`
	Time       time.Time `json:"time"`
	Event      string    `json:"event"`
}

func resourceSyncOut(a *store.SyncAttempt) *types.ResourceSyncAttempt {
	out := &types.ResourceSyncAttempt{StartedAt: types.TimeOf(a.StartedAt), Status: types.ResourceSyncStatus(a.Status), Target: a.Target,
		InitialRevision: revisionOf(a.InitialRevision), TargetRevision: revisionOf(a.TargetRevision), Events: []types.ResourceSyncEvent{}}
	for _, e := range eventsOf(a.Events) {
		out.Events = append(out.Events, types.ResourceSyncEvent{Type: e.Type, ExternalId: e.ExternalID, Time: types.TimeOf(e.Time), Event: e.Event})
	}
	return out
}

func revisionOf(raw string) *types.Revision {
	var r types.Revision
	_ = json.Unmarshal([]byte(raw), &r)
	return &r
}

func eventsOf(raw string) []syncEvent {
	var list []syncEvent
	_ = json.Unmarshal([]byte(raw), &list)
	return list
}

func (s *Service) GetRepositorySyncStatus(ctx context.Context, in *types.GetRepositorySyncStatusInput) (*types.GetRepositorySyncStatusOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.getRepository(ctx, s.store, c.AccountID, string(in.RepositoryProvider), in.RepositoryName); err != nil {
		return nil, err
	}
	a, err := s.store.SyncAttemptLatest(ctx, c.AccountID, string(in.SyncType), repositorySyncTarget(string(in.RepositoryProvider), in.RepositoryName, in.Branch), false)
	if errors.Is(err, store.ErrNotFound) {
		return &types.GetRepositorySyncStatusOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &types.RepositorySyncAttempt{StartedAt: types.TimeOf(a.StartedAt), Status: types.RepositorySyncStatus(a.Status), Events: []types.RepositorySyncEvent{}}
	for _, e := range eventsOf(a.Events) {
		out.Events = append(out.Events, types.RepositorySyncEvent{Type: e.Type, ExternalId: e.ExternalID, Time: types.TimeOf(e.Time), Event: e.Event})
	}
	return &types.GetRepositorySyncStatusOutput{LatestSync: out}, nil
}

// ListRepositorySyncDefinitions lists what syncs from a repository: for template sync, one
// definition per template (target the template's name, parent its type, directory its
// subdirectory).
func (s *Service) ListRepositorySyncDefinitions(ctx context.Context, in *types.ListRepositorySyncDefinitionsInput) (*types.ListRepositorySyncDefinitionsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.getRepository(ctx, s.store, c.AccountID, string(in.RepositoryProvider), in.RepositoryName); err != nil {
		return nil, err
	}
	out := &types.ListRepositorySyncDefinitionsOutput{SyncDefinitions: []types.RepositorySyncDefinition{}}
	if in.SyncType == types.SyncTypeServiceSync {
		// One definition per synced service: target the service, directory its
		// proton-ops file.
		p := store.Page{Limit: 500}
		for {
			list, next, err := s.store.ServiceSyncConfigList(ctx, p)
			if err != nil {
				return nil, err
			}
			for _, cfg := range list {
				if cfg.AccountID == c.AccountID && cfg.Provider == string(in.RepositoryProvider) && cfg.Repository == in.RepositoryName {
					out.SyncDefinitions = append(out.SyncDefinitions, types.RepositorySyncDefinition{Target: cfg.ServiceName,
						Parent: cfg.ServiceName, Branch: cfg.Branch, Directory: cfg.FilePath})
				}
			}
			if next == "" {
				return out, nil
			}
			p.After = next
		}
	}
	list, err := s.store.TemplateSyncConfigsOfRepository(ctx, c.AccountID, string(in.RepositoryProvider), in.RepositoryName, "")
	if err != nil {
		return nil, err
	}
	for _, cfg := range list {
		out.SyncDefinitions = append(out.SyncDefinitions, types.RepositorySyncDefinition{Target: cfg.TemplateName,
			Parent: string(apiTemplateType(cfg.TemplateType)), Branch: cfg.Branch, Directory: cfg.Subdirectory})
	}
	return out, nil
}
