package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
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
	// Optimistic concurrency: retry when another writer updated the settings between our
	// read and write, so concurrent updates of different members both stick.
	var out *store.AccountSettings
	err = s.txRetrying(ctx, func(q store.Queries) error {
		settings, err := q.AccountSettingsGet(ctx, c.AccountID)
		if err != nil {
			return err
		}
		before := settings.PipelineProvisioningRepository
		if in.PipelineServiceRoleArn != nil {
			settings.PipelineServiceRoleArn = *in.PipelineServiceRoleArn
		}
		if in.PipelineCodebuildRoleArn != nil {
			settings.PipelineCodebuildRoleArn = *in.PipelineCodebuildRoleArn
		}
		if deleteRepo {
			settings.PipelineProvisioningRepository = nil
		}
		if in.PipelineProvisioningRepository != nil {
			repo, err := s.linkedRepository(ctx, q, c.AccountID, "pipelineProvisioningRepository", in.PipelineProvisioningRepository)
			if err != nil {
				return err
			}
			settings.PipelineProvisioningRepository = repo
		}
		if (before == nil) != (settings.PipelineProvisioningRepository == nil) {
			if err := s.pipelinesKeepTheirProvisioning(ctx, q, c.AccountID); err != nil {
				return err
			}
		}
		settings.UpdatedAt = s.now().UTC()
		out = settings
		return q.AccountSettingsPut(ctx, settings)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("account settings are being changed concurrently; retry")
	}
	if err != nil {
		return nil, err
	}
	return &types.UpdateAccountSettingsOutput{AccountSettings: accountSettingsOut(out)}, nil
}

// pipelinesKeepTheirProvisioning refuses to add or remove the account's pipeline
// provisioning repository while Terraform pipelines exist: they would move between
// self-managed provisioning and direct apply (or nowhere), leaving their infrastructure
// behind. (Moving to another repository is fine.)
func (s *Service) pipelinesKeepTheirProvisioning(ctx context.Context, q store.Queries, accountID string) error {
	p := store.Page{Limit: 1000}
	for {
		list, next, err := q.ServiceList(ctx, accountID, p)
		if err != nil {
			return err
		}
		for _, svc := range list {
			sp, err := s.pipelineOrNil(ctx, q, accountID, svc.Name)
			if err != nil {
				return err
			}
			if sp == nil || sp.Pending {
				continue
			}
			b, err := s.pipelineBundle(ctx, q, accountID, sp.TemplateName, sp.TemplateMajor, sp.TemplateMinor)
			if err != nil {
				return err
			}
			if b != nil && b.Pipeline != nil && b.Pipeline.Manifest.Templates[0].RenderingEngine == "hcl" {
				return api.Conflictf("service %s has a Terraform pipeline: the pipeline provisioning repository can be changed, but not added or removed, while Terraform pipelines exist", svc.Name)
			}
		}
		if next == "" {
			return nil
		}
		p.After = next
	}
}

// GetResourcesSummary counts the account's resources. Environments, service instances and
// pipelines are split into failed, up to date, behind a major and behind a minor version
// (each counted once, failed first); a service counts as failed when its status is a
// failure, else as behind when any of its instances or its pipeline is, else up to date.
// Components have no template version: they count as failed or up to date.
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
	vc := &versionCounter{s: s, accountID: c.AccountID, latest: map[string]*store.TemplateVersion{}}
	envs := &counts{}
	p := store.Page{Limit: 1000}
	for {
		list, next, err := s.store.EnvironmentList(ctx, c.AccountID, nil, p)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if err := vc.count(ctx, envs, store.EnvironmentTemplateType, e.TemplateName, e.TemplateMajor, e.TemplateMinor, e.DeploymentStatus); err != nil {
				return nil, err
			}
		}
		if next == "" {
			break
		}
		p.After = next
	}
	instances, pipelines, services := &counts{}, &counts{}, &counts{}
	behind := map[string]string{} // service → "major" | "minor"
	p = store.Page{Limit: 1000}
	for {
		list, next, err := s.store.ServiceInstanceList(ctx, c.AccountID, store.ServiceInstanceFilter{}, p)
		if err != nil {
			return nil, err
		}
		for _, i := range list {
			if err := vc.count(ctx, instances, store.ServiceTemplateType, i.TemplateName, i.TemplateMajor, i.TemplateMinor, i.DeploymentStatus); err != nil {
				return nil, err
			}
			noteBehind(behind, i.ServiceName, instances.last)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	p = store.Page{Limit: 1000}
	for {
		list, next, err := s.store.ServiceList(ctx, c.AccountID, p)
		if err != nil {
			return nil, err
		}
		for _, svc := range list {
			sp, err := s.pipelineOrNil(ctx, s.store, c.AccountID, svc.Name)
			if err != nil {
				return nil, err
			}
			if sp != nil && !sp.Pending {
				if err := vc.count(ctx, pipelines, store.ServiceTemplateType, sp.TemplateName, sp.TemplateMajor, sp.TemplateMinor, sp.DeploymentStatus); err != nil {
					return nil, err
				}
				noteBehind(behind, svc.Name, pipelines.last)
			}
			services.Total++
			switch {
			case strings.HasSuffix(svc.Status, "FAILED") || strings.Contains(svc.Status, "_FAILED_"):
				services.Failed++
			case behind[svc.Name] == "major":
				services.BehindMajor++
			case behind[svc.Name] == "minor":
				services.BehindMinor++
			default:
				services.UpToDate++
			}
		}
		if next == "" {
			break
		}
		p.After = next
	}
	components := &counts{}
	p = store.Page{Limit: 1000}
	for {
		list, next, err := s.store.ComponentList(ctx, c.AccountID, "", "", "", p)
		if err != nil {
			return nil, err
		}
		for _, comp := range list {
			components.Total++
			if comp.DeploymentStatus == store.StatusFailed || comp.DeploymentStatus == store.StatusDeleteFailed {
				components.Failed++
			} else {
				components.UpToDate++
			}
		}
		if next == "" {
			break
		}
		p.After = next
	}
	return &types.GetResourcesSummaryOutput{Counts: &types.CountsSummary{
		Components:           components.out(),
		Environments:         envs.out(),
		ServiceInstances:     instances.out(),
		Services:             services.out(),
		Pipelines:            pipelines.out(),
		EnvironmentTemplates: &types.ResourceCountsSummary{Total: int32(envTemplates)},
		ServiceTemplates:     &types.ResourceCountsSummary{Total: int32(svcTemplates)},
	}}, nil
}

func ptr[T any](v T) *T { return &v }

// counts is one ResourceCountsSummary being added up; last is how the latest resource
// counted ("failed", "major", "minor" or "current").
type counts struct {
	Total, Failed, UpToDate, BehindMajor, BehindMinor int32
	last                                              string
}

func (c *counts) out() *types.ResourceCountsSummary {
	return &types.ResourceCountsSummary{Total: c.Total, Failed: ptr(c.Failed), UpToDate: ptr(c.UpToDate),
		BehindMajor: ptr(c.BehindMajor), BehindMinor: ptr(c.BehindMinor)}
}

func noteBehind(behind map[string]string, service, how string) {
	if how == "major" || (how == "minor" && behind[service] != "major") {
		behind[service] = how
	}
}

// versionCounter classifies deployed resources against their templates' highest published
// versions, remembering those it looked up.
type versionCounter struct {
	s         *Service
	accountID string
	latest    map[string]*store.TemplateVersion // type/template/major (-1: any) → highest published
}

func (vc *versionCounter) published(ctx context.Context, templateType, name string, major int) (*store.TemplateVersion, error) {
	key := fmt.Sprintf("%s/%s/%d", templateType, name, major)
	if v, ok := vc.latest[key]; ok {
		return v, nil
	}
	v, err := vc.s.store.TemplateVersionLatest(ctx, vc.accountID, templateType, name, major, true)
	if errors.Is(err, store.ErrNotFound) {
		v, err = nil, nil
	}
	vc.latest[key] = v
	return v, err
}

func (vc *versionCounter) count(ctx context.Context, c *counts, templateType, name string, major, minor int, status string) error {
	c.Total++
	if status == store.StatusFailed || status == store.StatusDeleteFailed {
		c.Failed++
		c.last = "failed"
		return nil
	}
	top, err := vc.published(ctx, templateType, name, -1)
	if err != nil {
		return err
	}
	same, err := vc.published(ctx, templateType, name, major)
	if err != nil {
		return err
	}
	switch {
	case top != nil && top.Major > major:
		c.BehindMajor++
		c.last = "major"
	case same != nil && same.Minor > minor:
		c.BehindMinor++
		c.last = "minor"
	default:
		c.UpToDate++
		c.last = "current"
	}
	return nil
}

// pipelineBundle is the bundle a pipeline deploys from, nil when its version is gone.
func (s *Service) pipelineBundle(ctx context.Context, q store.Queries, accountID, name string, major, minor int) (*bundle.Bundle, error) {
	v, err := q.TemplateVersionGet(ctx, store.VersionKey{AccountID: accountID, TemplateType: store.ServiceTemplateType,
		TemplateName: name, Major: major, Minor: minor})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.bundleCache.load(ctx, q, v, bundle.Service, bundle.Options{})
}
