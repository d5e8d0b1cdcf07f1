package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openproton/openproton/internal/store"
)

const templateSyncColumns = `account_id, template_type, template_name, provider, repository, branch, subdirectory, created_at, version`

func scanTemplateSync(r scanner) (*store.TemplateSyncConfig, error) {
	var c store.TemplateSyncConfig
	var created int64
	if err := r.Scan(&c.AccountID, &c.TemplateType, &c.TemplateName, &c.Provider, &c.Repository, &c.Branch, &c.Subdirectory,
		&created, &c.Version); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

func (q *Queries) TemplateSyncConfigCreate(ctx context.Context, c *store.TemplateSyncConfig) error {
	err := insert(ctx, q.W, `INSERT INTO template_sync_configs (`+templateSyncColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
		ON CONFLICT DO NOTHING`, c.AccountID, c.TemplateType, c.TemplateName, c.Provider, c.Repository, c.Branch, c.Subdirectory, micros(c.CreatedAt))
	if err != nil {
		return wrap(err, "create template sync config %s/%s", c.TemplateType, c.TemplateName)
	}
	c.Version = 1
	return nil
}

func (q *Queries) TemplateSyncConfigGet(ctx context.Context, accountID, templateType, templateName string) (*store.TemplateSyncConfig, error) {
	c, err := getOne(ctx, q.R, `SELECT `+templateSyncColumns+` FROM template_sync_configs
		WHERE account_id = $1 AND template_type = $2 AND template_name = $3`, []any{accountID, templateType, templateName}, scanTemplateSync)
	return c, wrap(err, "template sync config %s/%s", templateType, templateName)
}

func (q *Queries) TemplateSyncConfigUpdate(ctx context.Context, c *store.TemplateSyncConfig) error {
	n, err := q.W.Exec(ctx, `UPDATE template_sync_configs SET provider = $4, repository = $5, branch = $6, subdirectory = $7,
		version = version + 1 WHERE account_id = $1 AND template_type = $2 AND template_name = $3 AND version = $8`,
		c.AccountID, c.TemplateType, c.TemplateName, c.Provider, c.Repository, c.Branch, c.Subdirectory, c.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM template_sync_configs WHERE account_id = $1 AND template_type = $2 AND template_name = $3`,
		c.AccountID, c.TemplateType, c.TemplateName)
	if err != nil {
		return wrap(err, "update template sync config %s/%s", c.TemplateType, c.TemplateName)
	}
	c.Version++
	return nil
}

func (q *Queries) TemplateSyncConfigDelete(ctx context.Context, accountID, templateType, templateName string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM template_sync_configs WHERE account_id = $1 AND template_type = $2 AND template_name = $3`,
		accountID, templateType, templateName)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete template sync config %s/%s", templateType, templateName)
}

// TemplateSyncConfigList pages under the key account/type/name: accounts are digits and
// types lower-case words, neither holding "/", and "/" sorts first, so the key orders as
// the columns do.
func (q *Queries) TemplateSyncConfigList(ctx context.Context, accountID string, p store.Page) ([]*store.TemplateSyncConfig, string, error) {
	out, next, err := page(ctx, q.R, `SELECT `+templateSyncColumns+` FROM template_sync_configs
		WHERE ($1 = '' OR account_id = $1) AND account_id || '/' || template_type || '/' || template_name > $2
		ORDER BY account_id, template_type, template_name LIMIT $3`, []any{accountID}, p,
		func(r scanner) (*store.TemplateSyncConfig, string, error) {
			c, err := scanTemplateSync(r)
			if err != nil {
				return nil, "", err
			}
			return c, c.AccountID + "/" + c.TemplateType + "/" + c.TemplateName, nil
		})
	return out, next, wrap(err, "list template sync configs")
}

func (q *Queries) TemplateSyncConfigsOfRepository(ctx context.Context, accountID, provider, repository, branch string) ([]*store.TemplateSyncConfig, error) {
	rows, err := q.R.Query(ctx, `SELECT `+templateSyncColumns+` FROM template_sync_configs
		WHERE account_id = $1 AND provider = $2 AND repository = $3 AND ($4 = '' OR branch = $4)
		ORDER BY template_type, template_name`, accountID, provider, repository, branch)
	if err != nil {
		return nil, wrap(err, "template sync configs of %s %s", provider, repository)
	}
	defer rows.Close()
	var out []*store.TemplateSyncConfig
	for rows.Next() {
		c, err := scanTemplateSync(rows)
		if err != nil {
			return nil, wrap(err, "template sync configs of %s %s", provider, repository)
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "template sync configs of %s %s", provider, repository)
}

const syncAttemptColumns = `account_id, id, sync_type, target, started_at, status, initial_revision, target_revision, events, digest, version`

func scanSyncAttempt(r scanner) (*store.SyncAttempt, error) {
	var a store.SyncAttempt
	var started int64
	if err := r.Scan(&a.AccountID, &a.ID, &a.SyncType, &a.Target, &started, &a.Status, &a.InitialRevision, &a.TargetRevision,
		&a.Events, &a.Digest, &a.Version); err != nil {
		return nil, err
	}
	a.StartedAt = fromMicros(started)
	return &a, nil
}

func (q *Queries) SyncAttemptCreate(ctx context.Context, a *store.SyncAttempt) error {
	err := insert(ctx, q.W, `INSERT INTO sync_attempts (`+syncAttemptColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
		ON CONFLICT DO NOTHING`, a.AccountID, a.ID, a.SyncType, a.Target, micros(a.StartedAt), a.Status, a.InitialRevision,
		a.TargetRevision, a.Events, a.Digest)
	if err != nil {
		return wrap(err, "create sync attempt %s", a.ID)
	}
	a.Version = 1
	return nil
}

func (q *Queries) SyncAttemptUpdate(ctx context.Context, a *store.SyncAttempt) error {
	n, err := q.W.Exec(ctx, `UPDATE sync_attempts SET status = $3, target_revision = $4, events = $5, digest = $6, version = version + 1
		WHERE account_id = $1 AND id = $2 AND version = $7`, a.AccountID, a.ID, a.Status, a.TargetRevision, a.Events, a.Digest, a.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM sync_attempts WHERE account_id = $1 AND id = $2`, a.AccountID, a.ID)
	if err != nil {
		return wrap(err, "update sync attempt %s", a.ID)
	}
	a.Version++
	return nil
}

func (q *Queries) SyncAttemptLatest(ctx context.Context, accountID, syncType, target string, succeeded bool) (*store.SyncAttempt, error) {
	where := ""
	if succeeded {
		where = " AND status = 'SUCCEEDED'"
	}
	a, err := getOne(ctx, q.R, fmt.Sprintf(`SELECT `+syncAttemptColumns+` FROM sync_attempts
		WHERE account_id = $1 AND sync_type = $2 AND target = $3%s ORDER BY started_at DESC, id DESC LIMIT 1`, where),
		[]any{accountID, syncType, target}, scanSyncAttempt)
	return a, wrap(err, "latest sync attempt on %s", target)
}

func (q *Queries) SyncAttemptLatestWithDigest(ctx context.Context, accountID, syncType, target string) (*store.SyncAttempt, error) {
	a, err := getOne(ctx, q.R, `SELECT `+syncAttemptColumns+` FROM sync_attempts
		WHERE account_id = $1 AND sync_type = $2 AND target = $3 AND digest <> '' ORDER BY started_at DESC, id DESC LIMIT 1`,
		[]any{accountID, syncType, target}, scanSyncAttempt)
	return a, wrap(err, "latest sync attempt with a digest on %s", target)
}

func (q *Queries) SyncHeadGet(ctx context.Context, accountID, provider, repository, branch, syncType string) (*store.SyncHead, error) {
	h, err := getOne(ctx, q.R, `SELECT account_id, provider, repository, branch, sync_type, sha, synced_at FROM sync_heads
		WHERE account_id = $1 AND provider = $2 AND repository = $3 AND branch = $4 AND sync_type = $5`,
		[]any{accountID, provider, repository, branch, syncType}, func(r scanner) (*store.SyncHead, error) {
			var h store.SyncHead
			var at int64
			if err := r.Scan(&h.AccountID, &h.Provider, &h.Repository, &h.Branch, &h.SyncType, &h.SHA, &at); err != nil {
				return nil, err
			}
			h.SyncedAt = fromMicros(at)
			return &h, nil
		})
	return h, wrap(err, "sync head of %s %s %s", provider, repository, branch)
}

func (q *Queries) SyncHeadPut(ctx context.Context, h *store.SyncHead) error {
	_, err := q.W.Exec(ctx, `INSERT INTO sync_heads (account_id, provider, repository, branch, sync_type, sha, synced_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, provider, repository, branch, sync_type)
		DO UPDATE SET sha = excluded.sha, synced_at = excluded.synced_at`,
		h.AccountID, h.Provider, h.Repository, h.Branch, h.SyncType, h.SHA, micros(h.SyncedAt))
	return wrap(err, "record sync head of %s %s %s", h.Provider, h.Repository, h.Branch)
}

const serviceSyncColumns = `account_id, service_name, provider, repository, branch, file_path, created_at, version`

func scanServiceSync(r scanner) (*store.ServiceSyncConfig, error) {
	var c store.ServiceSyncConfig
	var created int64
	if err := r.Scan(&c.AccountID, &c.ServiceName, &c.Provider, &c.Repository, &c.Branch, &c.FilePath, &created, &c.Version); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

func (q *Queries) ServiceSyncConfigCreate(ctx context.Context, c *store.ServiceSyncConfig) error {
	err := insert(ctx, q.W, `INSERT INTO service_sync_configs (`+serviceSyncColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
		ON CONFLICT DO NOTHING`, c.AccountID, c.ServiceName, c.Provider, c.Repository, c.Branch, c.FilePath, micros(c.CreatedAt))
	if err != nil {
		return wrap(err, "create service sync config %s", c.ServiceName)
	}
	c.Version = 1
	return nil
}

func (q *Queries) ServiceSyncConfigGet(ctx context.Context, accountID, serviceName string) (*store.ServiceSyncConfig, error) {
	c, err := getOne(ctx, q.R, `SELECT `+serviceSyncColumns+` FROM service_sync_configs WHERE account_id = $1 AND service_name = $2`,
		[]any{accountID, serviceName}, scanServiceSync)
	return c, wrap(err, "service sync config %s", serviceName)
}

func (q *Queries) ServiceSyncConfigUpdate(ctx context.Context, c *store.ServiceSyncConfig) error {
	n, err := q.W.Exec(ctx, `UPDATE service_sync_configs SET provider = $3, repository = $4, branch = $5, file_path = $6, version = version + 1
		WHERE account_id = $1 AND service_name = $2 AND version = $7`, c.AccountID, c.ServiceName, c.Provider, c.Repository, c.Branch, c.FilePath, c.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM service_sync_configs WHERE account_id = $1 AND service_name = $2`, c.AccountID, c.ServiceName)
	if err != nil {
		return wrap(err, "update service sync config %s", c.ServiceName)
	}
	c.Version++
	return nil
}

func (q *Queries) ServiceSyncConfigDelete(ctx context.Context, accountID, serviceName string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM service_sync_configs WHERE account_id = $1 AND service_name = $2`, accountID, serviceName)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete service sync config %s", serviceName)
}

func (q *Queries) ServiceSyncConfigList(ctx context.Context, p store.Page) ([]*store.ServiceSyncConfig, string, error) {
	out, next, err := page(ctx, q.R, `SELECT `+serviceSyncColumns+` FROM service_sync_configs
		WHERE account_id || '/' || service_name > $1 ORDER BY account_id, service_name LIMIT $2`, nil, p,
		func(r scanner) (*store.ServiceSyncConfig, string, error) {
			c, err := scanServiceSync(r)
			if err != nil {
				return nil, "", err
			}
			return c, c.AccountID + "/" + c.ServiceName, nil
		})
	return out, next, wrap(err, "list service sync configs")
}

const blockerColumns = `account_id, id, service_name, service_instance_name, type, status, created_reason, created_at, contexts,
	resolved_reason, resolved_at, version`

func scanBlocker(r scanner) (*store.SyncBlocker, error) {
	var b store.SyncBlocker
	var created, resolved int64
	var contexts string
	if err := r.Scan(&b.AccountID, &b.ID, &b.ServiceName, &b.InstanceName, &b.Type, &b.Status, &b.CreatedReason, &created, &contexts,
		&b.ResolvedReason, &resolved, &b.Version); err != nil {
		return nil, err
	}
	b.CreatedAt, b.ResolvedAt = fromMicros(created), optionalTime(resolved)
	if err := json.Unmarshal([]byte(contexts), &b.Contexts); err != nil {
		return nil, fmt.Errorf("sync blocker %s contexts: %w", b.ID, err)
	}
	return &b, nil
}

func (q *Queries) SyncBlockerCreate(ctx context.Context, b *store.SyncBlocker) error {
	contexts, _ := json.Marshal(b.Contexts)
	if b.Contexts == nil {
		contexts = []byte("[]")
	}
	err := insert(ctx, q.W, `INSERT INTO sync_blockers (`+blockerColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)
		ON CONFLICT DO NOTHING`, b.AccountID, b.ID, b.ServiceName, b.InstanceName, b.Type, b.Status, b.CreatedReason, micros(b.CreatedAt),
		string(contexts), b.ResolvedReason, optionalMicros(b.ResolvedAt))
	if err != nil {
		return wrap(err, "create sync blocker %s", b.ID)
	}
	b.Version = 1
	return nil
}

func (q *Queries) SyncBlockerGet(ctx context.Context, accountID, id string) (*store.SyncBlocker, error) {
	b, err := getOne(ctx, q.R, `SELECT `+blockerColumns+` FROM sync_blockers WHERE account_id = $1 AND id = $2`, []any{accountID, id}, scanBlocker)
	return b, wrap(err, "sync blocker %s", id)
}

func (q *Queries) SyncBlockerUpdate(ctx context.Context, b *store.SyncBlocker) error {
	n, err := q.W.Exec(ctx, `UPDATE sync_blockers SET status = $3, resolved_reason = $4, resolved_at = $5, version = version + 1
		WHERE account_id = $1 AND id = $2 AND version = $6`, b.AccountID, b.ID, b.Status, b.ResolvedReason, optionalMicros(b.ResolvedAt), b.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM sync_blockers WHERE account_id = $1 AND id = $2`, b.AccountID, b.ID)
	if err != nil {
		return wrap(err, "update sync blocker %s", b.ID)
	}
	b.Version++
	return nil
}

func (q *Queries) SyncBlockerList(ctx context.Context, accountID, serviceName, instanceName string, activeOnly bool, limit int) ([]*store.SyncBlocker, error) {
	where := ""
	if activeOnly {
		where = " AND status = 'ACTIVE'"
	}
	rows, err := q.R.Query(ctx, `SELECT `+blockerColumns+` FROM sync_blockers WHERE account_id = $1 AND service_name = $2
		AND service_instance_name = $3`+where+` ORDER BY created_at DESC, id DESC LIMIT $4`, accountID, serviceName, instanceName, limit)
	if err != nil {
		return nil, wrap(err, "sync blockers of %s", serviceName)
	}
	defer rows.Close()
	var out []*store.SyncBlocker
	for rows.Next() {
		b, err := scanBlocker(rows)
		if err != nil {
			return nil, wrap(err, "sync blockers of %s", serviceName)
		}
		out = append(out, b)
	}
	return out, wrap(rows.Err(), "sync blockers of %s", serviceName)
}
