package sqlcore

import (
	"context"
	"encoding/json"

	"github.com/openproton/openproton/internal/store"
)

const repositoryColumns = `account_id, provider, name, arn, connection_arn, encryption_key, created_at`

func scanRepository(r scanner) (*store.Repository, error) {
	var repo store.Repository
	var created int64
	if err := r.Scan(&repo.AccountID, &repo.Provider, &repo.Name, &repo.ARN, &repo.ConnectionARN, &repo.EncryptionKey, &created); err != nil {
		return nil, err
	}
	repo.CreatedAt = fromMicros(created)
	return &repo, nil
}

func (q *Queries) RepositoryCreate(ctx context.Context, r *store.Repository) error {
	err := insert(ctx, q.W, `INSERT INTO repositories (`+repositoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		r.AccountID, r.Provider, r.Name, r.ARN, r.ConnectionARN, r.EncryptionKey, micros(r.CreatedAt))
	return wrap(err, "create repository %s %s", r.Provider, r.Name)
}

func (q *Queries) RepositoryGet(ctx context.Context, accountID, provider, name string) (*store.Repository, error) {
	r, err := getOne(ctx, q.R, `SELECT `+repositoryColumns+` FROM repositories WHERE account_id = $1 AND provider = $2 AND name = $3`,
		[]any{accountID, provider, name}, scanRepository)
	return r, wrap(err, "repository %s %s", provider, name)
}

func (q *Queries) RepositoryHold(ctx context.Context, accountID, provider, name string) (*store.Repository, error) {
	r, err := getOne(ctx, q.W, `UPDATE repositories SET connection_arn = connection_arn WHERE account_id = $1 AND provider = $2 AND name = $3
		RETURNING `+repositoryColumns, []any{accountID, provider, name}, scanRepository)
	return r, wrap(err, "repository %s %s", provider, name)
}

func (q *Queries) RepositoryDelete(ctx context.Context, accountID, provider, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM repositories WHERE account_id = $1 AND provider = $2 AND name = $3`, accountID, provider, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete repository %s %s", provider, name)
}

// RepositoryList pages by provider, then name, under the key provider/name: providers
// hold no "/" and "/" sorts before "_", so the key orders exactly as (provider, name).
func (q *Queries) RepositoryList(ctx context.Context, accountID string, p store.Page) ([]*store.Repository, string, error) {
	out, next, err := page(ctx, q.R, `SELECT `+repositoryColumns+` FROM repositories WHERE account_id = $1
		AND provider || '/' || name > $2 ORDER BY provider, name LIMIT $3`, []any{accountID}, p,
		func(r scanner) (*store.Repository, string, error) {
			repo, err := scanRepository(r)
			if err != nil {
				return nil, "", err
			}
			return repo, repo.Provider + "/" + repo.Name, nil
		})
	return out, next, wrap(err, "list repositories")
}

// EnvironmentsUsingRepository reads the (few) environments that have a provisioning
// repository and compares in Go: the repository is stored as JSON in the environment row.
func (q *Queries) EnvironmentsUsingRepository(ctx context.Context, accountID, provider, name string, limit int) ([]string, error) {
	rows, err := q.R.Query(ctx, `SELECT name, provisioning_repository FROM environments
		WHERE account_id = $1 AND provisioning_repository <> '' ORDER BY name`, accountID)
	if err != nil {
		return nil, wrap(err, "environments using repository %s %s", provider, name)
	}
	defer rows.Close()
	var out []string
	for rows.Next() && len(out) < limit {
		var env, raw string
		if err := rows.Scan(&env, &raw); err != nil {
			return nil, wrap(err, "environments using repository %s %s", provider, name)
		}
		var repo store.RepositoryBranch
		// By provider and name: environments from before repository links carry another
		// form of the ARN.
		if json.Unmarshal([]byte(raw), &repo) == nil && repo.Provider == provider && repo.Name == name {
			out = append(out, env)
		}
	}
	return out, wrap(rows.Err(), "environments using repository %s %s", provider, name)
}
