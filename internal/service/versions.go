package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/store"
)

// Template versions of both kinds share their semantics; this file holds them once, over
// store.TemplateVersion, and the per-kind files convert to the API's shapes.

// templateKind names what differs between environment and service templates.
type templateKind struct {
	storeType string // store.EnvironmentTemplateType or store.ServiceTemplateType
	arnType   string // environment-template or service-template
	title     string // for messages
}

var (
	envKind = templateKind{store.EnvironmentTemplateType, "environment-template", "Environment template"}
	svcKind = templateKind{store.ServiceTemplateType, "service-template", "Service template"}
)

func (s *Service) versionARN(v *store.TemplateVersion, k templateKind) string {
	return s.arn(v.AccountID, fmt.Sprintf("%s/%s:%d.%d", k.arnType, v.TemplateName, v.Major, v.Minor))
}

// parsePart reads a major or minor version number (the model's pattern already checked it).
func parsePart(member, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, api.Validationf("%s %q is not a version number", member, s)
	}
	return n, nil
}

func versionKey(accountID string, k templateKind, name, major, minor string) (store.VersionKey, error) {
	ma, err := parsePart("majorVersion", major)
	if err != nil {
		return store.VersionKey{}, err
	}
	mi, err := parsePart("minorVersion", minor)
	if err != nil {
		return store.VersionKey{}, err
	}
	return store.VersionKey{AccountID: accountID, TemplateType: k.storeType, TemplateName: name, Major: ma, Minor: mi}, nil
}

// recommendedMinor is the highest published minor of v's major ("" when none is published).
func (s *Service) recommendedMinor(ctx context.Context, q store.Queries, v *store.TemplateVersion) (string, error) {
	p, err := q.TemplateVersionLatest(ctx, v.AccountID, v.TemplateType, v.TemplateName, v.Major, true)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strconv.Itoa(p.Minor), nil
}

// paramsHash fingerprints a request without its client token, so a retry can be told from
// a different request reusing the token.
func paramsHash(in any) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newVersion is what CreateXTemplateVersion asks for, independent of the template kind.
type newVersion struct {
	kind         templateKind
	accountID    string
	templateName string
	majorVersion string
	description  string
	source       *types.TemplateVersionSourceInput
	compatible   []store.CompatibleTemplate
	components   []string
	tags         []types.Tag
	clientToken  string
	hash         string
	operation    string
}

// templateExists checks the template a version belongs to.
func (s *Service) templateExists(ctx context.Context, q store.Queries, k templateKind, accountID, name string) error {
	var err error
	if k == envKind {
		_, err = q.EnvironmentTemplateGet(ctx, accountID, name)
	} else {
		_, err = q.ServiceTemplateGet(ctx, accountID, name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFoundf("%s %s not found", k.title, name)
	}
	return err
}

// createVersion stores a new version as REGISTRATION_IN_PROGRESS and wakes the registrar.
// A client token seen before returns the version it made (if it still exists).
func (s *Service) createVersion(ctx context.Context, n newVersion) (*store.TemplateVersion, error) {
	if err := checkTags(n.tags); err != nil {
		return nil, err
	}
	if n.source == nil || n.source.S3 == nil {
		return nil, api.Validationf("source.s3 is required")
	}
	if n.clientToken != "" {
		rec, err := s.store.IdempotencyGet(ctx, n.accountID, n.operation, n.clientToken)
		switch {
		case err == nil && rec.ParamsHash != n.hash:
			return nil, api.Validationf("IdempotentParameterMismatch: client token %s was already used with other parameters", n.clientToken)
		case err == nil:
			var key store.VersionKey
			if json.Unmarshal([]byte(rec.Resource), &key) == nil {
				v, err := s.store.TemplateVersionGet(ctx, key)
				if err == nil {
					return v, nil
				}
				if !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
			}
			// The version this token made was deleted: a retry creates it anew.
			if err := s.store.IdempotencyDelete(ctx, n.accountID, n.operation, n.clientToken); err != nil {
				return nil, err
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}

	for attempt := 0; ; attempt++ {
		v, err := s.tryCreateVersion(ctx, n)
		if errors.Is(err, store.ErrAlreadyExists) && attempt < 10 {
			// Another request took this number, or the same client token, concurrently.
			if n.clientToken != "" {
				if rec, gerr := s.store.IdempotencyGet(ctx, n.accountID, n.operation, n.clientToken); gerr == nil {
					if rec.ParamsHash != n.hash {
						return nil, api.Validationf("IdempotentParameterMismatch: client token %s was already used with other parameters", n.clientToken)
					}
					var key store.VersionKey
					if json.Unmarshal([]byte(rec.Resource), &key) == nil {
						if v, gerr := s.store.TemplateVersionGet(ctx, key); gerr == nil {
							return v, nil
						}
					}
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		s.kickRegistrar()
		return v, nil
	}
}

func (s *Service) tryCreateVersion(ctx context.Context, n newVersion) (*store.TemplateVersion, error) {
	var v *store.TemplateVersion
	err := s.store.Tx(ctx, func(q store.Queries) error {
		if err := s.templateExists(ctx, q, n.kind, n.accountID, n.templateName); err != nil {
			return err
		}
		major, minor := 1, 0
		if n.majorVersion != "" {
			m, err := parsePart("majorVersion", n.majorVersion)
			if err != nil {
				return err
			}
			latest, err := q.TemplateVersionLatest(ctx, n.accountID, n.kind.storeType, n.templateName, m, false)
			if errors.Is(err, store.ErrNotFound) {
				return api.NotFoundf("%s %s has no major version %d; omit majorVersion to create a new major version", n.kind.title, n.templateName, m)
			}
			if err != nil {
				return err
			}
			major, minor = m, latest.Minor+1
		} else {
			latest, err := q.TemplateVersionLatest(ctx, n.accountID, n.kind.storeType, n.templateName, -1, false)
			switch {
			case err == nil:
				major = latest.Major + 1
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if err := s.checkCompatibleTemplates(ctx, q, n.accountID, n.compatible); err != nil {
			return err
		}
		now := s.now().UTC()
		v = &store.TemplateVersion{
			VersionKey:  store.VersionKey{AccountID: n.accountID, TemplateType: n.kind.storeType, TemplateName: n.templateName, Major: major, Minor: minor},
			Description: n.description, Status: string(types.TemplateVersionStatusRegistrationInProgress),
			SourceBucket: n.source.S3.Bucket, SourceKey: n.source.S3.Key,
			CompatibleEnvironmentTemplates: n.compatible, SupportedComponentSources: n.components,
			CreatedAt: now, LastModifiedAt: now,
		}
		if err := q.TemplateVersionCreate(ctx, v); err != nil {
			return err
		}
		if n.clientToken != "" {
			key, _ := json.Marshal(v.VersionKey)
			if err := q.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: n.accountID, Operation: n.operation,
				Token: n.clientToken, ParamsHash: n.hash, Resource: string(key), CreatedAt: now}); err != nil {
				return err
			}
		}
		return putTags(ctx, q, n.accountID, s.versionARN(v, n.kind), n.tags)
	})
	return v, err
}

// checkCompatibleTemplates requires every named environment template major to exist with
// at least one version that registered.
func (s *Service) checkCompatibleTemplates(ctx context.Context, q store.Queries, accountID string, list []store.CompatibleTemplate) error {
	for _, c := range list {
		major, err := parsePart("compatibleEnvironmentTemplates.majorVersion", c.MajorVersion)
		if err != nil {
			return err
		}
		if _, err := q.EnvironmentTemplateGet(ctx, accountID, c.TemplateName); errors.Is(err, store.ErrNotFound) {
			return api.Validationf("compatibleEnvironmentTemplates: environment template %s does not exist", c.TemplateName)
		} else if err != nil {
			return err
		}
		usable := false
		p := store.Page{Limit: 100}
		for !usable {
			list, next, err := q.TemplateVersionList(ctx, accountID, store.EnvironmentTemplateType, c.TemplateName, major, p)
			if err != nil {
				return err
			}
			for _, v := range list {
				if v.Status == string(types.TemplateVersionStatusDraft) || v.Status == string(types.TemplateVersionStatusPublished) {
					usable = true
				}
			}
			if next == "" {
				break
			}
			p.After = next
		}
		if !usable {
			return api.Validationf("compatibleEnvironmentTemplates: environment template %s has no registered major version %d", c.TemplateName, major)
		}
	}
	return nil
}

// getVersion reads one version, or ResourceNotFoundException.
func (s *Service) getVersion(ctx context.Context, k templateKind, accountID, name, major, minor string) (*store.TemplateVersion, error) {
	key, err := versionKey(accountID, k, name, major, minor)
	if err != nil {
		return nil, err
	}
	v, err := s.store.TemplateVersionGet(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("%s version %s:%s.%s not found", k.title, name, major, minor)
	}
	return v, err
}

// versionUpdate is what UpdateXTemplateVersion may change.
type versionUpdate struct {
	description *string
	status      types.TemplateVersionStatus
	compatible  []store.CompatibleTemplate // nil = unchanged
	components  []string                   // nil = unchanged
}

// updateVersion changes a version; publishing or unpublishing recomputes the template's
// recommended version.
func (s *Service) updateVersion(ctx context.Context, k templateKind, accountID, name, major, minor string, u versionUpdate) (*store.TemplateVersion, error) {
	key, err := versionKey(accountID, k, name, major, minor)
	if err != nil {
		return nil, err
	}
	switch u.status {
	case "", types.TemplateVersionStatusDraft, types.TemplateVersionStatusPublished:
	default:
		return nil, api.Validationf("status can only be set to DRAFT or PUBLISHED")
	}
	var v *store.TemplateVersion
	err = s.store.Tx(ctx, func(q store.Queries) error {
		var err error
		v, err = q.TemplateVersionGet(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFoundf("%s version %s:%s.%s not found", k.title, name, major, minor)
		}
		if err != nil {
			return err
		}
		if u.status != "" && v.Status != string(types.TemplateVersionStatusDraft) && v.Status != string(types.TemplateVersionStatusPublished) {
			return api.Validationf("version %s:%d.%d is %s; only DRAFT and PUBLISHED versions can change status", name, v.Major, v.Minor, v.Status)
		}
		if u.compatible != nil {
			if err := s.checkCompatibleTemplates(ctx, q, accountID, u.compatible); err != nil {
				return err
			}
			v.CompatibleEnvironmentTemplates = u.compatible
		}
		if u.components != nil {
			v.SupportedComponentSources = u.components
		}
		if u.description != nil {
			v.Description = *u.description
		}
		statusChanged := u.status != "" && string(u.status) != v.Status
		if u.status != "" {
			v.Status = string(u.status)
		}
		v.LastModifiedAt = s.now().UTC()
		if err := q.TemplateVersionUpdate(ctx, v); err != nil {
			return err
		}
		if statusChanged {
			return s.refreshRecommended(ctx, q, k, accountID, name)
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("%s version %s:%s.%s is being changed concurrently; retry", k.title, name, major, minor)
	}
	return v, err
}

// refreshRecommended sets the template's recommendedVersion to its highest published
// version ("" when none is published).
func (s *Service) refreshRecommended(ctx context.Context, q store.Queries, k templateKind, accountID, name string) error {
	rec := ""
	p, err := q.TemplateVersionLatest(ctx, accountID, k.storeType, name, -1, true)
	switch {
	case err == nil:
		rec = fmt.Sprintf("%d.%d", p.Major, p.Minor)
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if k == envKind {
		t, err := q.EnvironmentTemplateGet(ctx, accountID, name)
		if err != nil {
			return err
		}
		t.RecommendedVersion = rec
		return q.EnvironmentTemplateUpdate(ctx, t)
	}
	t, err := q.ServiceTemplateGet(ctx, accountID, name)
	if err != nil {
		return err
	}
	t.RecommendedVersion = rec
	return q.ServiceTemplateUpdate(ctx, t)
}

// deleteVersion removes a version. A missing version is not an error (Proton's deletes are
// idempotent): the result is then nil. The recommended version goes last: it cannot be
// deleted while other versions of the template remain.
func (s *Service) deleteVersion(ctx context.Context, k templateKind, accountID, name, major, minor string) (*store.TemplateVersion, error) {
	key, err := versionKey(accountID, k, name, major, minor)
	if err != nil {
		return nil, err
	}
	var v *store.TemplateVersion
	err = s.store.Tx(ctx, func(q store.Queries) error {
		var err error
		v, err = q.TemplateVersionGet(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			v = nil
			return nil
		}
		if err != nil {
			return err
		}
		users, what := q.EnvironmentCountUsing, "environment(s)"
		if k != envKind {
			users, what = q.ServiceTemplateCountUsing, "service instance(s) and pipeline(s)"
		}
		n, err := users(ctx, accountID, name, v.Major, v.Minor)
		if err != nil {
			return err
		}
		if n > 0 {
			return api.Conflictf("%s:%d.%d is in use by %d %s; move them to another version first", name, v.Major, v.Minor, n, what)
		}
		if v.Status == string(types.TemplateVersionStatusPublished) {
			latest, err := q.TemplateVersionLatest(ctx, accountID, k.storeType, name, -1, true)
			if err != nil {
				return err
			}
			if latest.Major == v.Major && latest.Minor == v.Minor {
				n, err := q.TemplateVersionCount(ctx, accountID, k.storeType, name)
				if err != nil {
					return err
				}
				if n > 1 {
					return api.Validationf("%s:%d.%d is the recommended version of %s; delete the template's other versions first, or publish a newer one", name, v.Major, v.Minor, name)
				}
			}
		}
		if err := q.TemplateVersionDelete(ctx, key); err != nil {
			return err
		}
		if err := q.TagsDeleteAll(ctx, accountID, s.versionARN(v, k)); err != nil {
			return err
		}
		if v.Status == string(types.TemplateVersionStatusPublished) {
			return s.refreshRecommended(ctx, q, k, accountID, name)
		}
		return nil
	})
	return v, err
}

// listVersions pages through a template's versions, optionally of one major.
func (s *Service) listVersions(ctx context.Context, k templateKind, accountID, name, major, nextToken string, maxResults *int32) ([]*store.TemplateVersion, string, error) {
	m := -1
	if major != "" {
		var err error
		if m, err = parsePart("majorVersion", major); err != nil {
			return nil, "", err
		}
	}
	scope := fmt.Sprintf("%s/%s-versions/%s/%d", accountID, k.arnType, name, m)
	page, err := s.openPage(scope, nextToken, maxResults)
	if err != nil {
		return nil, "", err
	}
	if err := s.templateExists(ctx, s.store, k, accountID, name); err != nil {
		return nil, "", err
	}
	list, next, err := s.store.TemplateVersionList(ctx, accountID, k.storeType, name, m, page)
	if err != nil {
		return nil, "", err
	}
	return list, s.sealPage(scope, next), nil
}
