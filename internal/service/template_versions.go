package service

import (
	"context"
	"strconv"

	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// The ten template version operations: conversions between the API's shapes and the
// shared logic in versions.go.

func (s *Service) envVersionOut(ctx context.Context, v *store.TemplateVersion) (*types.EnvironmentTemplateVersion, error) {
	rec, err := s.recommendedMinor(ctx, s.store, v)
	if err != nil {
		return nil, err
	}
	return &types.EnvironmentTemplateVersion{
		TemplateName: v.TemplateName, MajorVersion: strconv.Itoa(v.Major), MinorVersion: strconv.Itoa(v.Minor),
		RecommendedMinorVersion: rec, Status: types.TemplateVersionStatus(v.Status), StatusMessage: v.StatusMessage,
		Description: v.Description, Arn: s.versionARN(v, envKind), CreatedAt: types.TimeOf(v.CreatedAt),
		LastModifiedAt: types.TimeOf(v.LastModifiedAt), Schema: v.Schema,
	}, nil
}

func (s *Service) svcVersionOut(ctx context.Context, v *store.TemplateVersion) (*types.ServiceTemplateVersion, error) {
	rec, err := s.recommendedMinor(ctx, s.store, v)
	if err != nil {
		return nil, err
	}
	out := &types.ServiceTemplateVersion{
		TemplateName: v.TemplateName, MajorVersion: strconv.Itoa(v.Major), MinorVersion: strconv.Itoa(v.Minor),
		RecommendedMinorVersion: rec, Status: types.TemplateVersionStatus(v.Status), StatusMessage: v.StatusMessage,
		Description: v.Description, Arn: s.versionARN(v, svcKind), CreatedAt: types.TimeOf(v.CreatedAt),
		LastModifiedAt: types.TimeOf(v.LastModifiedAt), Schema: v.Schema,
		CompatibleEnvironmentTemplates: make([]types.CompatibleEnvironmentTemplate, len(v.CompatibleEnvironmentTemplates)),
	}
	for i, c := range v.CompatibleEnvironmentTemplates {
		out.CompatibleEnvironmentTemplates[i] = types.CompatibleEnvironmentTemplate{TemplateName: c.TemplateName, MajorVersion: c.MajorVersion}
	}
	for _, c := range v.SupportedComponentSources {
		out.SupportedComponentSources = append(out.SupportedComponentSources, types.ServiceTemplateSupportedComponentSourceType(c))
	}
	return out, nil
}

func compatibleIn(list []types.CompatibleEnvironmentTemplateInput) []store.CompatibleTemplate {
	if list == nil {
		return nil
	}
	out := make([]store.CompatibleTemplate, len(list))
	for i, c := range list {
		out[i] = store.CompatibleTemplate{TemplateName: c.TemplateName, MajorVersion: c.MajorVersion}
	}
	return out
}

func componentSourcesIn(list []types.ServiceTemplateSupportedComponentSourceType) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = string(c)
	}
	return out
}

func (s *Service) CreateEnvironmentTemplateVersion(ctx context.Context, in *types.CreateEnvironmentTemplateVersionInput) (*types.CreateEnvironmentTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	token := in.ClientToken
	withoutToken := *in
	withoutToken.ClientToken = ""
	v, err := s.createVersion(ctx, newVersion{kind: envKind, accountID: c.AccountID, templateName: in.TemplateName,
		majorVersion: in.MajorVersion, description: deref(in.Description), source: in.Source, tags: in.Tags,
		clientToken: token, hash: paramsHash(withoutToken), operation: "CreateEnvironmentTemplateVersion"})
	if err != nil {
		return nil, err
	}
	out, err := s.envVersionOut(ctx, v)
	return &types.CreateEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: out}, err
}

func (s *Service) GetEnvironmentTemplateVersion(ctx context.Context, in *types.GetEnvironmentTemplateVersionInput) (*types.GetEnvironmentTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.getVersion(ctx, envKind, c.AccountID, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if err != nil {
		return nil, err
	}
	out, err := s.envVersionOut(ctx, v)
	return &types.GetEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: out}, err
}

func (s *Service) UpdateEnvironmentTemplateVersion(ctx context.Context, in *types.UpdateEnvironmentTemplateVersionInput) (*types.UpdateEnvironmentTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.updateVersion(ctx, envKind, c.AccountID, in.TemplateName, in.MajorVersion, in.MinorVersion,
		versionUpdate{description: in.Description, status: in.Status})
	if err != nil {
		return nil, err
	}
	out, err := s.envVersionOut(ctx, v)
	return &types.UpdateEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: out}, err
}

func (s *Service) DeleteEnvironmentTemplateVersion(ctx context.Context, in *types.DeleteEnvironmentTemplateVersionInput) (*types.DeleteEnvironmentTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.deleteVersion(ctx, envKind, c.AccountID, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if err != nil || v == nil {
		return &types.DeleteEnvironmentTemplateVersionOutput{}, err
	}
	out, err := s.envVersionOut(ctx, v)
	return &types.DeleteEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: out}, err
}

func (s *Service) ListEnvironmentTemplateVersions(ctx context.Context, in *types.ListEnvironmentTemplateVersionsInput) (*types.ListEnvironmentTemplateVersionsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, next, err := s.listVersions(ctx, envKind, c.AccountID, in.TemplateName, in.MajorVersion, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &types.ListEnvironmentTemplateVersionsOutput{NextToken: next, TemplateVersions: make([]types.EnvironmentTemplateVersionSummary, len(list))}
	for i, v := range list {
		full, err := s.envVersionOut(ctx, v)
		if err != nil {
			return nil, err
		}
		out.TemplateVersions[i] = types.EnvironmentTemplateVersionSummary{TemplateName: full.TemplateName, MajorVersion: full.MajorVersion,
			MinorVersion: full.MinorVersion, RecommendedMinorVersion: full.RecommendedMinorVersion, Status: full.Status,
			StatusMessage: full.StatusMessage, Description: full.Description, Arn: full.Arn, CreatedAt: full.CreatedAt, LastModifiedAt: full.LastModifiedAt}
	}
	return out, nil
}

func (s *Service) CreateServiceTemplateVersion(ctx context.Context, in *types.CreateServiceTemplateVersionInput) (*types.CreateServiceTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	withoutToken := *in
	withoutToken.ClientToken = ""
	v, err := s.createVersion(ctx, newVersion{kind: svcKind, accountID: c.AccountID, templateName: in.TemplateName,
		majorVersion: in.MajorVersion, description: deref(in.Description), source: in.Source, tags: in.Tags,
		compatible: compatibleIn(in.CompatibleEnvironmentTemplates), components: componentSourcesIn(in.SupportedComponentSources),
		clientToken: in.ClientToken, hash: paramsHash(withoutToken), operation: "CreateServiceTemplateVersion"})
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersionOut(ctx, v)
	return &types.CreateServiceTemplateVersionOutput{ServiceTemplateVersion: out}, err
}

func (s *Service) GetServiceTemplateVersion(ctx context.Context, in *types.GetServiceTemplateVersionInput) (*types.GetServiceTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.getVersion(ctx, svcKind, c.AccountID, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersionOut(ctx, v)
	return &types.GetServiceTemplateVersionOutput{ServiceTemplateVersion: out}, err
}

func (s *Service) UpdateServiceTemplateVersion(ctx context.Context, in *types.UpdateServiceTemplateVersionInput) (*types.UpdateServiceTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.updateVersion(ctx, svcKind, c.AccountID, in.TemplateName, in.MajorVersion, in.MinorVersion,
		versionUpdate{description: in.Description, status: in.Status,
			compatible: compatibleIn(in.CompatibleEnvironmentTemplates), components: componentSourcesIn(in.SupportedComponentSources)})
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersionOut(ctx, v)
	return &types.UpdateServiceTemplateVersionOutput{ServiceTemplateVersion: out}, err
}

func (s *Service) DeleteServiceTemplateVersion(ctx context.Context, in *types.DeleteServiceTemplateVersionInput) (*types.DeleteServiceTemplateVersionOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.deleteVersion(ctx, svcKind, c.AccountID, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if err != nil || v == nil {
		return &types.DeleteServiceTemplateVersionOutput{}, err
	}
	out, err := s.svcVersionOut(ctx, v)
	return &types.DeleteServiceTemplateVersionOutput{ServiceTemplateVersion: out}, err
}

func (s *Service) ListServiceTemplateVersions(ctx context.Context, in *types.ListServiceTemplateVersionsInput) (*types.ListServiceTemplateVersionsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, next, err := s.listVersions(ctx, svcKind, c.AccountID, in.TemplateName, in.MajorVersion, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &types.ListServiceTemplateVersionsOutput{NextToken: next, TemplateVersions: make([]types.ServiceTemplateVersionSummary, len(list))}
	for i, v := range list {
		full, err := s.svcVersionOut(ctx, v)
		if err != nil {
			return nil, err
		}
		out.TemplateVersions[i] = types.ServiceTemplateVersionSummary{TemplateName: full.TemplateName, MajorVersion: full.MajorVersion,
			MinorVersion: full.MinorVersion, RecommendedMinorVersion: full.RecommendedMinorVersion, Status: full.Status,
			StatusMessage: full.StatusMessage, Description: full.Description, Arn: full.Arn, CreatedAt: full.CreatedAt, LastModifiedAt: full.LastModifiedAt}
	}
	return out, nil
}
