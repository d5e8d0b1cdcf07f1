// Package sqlcore is the SQL both drivers share: the queries of store.Queries written once
// against a tiny executor seam, plus the migration runner. SQLite (modernc) and PostgreSQL
// both accept $n placeholders and ON CONFLICT, so the statements are identical; the drivers
// differ only in connections, transactions and DDL.
//
// Choices that keep the two databases indistinguishable:
//   - times are integer microseconds since the epoch (exact, and the same in both);
//   - key columns sort by bytes (SQLite's BINARY, PostgreSQL's "C" collation), so keyset
//     pages come out in the same order;
//   - inserts use ON CONFLICT DO NOTHING and report a duplicate by the affected-row count,
//     never by a constraint error, because a failed statement aborts a PostgreSQL
//     transaction but not a SQLite one.
package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Native is the driver's own transaction inside Store.Tx (nil outside one), so that
	// other code (River) can write in the same transaction.
	Native any
}

var _ store.Queries = (*Queries)(nil)

// micros stores times as integer microseconds: exact and identical in both databases.
func micros(t time.Time) int64 { return t.UTC().Truncate(time.Microsecond).UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

type scanner interface{ Scan(...any) error }

// getOne reads the single row a query returns through scan, or returns store.ErrNotFound.
func getOne[T any](ctx context.Context, ex Executor, sql string, args []any, scan func(scanner) (T, error)) (T, error) {
	var zero T
	rows, err := ex.Query(ctx, sql, args...)
	if err != nil {
		return zero, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, err
		}
		return zero, store.ErrNotFound
	}
	return scan(rows)
}

// queryOne scans the single row a query returns into dest, or returns store.ErrNotFound.
func queryOne(ctx context.Context, ex Executor, sql string, args []any, dest ...any) error {
	_, err := getOne(ctx, ex, sql, args, func(r scanner) (struct{}, error) { return struct{}{}, r.Scan(dest...) })
	return err
}

// insert runs an INSERT … ON CONFLICT DO NOTHING; no row inserted means a duplicate.
func insert(ctx context.Context, ex Executor, sql string, args ...any) error {
	n, err := ex.Exec(ctx, sql, args...)
	return mustAffect(n, err, store.ErrAlreadyExists)
}

// mustAffect turns "no row matched" into none.
func mustAffect(n int64, err error, none error) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// page reads one keyset page. The query's last two parameters are the exclusive lower
// bound and the row limit; one row more than the page is fetched to learn whether another
// page follows. scan decodes a row and returns its sort key.
func page[T any](ctx context.Context, ex Executor, sql string, args []any, p store.Page, scan func(scanner) (T, string, error)) ([]T, string, error) {
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

// wrap adds what failed to err, keeping it matchable with errors.Is.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (q *Queries) AccessKeyCreate(ctx context.Context, k *store.AccessKey) error {
	err := insert(ctx, q.W, `INSERT INTO access_keys (access_key_id, secret, account_id, role, description, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		k.AccessKeyID, k.SecretAccessKey, k.AccountID, k.Role, k.Description, micros(k.CreatedAt))
	return wrap(err, "create access key %s", k.AccessKeyID)
}

func (q *Queries) AccessKeyGet(ctx context.Context, id string) (*store.AccessKey, error) {
	k, err := getOne(ctx, q.R, `SELECT access_key_id, secret, account_id, role, description, created_at FROM access_keys WHERE access_key_id = $1`,
		[]any{id}, func(r scanner) (*store.AccessKey, error) {
			var k store.AccessKey
			var created int64
			err := r.Scan(&k.AccessKeyID, &k.SecretAccessKey, &k.AccountID, &k.Role, &k.Description, &created)
			k.CreatedAt = fromMicros(created)
			return &k, err
		})
	return k, wrap(err, "access key %s", id)
}

// AccessKeyList leaves SecretAccessKey empty: listing never needs the secrets, so they do
// not leave the database.
func (q *Queries) AccessKeyList(ctx context.Context) ([]*store.AccessKey, error) {
	rows, err := q.R.Query(ctx, `SELECT access_key_id, account_id, role, description, created_at FROM access_keys ORDER BY created_at, access_key_id`)
	if err != nil {
		return nil, wrap(err, "list access keys")
	}
	defer rows.Close()
	var out []*store.AccessKey
	for rows.Next() {
		var k store.AccessKey
		var created int64
		if err := rows.Scan(&k.AccessKeyID, &k.AccountID, &k.Role, &k.Description, &created); err != nil {
			return nil, wrap(err, "list access keys")
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, &k)
	}
	return out, wrap(rows.Err(), "list access keys")
}

func (q *Queries) AccessKeyDelete(ctx context.Context, id string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM access_keys WHERE access_key_id = $1`, id)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete access key %s", id)
}

func (q *Queries) SecretGetOrCreate(ctx context.Context, name string, generate func() []byte) ([]byte, error) {
	const get = `SELECT value FROM server_secrets WHERE name = $1`
	var v []byte
	err := queryOne(ctx, q.R, get, []any{name}, &v)
	if !errors.Is(err, store.ErrNotFound) {
		return v, wrap(err, "secret %s", name)
	}
	// Whoever inserts first wins; everyone then reads the winner's value. The read goes to
	// the writer so it sees the row even if the reader's snapshot is older.
	if _, err := q.W.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, generate()); err != nil {
		return nil, wrap(err, "create secret %s", name)
	}
	err = queryOne(ctx, q.W, get, []any{name}, &v)
	return v, wrap(err, "secret %s", name)
}

func (q *Queries) AccountSettingsGet(ctx context.Context, accountID string) (*store.AccountSettings, error) {
	s := store.AccountSettings{AccountID: accountID}
	var repo store.RepositoryBranch
	var updated int64
	err := queryOne(ctx, q.R, `SELECT pipeline_service_role_arn, pipeline_codebuild_role_arn, repo_arn, repo_provider, repo_name, repo_branch, version, updated_at
		FROM account_settings WHERE account_id = $1`, []any{accountID},
		&s.PipelineServiceRoleArn, &s.PipelineCodebuildRoleArn, &repo.ARN, &repo.Provider, &repo.Name, &repo.Branch, &s.Version, &updated)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &s, nil
	case err != nil:
		return nil, wrap(err, "account settings %s", accountID)
	}
	if repo != (store.RepositoryBranch{}) {
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
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) ON CONFLICT DO NOTHING`,
			s.AccountID, s.PipelineServiceRoleArn, s.PipelineCodebuildRoleArn, repo.ARN, repo.Provider, repo.Name, repo.Branch, micros(s.UpdatedAt))
	} else {
		n, err = q.W.Exec(ctx, `UPDATE account_settings SET pipeline_service_role_arn = $2, pipeline_codebuild_role_arn = $3, repo_arn = $4, repo_provider = $5,
			repo_name = $6, repo_branch = $7, version = version + 1, updated_at = $8 WHERE account_id = $1 AND version = $9`,
			s.AccountID, s.PipelineServiceRoleArn, s.PipelineCodebuildRoleArn, repo.ARN, repo.Provider, repo.Name, repo.Branch, micros(s.UpdatedAt), s.Version)
	}
	if err := mustAffect(n, err, store.ErrConflict); err != nil {
		return wrap(err, "put account settings %s", s.AccountID)
	}
	s.Version++
	return nil
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// TagsPut writes all tags in one statement, so a call outside a transaction is still all
// or nothing. A key given twice keeps its last value (PostgreSQL refuses to update one row
// twice in a statement).
func (q *Queries) TagsPut(ctx context.Context, accountID, arn string, tags []store.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	values := map[string]string{}
	var keys []string
	for _, t := range tags {
		if _, seen := values[t.Key]; !seen {
			keys = append(keys, t.Key)
		}
		values[t.Key] = t.Value
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO tags (account_id, arn, key, value) VALUES `)
	args := []any{accountID, arn}
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($1, $2, %s)", placeholders(len(args)+1, 2))
		args = append(args, k, values[k])
	}
	b.WriteString(` ON CONFLICT (account_id, arn, key) DO UPDATE SET value = excluded.value`)
	_, err := q.W.Exec(ctx, b.String(), args...)
	return wrap(err, "put tags on %s", arn)
}

func (q *Queries) TagsDelete(ctx context.Context, accountID, arn string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	args := []any{accountID, arn}
	for _, k := range keys {
		args = append(args, k)
	}
	_, err := q.W.Exec(ctx, `DELETE FROM tags WHERE account_id = $1 AND arn = $2 AND key IN (`+placeholders(3, len(keys))+`)`, args...)
	return wrap(err, "delete tags on %s", arn)
}

func (q *Queries) TagsDeleteAll(ctx context.Context, accountID, arn string) error {
	_, err := q.W.Exec(ctx, `DELETE FROM tags WHERE account_id = $1 AND arn = $2`, accountID, arn)
	return wrap(err, "delete tags on %s", arn)
}

func (q *Queries) TagsCount(ctx context.Context, accountID, arn string) (int, error) {
	n, err := count(ctx, q.R, `SELECT count(*) FROM tags WHERE account_id = $1 AND arn = $2`, accountID, arn)
	return n, wrap(err, "count tags on %s", arn)
}

func (q *Queries) TagsList(ctx context.Context, accountID, arn string, p store.Page) ([]store.Tag, string, error) {
	tags, next, err := page(ctx, q.R, `SELECT key, value FROM tags WHERE account_id = $1 AND arn = $2 AND key > $3 ORDER BY key LIMIT $4`,
		[]any{accountID, arn}, p, func(r scanner) (store.Tag, string, error) {
			var t store.Tag
			err := r.Scan(&t.Key, &t.Value)
			return t, t.Key, err
		})
	return tags, next, wrap(err, "list tags on %s", arn)
}
