package sqlcore

import (
	"context"

	"github.com/openproton/openproton/internal/store"
)

// Environment and service templates share one shape of table; the table name and the
// provisioning column differ.

const envTemplateColumns = `account_id, name, display_name, description, encryption_key, provisioning, recommended_version, created_at, last_modified_at, version`
const svcTemplateColumns = `account_id, name, display_name, description, encryption_key, pipeline_provisioning, recommended_version, created_at, last_modified_at, version`

func scanEnvTemplate(r scanner) (*store.EnvironmentTemplate, error) {
	var t store.EnvironmentTemplate
	var created, modified int64
	if err := r.Scan(&t.AccountID, &t.Name, &t.DisplayName, &t.Description, &t.EncryptionKey, &t.Provisioning,
		&t.RecommendedVersion, &created, &modified, &t.Version); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastModifiedAt = fromMicros(created), fromMicros(modified)
	return &t, nil
}

func scanSvcTemplate(r scanner) (*store.ServiceTemplate, error) {
	var t store.ServiceTemplate
	var created, modified int64
	if err := r.Scan(&t.AccountID, &t.Name, &t.DisplayName, &t.Description, &t.EncryptionKey, &t.PipelineProvisioning,
		&t.RecommendedVersion, &created, &modified, &t.Version); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastModifiedAt = fromMicros(created), fromMicros(modified)
	return &t, nil
}

// versionedWrite explains an update that matched no row: the record is gone (ErrNotFound)
// or its version moved on (ErrConflict).
func (q *Queries) versionedWrite(ctx context.Context, n int64, err error, existsSQL string, args ...any) error {
	if err != nil || n > 0 {
		return err
	}
	c, err := count(ctx, q.W, existsSQL, args...)
	if err != nil {
		return err
	}
	if c == 0 {
		return store.ErrNotFound
	}
	return store.ErrConflict
}

func (q *Queries) EnvironmentTemplateCreate(ctx context.Context, t *store.EnvironmentTemplate) error {
	err := insert(ctx, q.W, `INSERT INTO environment_templates (`+envTemplateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) ON CONFLICT DO NOTHING`,
		t.AccountID, t.Name, t.DisplayName, t.Description, t.EncryptionKey, t.Provisioning, t.RecommendedVersion,
		micros(t.CreatedAt), micros(t.LastModifiedAt))
	if err != nil {
		return wrap(err, "create environment template %s", t.Name)
	}
	t.Version = 1
	return nil
}

func (q *Queries) EnvironmentTemplateGet(ctx context.Context, accountID, name string) (*store.EnvironmentTemplate, error) {
	t, err := getOne(ctx, q.R, `SELECT `+envTemplateColumns+` FROM environment_templates WHERE account_id = $1 AND name = $2`,
		[]any{accountID, name}, scanEnvTemplate)
	return t, wrap(err, "environment template %s", name)
}

func (q *Queries) EnvironmentTemplateUpdate(ctx context.Context, t *store.EnvironmentTemplate) error {
	n, err := q.W.Exec(ctx, `UPDATE environment_templates SET display_name = $3, description = $4, encryption_key = $5, provisioning = $6,
		recommended_version = $7, last_modified_at = $8, version = version + 1 WHERE account_id = $1 AND name = $2 AND version = $9`,
		t.AccountID, t.Name, t.DisplayName, t.Description, t.EncryptionKey, t.Provisioning, t.RecommendedVersion, micros(t.LastModifiedAt), t.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM environment_templates WHERE account_id = $1 AND name = $2`, t.AccountID, t.Name)
	if err != nil {
		return wrap(err, "update environment template %s", t.Name)
	}
	t.Version++
	return nil
}

func (q *Queries) EnvironmentTemplateDelete(ctx context.Context, accountID, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM environment_templates WHERE account_id = $1 AND name = $2`, accountID, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete environment template %s", name)
}

func (q *Queries) EnvironmentTemplateList(ctx context.Context, accountID string, p store.Page) ([]*store.EnvironmentTemplate, string, error) {
	list, next, err := page(ctx, q.R, `SELECT `+envTemplateColumns+` FROM environment_templates WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT $3`,
		[]any{accountID}, p, func(r scanner) (*store.EnvironmentTemplate, string, error) {
			t, err := scanEnvTemplate(r)
			if err != nil {
				return nil, "", err
			}
			return t, t.Name, nil
		})
	return list, next, wrap(err, "list environment templates")
}

func (q *Queries) EnvironmentTemplateCount(ctx context.Context, accountID string) (int, error) {
	n, err := count(ctx, q.R, `SELECT count(*) FROM environment_templates WHERE account_id = $1`, accountID)
	return n, wrap(err, "count environment templates")
}

func (q *Queries) ServiceTemplateCreate(ctx context.Context, t *store.ServiceTemplate) error {
	err := insert(ctx, q.W, `INSERT INTO service_templates (`+svcTemplateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) ON CONFLICT DO NOTHING`,
		t.AccountID, t.Name, t.DisplayName, t.Description, t.EncryptionKey, t.PipelineProvisioning, t.RecommendedVersion,
		micros(t.CreatedAt), micros(t.LastModifiedAt))
	if err != nil {
		return wrap(err, "create service template %s", t.Name)
	}
	t.Version = 1
	return nil
}

func (q *Queries) ServiceTemplateGet(ctx context.Context, accountID, name string) (*store.ServiceTemplate, error) {
	t, err := getOne(ctx, q.R, `SELECT `+svcTemplateColumns+` FROM service_templates WHERE account_id = $1 AND name = $2`,
		[]any{accountID, name}, scanSvcTemplate)
	return t, wrap(err, "service template %s", name)
}

func (q *Queries) ServiceTemplateUpdate(ctx context.Context, t *store.ServiceTemplate) error {
	n, err := q.W.Exec(ctx, `UPDATE service_templates SET display_name = $3, description = $4, encryption_key = $5, pipeline_provisioning = $6,
		recommended_version = $7, last_modified_at = $8, version = version + 1 WHERE account_id = $1 AND name = $2 AND version = $9`,
		t.AccountID, t.Name, t.DisplayName, t.Description, t.EncryptionKey, t.PipelineProvisioning, t.RecommendedVersion, micros(t.LastModifiedAt), t.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM service_templates WHERE account_id = $1 AND name = $2`, t.AccountID, t.Name)
	if err != nil {
		return wrap(err, "update service template %s", t.Name)
	}
	t.Version++
	return nil
}

func (q *Queries) ServiceTemplateDelete(ctx context.Context, accountID, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM service_templates WHERE account_id = $1 AND name = $2`, accountID, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete service template %s", name)
}

func (q *Queries) ServiceTemplateList(ctx context.Context, accountID string, p store.Page) ([]*store.ServiceTemplate, string, error) {
	list, next, err := page(ctx, q.R, `SELECT `+svcTemplateColumns+` FROM service_templates WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT $3`,
		[]any{accountID}, p, func(r scanner) (*store.ServiceTemplate, string, error) {
			t, err := scanSvcTemplate(r)
			if err != nil {
				return nil, "", err
			}
			return t, t.Name, nil
		})
	return list, next, wrap(err, "list service templates")
}

func (q *Queries) ServiceTemplateCount(ctx context.Context, accountID string) (int, error) {
	n, err := count(ctx, q.R, `SELECT count(*) FROM service_templates WHERE account_id = $1`, accountID)
	return n, wrap(err, "count service templates")
}
