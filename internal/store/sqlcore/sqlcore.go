// Package sqlcore is the SQL both drivers share: the queries of store.Queries written once
// against a tiny executor seam, plus the migration runner. SQLite (modernc) and PostgreSQL
// both accept $n placeholders and ON CONFLICT, so the statements are identical; the drivers
// differ only in connections, transactions, error codes and DDL.
package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openproton/openproton/internal/store"
)

// Rows is the part of a result set the queries use.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Executor runs statements: a connection pool or a transaction.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
}

// Queries implements store.Queries. Reads go to R and writes to W; inside a transaction
// both are the transaction. SQLite keeps them apart so reads never queue behind the single
// writer connection.
type Queries struct {
	R, W Executor
	// IsUniqueViolation recognises the driver's unique-constraint error.
	IsUniqueViolation func(error) bool
}

var _ store.Queries = (*Queries)(nil)

// micros stores times as integer microseconds: exact and identical in both databases.
func micros(t time.Time) int64 { return t.UTC().Truncate(time.Microsecond).UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

// queryOne scans the single row a query returns, or returns store.ErrNotFound.
func queryOne(ctx context.Context, ex Executor, sql string, args []any, dest ...any) error {
	rows, err := ex.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return store.ErrNotFound
	}
	return rows.Scan(dest...)
}

// insert maps a unique violation to store.ErrAlreadyExists.
func (q *Queries) insert(ctx context.Context, sql string, args ...any) error {
	_, err := q.W.Exec(ctx, sql, args...)
	if err != nil && q.IsUniqueViolation(err) {
		return store.ErrAlreadyExists
	}
	return err
}

// mustAffect turns "no row matched" into err.
func mustAffect(n int64, err error, none error) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// page reads one keyset page: scan decodes a row and returns its sort key.
func page[T any](ctx context.Context, ex Executor, sql string, args []any, p store.Page, scan func(Rows) (T, string, error)) ([]T, string, error) {
	size := p.Size()
	rows, err := ex.Query(ctx, sql, append(args, p.After, size+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	var keys []string
	for rows.Next() {
		v, key, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) > size {
		return out[:size], keys[size-1], nil
	}
	return out, "", nil
}

func count(ctx context.Context, ex Executor, sql string, args ...any) (int, error) {
	var n int64
	if err := queryOne(ctx, ex, sql, args, &n); err != nil {
		return 0, err
	}
	return int(n), nil
}

func (q *Queries) AccessKeyCreate(ctx context.Context, k *store.AccessKey) error {
	return q.insert(ctx, `INSERT INTO access_keys (access_key_id, secret, account_id, role, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.AccessKeyID, k.SecretAccessKey, k.AccountID, k.Role, k.Description, micros(k.CreatedAt))
}

func scanKey(r interface{ Scan(...any) error }) (*store.AccessKey, error) {
	var k store.AccessKey
	var created int64
	if err := r.Scan(&k.AccessKeyID, &k.SecretAccessKey, &k.AccountID, &k.Role, &k.Description, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMicros(created)
	return &k, nil
}

const keyColumns = `access_key_id, secret, account_id, role, description, created_at`

func (q *Queries) AccessKeyGet(ctx context.Context, id string) (*store.AccessKey, error) {
	k, err := getOne(ctx, q.R, `SELECT `+keyColumns+` FROM access_keys WHERE access_key_id = $1`, []any{id}, scanKey)
	if err != nil {
		return nil, fmt.Errorf("access key: %w", err)
	}
	return k, nil
}

func (q *Queries) AccessKeyList(ctx context.Context) ([]*store.AccessKey, error) {
	rows, err := q.R.Query(ctx, `SELECT `+keyColumns+` FROM access_keys ORDER BY created_at, access_key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.AccessKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (q *Queries) AccessKeyDelete(ctx context.Context, id string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM access_keys WHERE access_key_id = $1`, id)
	return mustAffect(n, err, store.ErrNotFound)
}

func (q *Queries) SecretGetOrCreate(ctx context.Context, name string, generate func() []byte) ([]byte, error) {
	var v []byte
	err := queryOne(ctx, q.W, `SELECT value FROM server_secrets WHERE name = $1`, []any{name}, &v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// Whoever inserts first wins; everyone then reads the winner's value.
	if _, err := q.W.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, generate()); err != nil {
		return nil, err
	}
	if err := queryOne(ctx, q.W, `SELECT value FROM server_secrets WHERE name = $1`, []any{name}, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (q *Queries) AccountSettingsGet(ctx context.Context, accountID string) (*store.AccountSettings, error) {
	s := store.AccountSettings{AccountID: accountID}
	var repo store.RepositoryBranch
	var updated int64
	err := queryOne(ctx, q.R, `SELECT pipeline_service_role_arn, pipeline_codebuild_role_arn, repo_arn, repo_provider, repo_name, repo_branch, version, updated_at
		FROM account_settings WHERE account_id = $1`, []any{accountID},
		&s.PipelineServiceRoleArn, &s.PipelineCodebuildRoleArn, &repo.ARN, &repo.Provider, &repo.Name, &repo.Branch, &s.Version, &updated)
	if errors.Is(err, store.ErrNotFound) {
		return &s, nil
	}
	if err != nil {
		return nil, err
	}
	if repo.Name != "" {
		s.PipelineProvisioningRepository = &repo
	}
	s.UpdatedAt = fromMicros(updated)
	return &s, nil
}

func (q *Queries) AccountSettingsPut(ctx context.Context, s *store.AccountSettings) error {
	var repo store.RepositoryBranch
	if s.PipelineProvisioningRepository != nil {
		repo = *s.PipelineProvisioningRepository
	}
	var n int64
	var err error
	if s.Version == 0 {
		n, err = q.W.Exec(ctx, `INSERT INTO account_settings (account_id, pipeline_service_role_arn, pipeline_codebuild_role_arn, repo_arn, repo_provider, repo_name, repo_branch, version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) ON CONFLICT (account_id) DO NOTHING`,
			s.AccountID, s.PipelineServiceRoleArn, s.PipelineCodebuildRoleArn, repo.ARN, repo.Provider, repo.Name, repo.Branch, micros(s.UpdatedAt))
	} else {
		n, err = q.W.Exec(ctx, `UPDATE account_settings SET pipeline_service_role_arn = $2, pipeline_codebuild_role_arn = $3, repo_arn = $4, repo_provider = $5,
			repo_name = $6, repo_branch = $7, version = version + 1, updated_at = $8 WHERE account_id = $1 AND version = $9`,
			s.AccountID, s.PipelineServiceRoleArn, s.PipelineCodebuildRoleArn, repo.ARN, repo.Provider, repo.Name, repo.Branch, micros(s.UpdatedAt), s.Version)
	}
	if err := mustAffect(n, err, store.ErrConflict); err != nil {
		return err
	}
	s.Version++
	return nil
}

func (q *Queries) TagsPut(ctx context.Context, accountID, arn string, tags []store.Tag) error {
	for _, t := range tags {
		if _, err := q.W.Exec(ctx, `INSERT INTO tags (account_id, arn, key, value) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, arn, key) DO UPDATE SET value = excluded.value`, accountID, arn, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queries) TagsDelete(ctx context.Context, accountID, arn string, keys []string) error {
	for _, k := range keys {
		if _, err := q.W.Exec(ctx, `DELETE FROM tags WHERE account_id = $1 AND arn = $2 AND key = $3`, accountID, arn, k); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queries) TagsDeleteAll(ctx context.Context, accountID, arn string) error {
	_, err := q.W.Exec(ctx, `DELETE FROM tags WHERE account_id = $1 AND arn = $2`, accountID, arn)
	return err
}

func (q *Queries) TagsCount(ctx context.Context, accountID, arn string) (int, error) {
	return count(ctx, q.R, `SELECT count(*) FROM tags WHERE account_id = $1 AND arn = $2`, accountID, arn)
}

func (q *Queries) TagsList(ctx context.Context, accountID, arn string, p store.Page) ([]store.Tag, string, error) {
	return page(ctx, q.R, `SELECT key, value FROM tags WHERE account_id = $1 AND arn = $2 AND key > $3 ORDER BY key LIMIT $4`,
		[]any{accountID, arn}, p, func(r Rows) (store.Tag, string, error) {
			var t store.Tag
			err := r.Scan(&t.Key, &t.Value)
			return t, t.Key, err
		})
}
