package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openproton/openproton/internal/store"
)

// versionColumns leave out the bundle itself (up to 5 MB): reads and lists fetch metadata
// only, and TemplateVersionBundle fetches the bundle when it is needed.
const versionColumns = `account_id, template_type, template_name, major, minor, description, status, status_message, source_bucket, source_key,
	schema_text, bundle_digest, compatible_envs, component_sources, created_at, last_modified_at, version`

// versionSortKey orders versions numerically as text, for keyset paging.
func versionSortKey(major, minor int) string { return fmt.Sprintf("%010d.%010d", major, minor) }

func scanVersion(r scanner) (*store.TemplateVersion, error) {
	var v store.TemplateVersion
	var envs, sources string
	var created, modified int64
	if err := r.Scan(&v.AccountID, &v.TemplateType, &v.TemplateName, &v.Major, &v.Minor, &v.Description, &v.Status, &v.StatusMessage,
		&v.SourceBucket, &v.SourceKey, &v.Schema, &v.BundleDigest, &envs, &sources, &created, &modified, &v.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(envs), &v.CompatibleEnvironmentTemplates); err != nil {
		return nil, fmt.Errorf("compatible environment templates: %w", err)
	}
	if err := json.Unmarshal([]byte(sources), &v.SupportedComponentSources); err != nil {
		return nil, fmt.Errorf("component sources: %w", err)
	}
	v.CreatedAt, v.LastModifiedAt = fromMicros(created), fromMicros(modified)
	return &v, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (q *Queries) TemplateVersionCreate(ctx context.Context, v *store.TemplateVersion) error {
	bundle := v.Bundle
	if bundle == nil {
		bundle = []byte{}
	}
	err := insert(ctx, q.W, `INSERT INTO template_versions (`+versionColumns+`, bundle, sort_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18) ON CONFLICT DO NOTHING`,
		v.AccountID, v.TemplateType, v.TemplateName, v.Major, v.Minor, v.Description, v.Status, v.StatusMessage, v.SourceBucket, v.SourceKey,
		v.Schema, v.BundleDigest, jsonText(v.CompatibleEnvironmentTemplates), jsonText(v.SupportedComponentSources),
		micros(v.CreatedAt), micros(v.LastModifiedAt), bundle, versionSortKey(v.Major, v.Minor))
	if err != nil {
		return wrap(err, "create template version %s:%d.%d", v.TemplateName, v.Major, v.Minor)
	}
	v.Version = 1
	return nil
}

func (q *Queries) TemplateVersionGet(ctx context.Context, k store.VersionKey) (*store.TemplateVersion, error) {
	v, err := getOne(ctx, q.R, `SELECT `+versionColumns+` FROM template_versions
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND major = $4 AND minor = $5`,
		[]any{k.AccountID, k.TemplateType, k.TemplateName, k.Major, k.Minor}, scanVersion)
	return v, wrap(err, "template version %s:%d.%d", k.TemplateName, k.Major, k.Minor)
}

func (q *Queries) TemplateVersionUpdate(ctx context.Context, v *store.TemplateVersion) error {
	// The bundle is written only when the caller has one (registration); otherwise it stays.
	bundleSet := ""
	args := []any{v.AccountID, v.TemplateType, v.TemplateName, v.Major, v.Minor, v.Description, v.Status, v.StatusMessage, v.Schema,
		v.BundleDigest, jsonText(v.CompatibleEnvironmentTemplates), jsonText(v.SupportedComponentSources), micros(v.LastModifiedAt), v.Version}
	if v.Bundle != nil {
		bundleSet = ", bundle = $15"
		args = append(args, v.Bundle)
	}
	n, err := q.W.Exec(ctx, `UPDATE template_versions SET description = $6, status = $7, status_message = $8, schema_text = $9,
		bundle_digest = $10, compatible_envs = $11, component_sources = $12, last_modified_at = $13, version = version + 1`+bundleSet+`
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND major = $4 AND minor = $5 AND version = $14`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM template_versions
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND major = $4 AND minor = $5`,
		v.AccountID, v.TemplateType, v.TemplateName, v.Major, v.Minor)
	if err != nil {
		return wrap(err, "update template version %s:%d.%d", v.TemplateName, v.Major, v.Minor)
	}
	v.Version++
	return nil
}

func (q *Queries) TemplateVersionBundle(ctx context.Context, k store.VersionKey) ([]byte, error) {
	var b []byte
	err := queryOne(ctx, q.R, `SELECT bundle FROM template_versions
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND major = $4 AND minor = $5`,
		[]any{k.AccountID, k.TemplateType, k.TemplateName, k.Major, k.Minor}, &b)
	return b, wrap(err, "bundle of template version %s:%d.%d", k.TemplateName, k.Major, k.Minor)
}

func (q *Queries) TemplateVersionDelete(ctx context.Context, k store.VersionKey) error {
	n, err := q.W.Exec(ctx, `DELETE FROM template_versions
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND major = $4 AND minor = $5`,
		k.AccountID, k.TemplateType, k.TemplateName, k.Major, k.Minor)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete template version %s:%d.%d", k.TemplateName, k.Major, k.Minor)
}

func (q *Queries) TemplateVersionList(ctx context.Context, accountID, templateType, templateName string, major int, p store.Page) ([]*store.TemplateVersion, string, error) {
	scan := func(r scanner) (*store.TemplateVersion, string, error) {
		v, err := scanVersion(r)
		if err != nil {
			return nil, "", err
		}
		return v, versionSortKey(v.Major, v.Minor), nil
	}
	if major >= 0 {
		return page(ctx, q.R, `SELECT `+versionColumns+` FROM template_versions
			WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND major = $4 AND sort_key > $5 ORDER BY sort_key LIMIT $6`,
			[]any{accountID, templateType, templateName, major}, p, scan)
	}
	return page(ctx, q.R, `SELECT `+versionColumns+` FROM template_versions
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND sort_key > $4 ORDER BY sort_key LIMIT $5`,
		[]any{accountID, templateType, templateName}, p, scan)
}

func (q *Queries) TemplateVersionLatest(ctx context.Context, accountID, templateType, templateName string, major int, publishedOnly bool) (*store.TemplateVersion, error) {
	query := `SELECT ` + versionColumns + ` FROM template_versions WHERE account_id = $1 AND template_type = $2 AND template_name = $3`
	args := []any{accountID, templateType, templateName}
	if major >= 0 {
		args = append(args, major)
		query += fmt.Sprintf(" AND major = $%d", len(args))
	}
	if publishedOnly {
		query += ` AND status = 'PUBLISHED'`
	}
	query += ` ORDER BY sort_key DESC LIMIT 1`
	v, err := getOne(ctx, q.R, query, args, scanVersion)
	return v, wrap(err, "latest version of %s", templateName)
}

func (q *Queries) TemplateVersionCount(ctx context.Context, accountID, templateType, templateName string) (int, error) {
	return count(ctx, q.R, `SELECT count(*) FROM template_versions WHERE account_id = $1 AND template_type = $2 AND template_name = $3`,
		accountID, templateType, templateName)
}

func (q *Queries) TemplateVersionsRegistering(ctx context.Context, limit int) ([]*store.TemplateVersion, error) {
	rows, err := q.R.Query(ctx, `SELECT `+versionColumns+` FROM template_versions WHERE status = 'REGISTRATION_IN_PROGRESS'
		ORDER BY created_at LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.TemplateVersion
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// idempotencyTTL is how long Proton honours a client token.
const idempotencyTTL = 8 * time.Hour

func (q *Queries) IdempotencyPut(ctx context.Context, r *store.IdempotencyRecord) error {
	// An expired token is free again.
	if _, err := q.W.Exec(ctx, `DELETE FROM idempotency WHERE account_id = $1 AND operation = $2 AND token = $3 AND created_at < $4`,
		r.AccountID, r.Operation, r.Token, micros(r.CreatedAt.Add(-idempotencyTTL))); err != nil {
		return err
	}
	err := insert(ctx, q.W, `INSERT INTO idempotency (account_id, operation, token, params_hash, resource, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, r.AccountID, r.Operation, r.Token, r.ParamsHash, r.Resource, micros(r.CreatedAt))
	return wrap(err, "client token %s", r.Token)
}

func (q *Queries) IdempotencyGet(ctx context.Context, accountID, operation, token string) (*store.IdempotencyRecord, error) {
	r, err := getOne(ctx, q.R, `SELECT account_id, operation, token, params_hash, resource, created_at FROM idempotency
		WHERE account_id = $1 AND operation = $2 AND token = $3`, []any{accountID, operation, token},
		func(s scanner) (*store.IdempotencyRecord, error) {
			var r store.IdempotencyRecord
			var created int64
			err := s.Scan(&r.AccountID, &r.Operation, &r.Token, &r.ParamsHash, &r.Resource, &created)
			r.CreatedAt = fromMicros(created)
			return &r, err
		})
	if err == nil && time.Since(r.CreatedAt) > idempotencyTTL {
		return nil, wrap(store.ErrNotFound, "client token %s (expired)", token)
	}
	return r, wrap(err, "client token %s", token)
}

func (q *Queries) IdempotencyDelete(ctx context.Context, accountID, operation, token string) error {
	_, err := q.W.Exec(ctx, `DELETE FROM idempotency WHERE account_id = $1 AND operation = $2 AND token = $3`, accountID, operation, token)
	return err
}
