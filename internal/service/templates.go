package service

import (
	"context"
	"errors"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// Environment and service templates: the named containers that template versions
// (registered from bundles) belong to.

func (s *Service) envTemplateOut(t *store.EnvironmentTemplate) *types.EnvironmentTemplate {
	return &types.EnvironmentTemplate{
		Name: t.Name, Arn: s.arn(t.AccountID, "environment-template/"+t.Name),
		CreatedAt: types.TimeOf(t.CreatedAt), LastModifiedAt: types.TimeOf(t.LastModifiedAt),
		DisplayName: t.DisplayName, Description: t.Description, RecommendedVersion: t.RecommendedVersion,
		EncryptionKey: t.EncryptionKey, Provisioning: types.Provisioning(t.Provisioning),
	}
}

func (s *Service) svcTemplateOut(t *store.ServiceTemplate) *types.ServiceTemplate {
	return &types.ServiceTemplate{
		Name: t.Name, Arn: s.arn(t.AccountID, "service-template/"+t.Name),
		CreatedAt: types.TimeOf(t.CreatedAt), LastModifiedAt: types.TimeOf(t.LastModifiedAt),
		DisplayName: t.DisplayName, Description: t.Description, RecommendedVersion: t.RecommendedVersion,
		EncryptionKey: t.EncryptionKey, PipelineProvisioning: types.Provisioning(t.PipelineProvisioning),
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// createWithTags stores a new resource and its tags in one transaction, so a request that
// fails on its tags leaves nothing behind. It returns store.ErrAlreadyExists for a taken
// name; the caller then applies Proton's retry rules (sameRetry).
func (s *Service) createWithTags(ctx context.Context, accountID, arn string, tags []types.Tag, create func(q store.Queries) error) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := create(q); err != nil {
			return err
		}
		return putTags(ctx, q, accountID, arn, tags)
	})
}

// sameRetry applies Proton's rules for a create without a client token that finds its name
// taken: a retry of the same request returns the original resource, unless that resource
// was modified since (ConflictException); a different request with the same name is a
// ValidationException.
func (s *Service) sameRetry(ctx context.Context, accountID, arn string, tags []types.Tag, sameParams, modified bool, what string) error {
	if modified {
		return api.Conflictf("%s already exists and was modified after it was created", what)
	}
	if !sameParams {
		return api.Validationf("IdempotentParameterMismatch: %s already exists with other parameters", what)
	}
	stored, _, err := s.store.TagsList(ctx, accountID, arn, store.Page{Limit: 1000})
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, t := range toStoreTags(tags) {
		want[t.Key] = t.Value
	}
	if len(stored) != len(want) {
		return api.Validationf("IdempotentParameterMismatch: %s already exists with other tags", what)
	}
	for _, t := range stored {
		if v, ok := want[t.Key]; !ok || v != t.Value {
			return api.Validationf("IdempotentParameterMismatch: %s already exists with other tags", what)
		}
	}
	return nil
}

// updateRecord runs a read-modify-write with optimistic concurrency, retrying when another
// writer got in between.
func updateRecord[T any](ctx context.Context, get func() (T, error), change func(T), put func(T) error, what string) (T, error) {
	for attempt := 0; ; attempt++ {
		rec, err := get()
		if errors.Is(err, store.ErrNotFound) {
			return rec, api.NotFoundf("%s not found", what)
		}
		if err != nil {
			return rec, err
		}
		change(rec)
		err = put(rec)
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, store.ErrConflict) && attempt < 5:
			continue
		case errors.Is(err, store.ErrConflict):
			return rec, api.Conflictf("%s is being changed concurrently; retry", what)
		case errors.Is(err, store.ErrNotFound):
			return rec, api.NotFoundf("%s not found", what)
		default:
			return rec, err
		}
	}
}

// deleteTemplate removes a template and its tags in one transaction, returning the record
// as it was, or nil when there was none (Proton's deletes are idempotent). A template with
// versions cannot be deleted.
func deleteTemplate[T any](ctx context.Context, st store.Store, k templateKind, accountID, name, arn string, get func(q store.Queries) (T, error), del func(q store.Queries) error) (T, bool, error) {
	var rec T
	found := true
	err := st.Tx(ctx, func(q store.Queries) error {
		var err error
		if rec, err = get(q); errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		} else if err != nil {
			return err
		}
		n, err := q.TemplateVersionCount(ctx, accountID, k.storeType, name)
		if err != nil {
			return err
		}
		if n > 0 {
			return api.Conflictf("%s %s still has %d version(s); delete them first", k.title, name, n)
		}
		if err := del(q); err != nil {
			return err
		}
		return q.TagsDeleteAll(ctx, accountID, arn)
	})
	return rec, found, err
}

func (s *Service) CreateEnvironmentTemplate(ctx context.Context, in *types.CreateEnvironmentTemplateInput) (*types.CreateEnvironmentTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	t := &store.EnvironmentTemplate{AccountID: c.AccountID, Name: in.Name, DisplayName: in.DisplayName,
		Description: deref(in.Description), EncryptionKey: in.EncryptionKey, Provisioning: string(in.Provisioning),
		CreatedAt: now, LastModifiedAt: now}
	arn := s.arn(c.AccountID, "environment-template/"+in.Name)
	err = s.createWithTags(ctx, c.AccountID, arn, in.Tags, func(q store.Queries) error {
		return q.EnvironmentTemplateCreate(ctx, t)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		old, gerr := s.store.EnvironmentTemplateGet(ctx, c.AccountID, in.Name)
		if gerr != nil {
			return nil, gerr
		}
		same := old.DisplayName == t.DisplayName && old.Description == t.Description && old.EncryptionKey == t.EncryptionKey && old.Provisioning == t.Provisioning
		if err := s.sameRetry(ctx, c.AccountID, arn, in.Tags, same, !old.LastModifiedAt.Equal(old.CreatedAt), "Environment template "+in.Name); err != nil {
			return nil, err
		}
		t, err = old, nil
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplateOut(t)}, nil
}

func (s *Service) GetEnvironmentTemplate(ctx context.Context, in *types.GetEnvironmentTemplateInput) (*types.GetEnvironmentTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.EnvironmentTemplateGet(ctx, c.AccountID, in.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("Environment template %s not found", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.GetEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplateOut(t)}, nil
}

func (s *Service) UpdateEnvironmentTemplate(ctx context.Context, in *types.UpdateEnvironmentTemplateInput) (*types.UpdateEnvironmentTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := updateRecord(ctx,
		func() (*store.EnvironmentTemplate, error) {
			return s.store.EnvironmentTemplateGet(ctx, c.AccountID, in.Name)
		},
		func(t *store.EnvironmentTemplate) {
			if in.DisplayName != "" {
				t.DisplayName = in.DisplayName
			}
			if in.Description != nil {
				t.Description = *in.Description
			}
			t.LastModifiedAt = s.now().UTC()
		},
		func(t *store.EnvironmentTemplate) error { return s.store.EnvironmentTemplateUpdate(ctx, t) },
		"Environment template "+in.Name)
	if err != nil {
		return nil, err
	}
	return &types.UpdateEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplateOut(t)}, nil
}

func (s *Service) DeleteEnvironmentTemplate(ctx context.Context, in *types.DeleteEnvironmentTemplateInput) (*types.DeleteEnvironmentTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, found, err := deleteTemplate(ctx, s.store, envKind, c.AccountID, in.Name, s.arn(c.AccountID, "environment-template/"+in.Name),
		func(q store.Queries) (*store.EnvironmentTemplate, error) {
			return q.EnvironmentTemplateGet(ctx, c.AccountID, in.Name)
		},
		func(q store.Queries) error {
			if err := q.EnvironmentTemplateDelete(ctx, c.AccountID, in.Name); err != nil {
				return err
			}
			return ignoreNotFound(q.TemplateSyncConfigDelete(ctx, c.AccountID, store.EnvironmentTemplateType, in.Name))
		})
	if err != nil || !found {
		return &types.DeleteEnvironmentTemplateOutput{}, err
	}
	return &types.DeleteEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplateOut(t)}, nil
}

func (s *Service) ListEnvironmentTemplates(ctx context.Context, in *types.ListEnvironmentTemplatesInput) (*types.ListEnvironmentTemplatesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	scope := c.AccountID + "/environment-templates"
	page, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.EnvironmentTemplateList(ctx, c.AccountID, page)
	if err != nil {
		return nil, err
	}
	out := &types.ListEnvironmentTemplatesOutput{Templates: make([]types.EnvironmentTemplateSummary, len(list)), NextToken: s.sealPage(scope, next)}
	for i, t := range list {
		full := s.envTemplateOut(t)
		out.Templates[i] = types.EnvironmentTemplateSummary{Name: full.Name, Arn: full.Arn, CreatedAt: full.CreatedAt,
			LastModifiedAt: full.LastModifiedAt, DisplayName: full.DisplayName, Description: full.Description,
			RecommendedVersion: full.RecommendedVersion, Provisioning: full.Provisioning}
	}
	return out, nil
}

func (s *Service) CreateServiceTemplate(ctx context.Context, in *types.CreateServiceTemplateInput) (*types.CreateServiceTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	t := &store.ServiceTemplate{AccountID: c.AccountID, Name: in.Name, DisplayName: in.DisplayName,
		Description: deref(in.Description), EncryptionKey: in.EncryptionKey, PipelineProvisioning: string(in.PipelineProvisioning),
		CreatedAt: now, LastModifiedAt: now}
	arn := s.arn(c.AccountID, "service-template/"+in.Name)
	err = s.createWithTags(ctx, c.AccountID, arn, in.Tags, func(q store.Queries) error {
		return q.ServiceTemplateCreate(ctx, t)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		old, gerr := s.store.ServiceTemplateGet(ctx, c.AccountID, in.Name)
		if gerr != nil {
			return nil, gerr
		}
		same := old.DisplayName == t.DisplayName && old.Description == t.Description && old.EncryptionKey == t.EncryptionKey && old.PipelineProvisioning == t.PipelineProvisioning
		if err := s.sameRetry(ctx, c.AccountID, arn, in.Tags, same, !old.LastModifiedAt.Equal(old.CreatedAt), "Service template "+in.Name); err != nil {
			return nil, err
		}
		t, err = old, nil
	}
	if err != nil {
		return nil, err
	}
	return &types.CreateServiceTemplateOutput{ServiceTemplate: s.svcTemplateOut(t)}, nil
}

func (s *Service) GetServiceTemplate(ctx context.Context, in *types.GetServiceTemplateInput) (*types.GetServiceTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.ServiceTemplateGet(ctx, c.AccountID, in.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("Service template %s not found", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &types.GetServiceTemplateOutput{ServiceTemplate: s.svcTemplateOut(t)}, nil
}

func (s *Service) UpdateServiceTemplate(ctx context.Context, in *types.UpdateServiceTemplateInput) (*types.UpdateServiceTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := updateRecord(ctx,
		func() (*store.ServiceTemplate, error) { return s.store.ServiceTemplateGet(ctx, c.AccountID, in.Name) },
		func(t *store.ServiceTemplate) {
			if in.DisplayName != "" {
				t.DisplayName = in.DisplayName
			}
			if in.Description != nil {
				t.Description = *in.Description
			}
			t.LastModifiedAt = s.now().UTC()
		},
		func(t *store.ServiceTemplate) error { return s.store.ServiceTemplateUpdate(ctx, t) },
		"Service template "+in.Name)
	if err != nil {
		return nil, err
	}
	return &types.UpdateServiceTemplateOutput{ServiceTemplate: s.svcTemplateOut(t)}, nil
}

func (s *Service) DeleteServiceTemplate(ctx context.Context, in *types.DeleteServiceTemplateInput) (*types.DeleteServiceTemplateOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, found, err := deleteTemplate(ctx, s.store, svcKind, c.AccountID, in.Name, s.arn(c.AccountID, "service-template/"+in.Name),
		func(q store.Queries) (*store.ServiceTemplate, error) {
			return q.ServiceTemplateGet(ctx, c.AccountID, in.Name)
		},
		func(q store.Queries) error {
			if err := q.ServiceTemplateDelete(ctx, c.AccountID, in.Name); err != nil {
				return err
			}
			return ignoreNotFound(q.TemplateSyncConfigDelete(ctx, c.AccountID, store.ServiceTemplateType, in.Name))
		})
	if err != nil || !found {
		return &types.DeleteServiceTemplateOutput{}, err
	}
	return &types.DeleteServiceTemplateOutput{ServiceTemplate: s.svcTemplateOut(t)}, nil
}

func (s *Service) ListServiceTemplates(ctx context.Context, in *types.ListServiceTemplatesInput) (*types.ListServiceTemplatesOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	scope := c.AccountID + "/service-templates"
	page, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.ServiceTemplateList(ctx, c.AccountID, page)
	if err != nil {
		return nil, err
	}
	out := &types.ListServiceTemplatesOutput{Templates: make([]types.ServiceTemplateSummary, len(list)), NextToken: s.sealPage(scope, next)}
	for i, t := range list {
		full := s.svcTemplateOut(t)
		out.Templates[i] = types.ServiceTemplateSummary{Name: full.Name, Arn: full.Arn, CreatedAt: full.CreatedAt,
			LastModifiedAt: full.LastModifiedAt, DisplayName: full.DisplayName, Description: full.Description,
			RecommendedVersion: full.RecommendedVersion, PipelineProvisioning: full.PipelineProvisioning}
	}
	return out, nil
}
