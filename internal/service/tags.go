package service

import (
	"context"
	"errors"
	"strings"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// maxTagsPerResource is AWS's limit of user tags on one resource.
const maxTagsPerResource = 50

// taggable resolves a resource ARN of the caller's account to a resource that exists.
func (s *Service) taggable(ctx context.Context, q store.Queries, accountID, arn string) error {
	p, ok := parseARN(arn)
	if !ok || p.Region != s.region || p.AccountID != accountID {
		return api.NotFoundf("Resource not found: %s", arn)
	}
	exists, err := s.resourceExists(ctx, q, accountID, p)
	if err != nil {
		return err
	}
	if !exists {
		return api.NotFoundf("Resource not found: %s", arn)
	}
	return nil
}

// resourceExists reports whether the resource an ARN names exists. Resource kinds openproton
// does not store yet cannot exist.
func (s *Service) resourceExists(ctx context.Context, q store.Queries, accountID string, p parsedARN) (bool, error) {
	var err error
	switch p.Type {
	case "environment-template", "service-template":
		k := envKind
		if p.Type == "service-template" {
			k = svcKind
		}
		name, version, isVersion := strings.Cut(p.Path, ":")
		if strings.Contains(name, "/") {
			return false, nil
		}
		if isVersion {
			major, minor, ok := strings.Cut(version, ".")
			if !ok {
				return false, nil
			}
			key, kerr := versionKey(accountID, k, name, major, minor)
			if kerr != nil {
				return false, nil
			}
			_, err = q.TemplateVersionGet(ctx, key)
		} else if k == envKind {
			_, err = q.EnvironmentTemplateGet(ctx, accountID, name)
		} else {
			_, err = q.ServiceTemplateGet(ctx, accountID, name)
		}
	case "environment":
		if strings.Contains(p.Path, "/") {
			return false, nil
		}
		_, err = q.EnvironmentGet(ctx, accountID, p.Path)
	case "service":
		parts := strings.Split(p.Path, "/")
		switch {
		case len(parts) == 1:
			_, err = q.ServiceGet(ctx, accountID, parts[0])
		case len(parts) == 3 && parts[1] == "service-instance":
			_, err = q.ServiceInstanceGet(ctx, accountID, parts[0], parts[2])
		default:
			return false, nil
		}
	case "component":
		if strings.Contains(p.Path, "/") {
			return false, nil
		}
		_, err = q.ComponentGet(ctx, accountID, p.Path)
	case "repository":
		provider, name, ok := strings.Cut(p.Path, ":")
		if !ok {
			return false, nil
		}
		var r *store.Repository
		if r, err = q.RepositoryGet(ctx, accountID, strings.ToUpper(provider), name); err == nil && r.ARN != p.Raw {
			return false, nil
		}
	case "environment-account-connection":
		// Tagged in the environment account, whose ARN it carries.
		var conn *store.AccountConnection
		if conn, err = q.AccountConnectionGet(ctx, p.Path); err == nil && conn.EnvironmentAccountID != accountID {
			return false, nil
		}
	default:
		return false, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// checkTags enforces what the model cannot state: unique keys and no aws: prefix.
func checkTags(tags []types.Tag) error {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return api.Validationf("Tag keys starting with 'aws:' are reserved: %s", t.Key)
		}
		if seen[t.Key] {
			return api.Validationf("Duplicate tag key: %s", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func toStoreTags(tags []types.Tag) []store.Tag {
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key}
		if t.Value != nil {
			out[i].Value = *t.Value
		}
	}
	return out
}

// putTags writes tags on a resource inside a transaction, keeping the per-resource limit.
func putTags(ctx context.Context, q store.Queries, accountID, arn string, tags []types.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	if err := q.TagsPut(ctx, accountID, arn, toStoreTags(tags)); err != nil {
		return err
	}
	n, err := q.TagsCount(ctx, accountID, arn)
	if err != nil {
		return err
	}
	if n > maxTagsPerResource {
		return api.Validationf("A resource can have at most %d tags; %s would have %d", maxTagsPerResource, arn, n)
	}
	return nil
}

func (s *Service) TagResource(ctx context.Context, in *types.TagResourceInput) (*types.TagResourceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := s.taggable(ctx, q, c.AccountID, in.ResourceArn); err != nil {
			return err
		}
		return putTags(ctx, q, c.AccountID, in.ResourceArn, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &types.TagResourceOutput{}, nil
}

func (s *Service) UntagResource(ctx context.Context, in *types.UntagResourceInput) (*types.UntagResourceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := s.taggable(ctx, q, c.AccountID, in.ResourceArn); err != nil {
			return err
		}
		return q.TagsDelete(ctx, c.AccountID, in.ResourceArn, in.TagKeys)
	})
	if err != nil {
		return nil, err
	}
	return &types.UntagResourceOutput{}, nil
}

func (s *Service) ListTagsForResource(ctx context.Context, in *types.ListTagsForResourceInput) (*types.ListTagsForResourceOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	scope := c.AccountID + "/tags/" + in.ResourceArn
	page, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	if err := s.taggable(ctx, s.store, c.AccountID, in.ResourceArn); err != nil {
		return nil, err
	}
	tags, next, err := s.store.TagsList(ctx, c.AccountID, in.ResourceArn, page)
	if err != nil {
		return nil, err
	}
	out := &types.ListTagsForResourceOutput{Tags: make([]types.Tag, len(tags)), NextToken: s.sealPage(scope, next)}
	for i, t := range tags {
		out.Tags[i] = types.Tag{Key: t.Key, Value: &t.Value}
	}
	return out, nil
}
