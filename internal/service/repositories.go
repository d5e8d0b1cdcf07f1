package service

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// repositoryNameRe is what openproton accepts as a repository name: exactly owner/name, as
// GitHub and Bitbucket name repositories. (The model's pattern is unanchored and would let
// a name walk out of the provider's base URL.)
var repositoryNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// repositoryARN is Proton's ARN of a repository link: the provider in lower case, then
// the repository's owner/name, e.g. …:repository/github:myrepos/environments.
func (s *Service) repositoryARN(accountID, provider, name string) string {
	return s.arn(accountID, "repository/"+strings.ToLower(provider)+":"+name)
}

func repositoryOut(r *store.Repository) *types.Repository {
	return &types.Repository{Arn: r.ARN, Provider: types.RepositoryProvider(r.Provider), Name: r.Name,
		ConnectionArn: r.ConnectionARN, EncryptionKey: r.EncryptionKey}
}

// CreateRepository links a repository: the server must know where the provider's
// repositories live (--repository-urls); the connection ARN names the credentials it uses
// for them (--repository-credentials), which never pass through the API.
func (s *Service) CreateRepository(ctx context.Context, in *types.CreateRepositoryInput) (*types.CreateRepositoryOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if s.repos == nil {
		return nil, api.NotImplementedf("repositories on this server (no repository configuration)")
	}
	if !repositoryNameRe.MatchString(in.Name) || strings.Contains("/"+in.Name+"/", "/../") || strings.Contains("/"+in.Name+"/", "/./") {
		return nil, api.Validationf("name: %q is not a repository name owner/repository (letters, digits, '.', '_' and '-')", in.Name)
	}
	// A connection is its account's own (CodeStar connections are): another account's
	// connection would lend this account its credentials.
	if parts := strings.SplitN(in.ConnectionArn, ":", 6); len(parts) != 6 || parts[4] != c.AccountID {
		return nil, api.Validationf("connectionArn: %s is not a connection of account %s", in.ConnectionArn, c.AccountID)
	}
	if _, err := s.repos.URL(string(in.Provider), in.Name); err != nil {
		return nil, api.Validationf("provider: %v", err)
	}
	r := &store.Repository{AccountID: c.AccountID, Provider: string(in.Provider), Name: in.Name,
		ARN: s.repositoryARN(c.AccountID, string(in.Provider), in.Name), ConnectionARN: in.ConnectionArn,
		EncryptionKey: in.EncryptionKey, CreatedAt: s.now()}
	err = s.createWithTags(ctx, c.AccountID, r.ARN, in.Tags, func(q store.Queries) error {
		return q.RepositoryCreate(ctx, r)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		old, gerr := s.store.RepositoryGet(ctx, c.AccountID, r.Provider, r.Name)
		if errors.Is(gerr, store.ErrNotFound) {
			return nil, api.Conflictf("repository %s %s was being unlinked meanwhile; retry", r.Provider, r.Name)
		}
		if gerr != nil {
			return nil, gerr
		}
		same := old.ConnectionARN == r.ConnectionARN && old.EncryptionKey == r.EncryptionKey
		if err := s.sameRetry(ctx, c.AccountID, r.ARN, in.Tags, same, false, "repository "+r.Provider+" "+r.Name); err != nil {
			return nil, err
		}
		r, err = old, nil
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateRepositoryOutput{Repository: repositoryOut(r)}, nil
}

func (s *Service) GetRepository(ctx context.Context, in *types.GetRepositoryInput) (*types.GetRepositoryOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.getRepository(ctx, s.store, c.AccountID, string(in.Provider), in.Name)
	if err != nil {
		return nil, err
	}
	return &types.GetRepositoryOutput{Repository: repositoryOut(r)}, nil
}

func (s *Service) getRepository(ctx context.Context, q store.Queries, accountID, provider, name string) (*store.Repository, error) {
	r, err := q.RepositoryGet(ctx, accountID, provider, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("repository %s %s not found", provider, name)
	}
	return r, err
}

func (s *Service) ListRepositories(ctx context.Context, in *types.ListRepositoriesInput) (*types.ListRepositoriesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	scope := "repositories/" + c.AccountID
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.RepositoryList(ctx, c.AccountID, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListRepositoriesOutput{Repositories: []types.RepositorySummary{}, NextToken: s.sealPage(scope, next)}
	for _, r := range list {
		out.Repositories = append(out.Repositories, types.RepositorySummary{Arn: r.ARN, Provider: types.RepositoryProvider(r.Provider),
			Name: r.Name, ConnectionArn: r.ConnectionARN})
	}
	return out, nil
}

// DeleteRepository removes the link only (nothing in the repository changes). A
// repository that environments or the account's pipelines provision through cannot be
// unlinked: their next deployment would have nowhere to go (Proton's behaviour here is
// not documented; refusing is the safe choice).
func (s *Service) DeleteRepository(ctx context.Context, in *types.DeleteRepositoryInput) (*types.DeleteRepositoryOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Repository
	err = s.store.Tx(ctx, func(q store.Queries) error {
		r, err := s.getRepository(ctx, q, c.AccountID, string(in.Provider), in.Name)
		if err != nil {
			return err
		}
		// Delete first: the row lock this takes serialises the check below against a
		// concurrent write that starts using the link (see holdRepository).
		if err := q.RepositoryDelete(ctx, c.AccountID, r.Provider, r.Name); err != nil {
			return err
		}
		users, err := q.EnvironmentsUsingRepository(ctx, c.AccountID, r.Provider, r.Name, 5)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return api.Conflictf("repository %s %s is the provisioning repository of environment(s) %s", r.Provider, r.Name, strings.Join(users, ", "))
		}
		syncs, err := q.TemplateSyncConfigsOfRepository(ctx, c.AccountID, r.Provider, r.Name, "")
		if err != nil {
			return err
		}
		if len(syncs) > 0 {
			return api.Conflictf("repository %s %s is synced by template %s; delete its template sync configuration first", r.Provider, r.Name, syncs[0].TemplateName)
		}
		if err := s.serviceSyncsUsing(ctx, q, c.AccountID, r); err != nil {
			return err
		}
		settings, err := q.AccountSettingsGet(ctx, c.AccountID)
		if err != nil {
			return err
		}
		if pr := settings.PipelineProvisioningRepository; pr != nil && pr.Provider == r.Provider && pr.Name == r.Name {
			return api.Conflictf("repository %s %s is the account's pipelineProvisioningRepository; remove it with UpdateAccountSettings first", r.Provider, r.Name)
		}
		out = r
		return q.TagsDeleteAll(ctx, c.AccountID, r.ARN)
	})
	if err != nil {
		return nil, err
	}
	return &types.DeleteRepositoryOutput{Repository: repositoryOut(out)}, nil
}

// linkedRepository resolves a repository named in a request (an environment's
// provisioningRepository, the account's pipelineProvisioningRepository) to its link: it
// must have been created with CreateRepository, as in Proton. Called inside the write that
// stores the reference, it holds the link's row so that a concurrent DeleteRepository
// either sees the reference or fails to find the link here.
func (s *Service) linkedRepository(ctx context.Context, q store.Queries, accountID, field string, in *types.RepositoryBranchInput) (*store.RepositoryBranch, error) {
	r, err := q.RepositoryHold(ctx, accountID, string(in.Provider), in.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Validationf("%s: repository %s %s is not linked; link it with CreateRepository first", field, in.Provider, in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &store.RepositoryBranch{ARN: r.ARN, Provider: r.Provider, Name: r.Name, Branch: in.Branch}, nil
}

// serviceSyncsUsing refuses to unlink a repository a service syncs from.
func (s *Service) serviceSyncsUsing(ctx context.Context, q store.Queries, accountID string, r *store.Repository) error {
	p := store.Page{Limit: 500}
	for {
		list, next, err := q.ServiceSyncConfigList(ctx, p)
		if err != nil {
			return err
		}
		for _, cfg := range list {
			if cfg.AccountID == accountID && cfg.Provider == r.Provider && cfg.Repository == r.Name {
				return api.Conflictf("repository %s %s is synced by service %s; delete its service sync configuration first", r.Provider, r.Name, cfg.ServiceName)
			}
		}
		if next == "" {
			return nil
		}
		p.After = next
	}
}
