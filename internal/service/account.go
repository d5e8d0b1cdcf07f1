package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

func accountSettingsOut(s *store.AccountSettings) *types.AccountSettings {
	out := &types.AccountSettings{
		PipelineServiceRoleArn:   s.PipelineServiceRoleArn,
		PipelineCodebuildRoleArn: s.PipelineCodebuildRoleArn,
	}
	if r := s.PipelineProvisioningRepository; r != nil {
		out.PipelineProvisioningRepository = &types.RepositoryBranch{
			Arn: r.ARN, Provider: types.RepositoryProvider(r.Provider), Name: r.Name, Branch: r.Branch}
	}
	return out
}

func (s *Service) GetAccountSettings(ctx context.Context, _ *types.GetAccountSettingsInput) (*types.GetAccountSettingsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	settings, err := s.store.AccountSettingsGet(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	return &types.GetAccountSettingsOutput{AccountSettings: accountSettingsOut(settings)}, nil
}

// UpdateAccountSettings changes only the members present in the request; an empty role ARN
// removes that role. The pipeline provisioning repository must be a repository registered
// with CreateRepository, as in Proton.
func (s *Service) UpdateAccountSettings(ctx context.Context, in *types.UpdateAccountSettingsInput) (*types.UpdateAccountSettingsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	deleteRepo := in.DeletePipelineProvisioningRepository != nil && *in.DeletePipelineProvisioningRepository
	if deleteRepo && in.PipelineProvisioningRepository != nil {
		return nil, api.Validationf("pipelineProvisioningRepository and deletePipelineProvisioningRepository cannot be used together")
	}
	if in.PipelineProvisioningRepository != nil {
		// Repositories (CreateRepository) are not stored yet, so no repository can be linked.
		r := in.PipelineProvisioningRepository
		return nil, api.Validationf("pipelineProvisioningRepository: repository %s %s is not registered; register it with CreateRepository first", r.Provider, r.Name)
	}
	// Optimistic concurrency: retry when another writer updated the settings between our
	// read and write, so concurrent updates of different members both stick.
	for attempt := 0; ; attempt++ {
		settings, err := s.store.AccountSettingsGet(ctx, c.AccountID)
		if err != nil {
			return nil, err
		}
		if in.PipelineServiceRoleArn != nil {
			settings.PipelineServiceRoleArn = *in.PipelineServiceRoleArn
		}
		if in.PipelineCodebuildRoleArn != nil {
			settings.PipelineCodebuildRoleArn = *in.PipelineCodebuildRoleArn
		}
		if deleteRepo {
			settings.PipelineProvisioningRepository = nil
		}
		settings.UpdatedAt = s.now().UTC()
		err = s.store.AccountSettingsPut(ctx, settings)
		if errors.Is(err, store.ErrConflict) && attempt < 5 {
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, api.Conflictf("account settings are being changed concurrently; retry")
		}
		if err != nil {
			return nil, err
		}
		return &types.UpdateAccountSettingsOutput{AccountSettings: accountSettingsOut(settings)}, nil
	}
}

// GetResourcesSummary counts the account's resources. Environments are split into failed,
// up to date, behind a major and behind a minor version (each counted once, failed first);
// services, instances, pipelines and components do not exist yet and count zero.
func (s *Service) GetResourcesSummary(ctx context.Context, _ *types.GetResourcesSummaryInput) (*types.GetResourcesSummaryOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	envTemplates, err := s.store.EnvironmentTemplateCount(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	svcTemplates, err := s.store.ServiceTemplateCount(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	envs, err := s.environmentCounts(ctx, c.AccountID)
	if err != nil {
		return nil, err
	}
	zero := func() *types.ResourceCountsSummary {
		return &types.ResourceCountsSummary{Failed: ptr(int32(0)), UpToDate: ptr(int32(0)), BehindMajor: ptr(int32(0)), BehindMinor: ptr(int32(0))}
	}
	return &types.GetResourcesSummaryOutput{Counts: &types.CountsSummary{
		Components:           zero(),
		Environments:         envs,
		ServiceInstances:     zero(),
		Services:             zero(),
		Pipelines:            zero(),
		EnvironmentTemplates: &types.ResourceCountsSummary{Total: int32(envTemplates)},
		ServiceTemplates:     &types.ResourceCountsSummary{Total: int32(svcTemplates)},
	}}, nil
}

func ptr[T any](v T) *T { return &v }

// environmentCounts classifies every environment of the account against its template's
// published versions.
func (s *Service) environmentCounts(ctx context.Context, accountID string) (*types.ResourceCountsSummary, error) {
	var total, failed, upToDate, behindMajor, behindMinor int32
	latest := map[string]*store.TemplateVersion{} // template → highest published; template/major → highest published minor
	published := func(name string, major int) (*store.TemplateVersion, error) {
		key := fmt.Sprintf("%s/%d", name, major)
		if v, ok := latest[key]; ok {
			return v, nil
		}
		v, err := s.store.TemplateVersionLatest(ctx, accountID, store.EnvironmentTemplateType, name, major, true)
		if errors.Is(err, store.ErrNotFound) {
			v, err = nil, nil
		}
		latest[key] = v
		return v, err
	}
	p := store.Page{Limit: 1000}
	for {
		list, next, err := s.store.EnvironmentList(ctx, accountID, nil, p)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			total++
			if e.DeploymentStatus == store.StatusFailed {
				failed++
				continue
			}
			top, err := published(e.TemplateName, -1)
			if err != nil {
				return nil, err
			}
			same, err := published(e.TemplateName, e.TemplateMajor)
			if err != nil {
				return nil, err
			}
			switch {
			case top != nil && top.Major > e.TemplateMajor:
				behindMajor++
			case same != nil && same.Minor > e.TemplateMinor:
				behindMinor++
			default:
				upToDate++
			}
		}
		if next == "" {
			break
		}
		p.After = next
	}
	return &types.ResourceCountsSummary{Total: total, Failed: ptr(failed), UpToDate: ptr(upToDate), BehindMajor: ptr(behindMajor), BehindMinor: ptr(behindMinor)}, nil
}
