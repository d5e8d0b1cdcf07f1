package sqlcore

import (
	"context"
	"fmt"
	"strings"

	"github.com/openproton/openproton/internal/store"
)

const connectionColumns = `id, environment_account_id, management_account_id, environment_name, role_arn, component_role_arn,
	codebuild_role_arn, status, requested_at, last_modified_at, version`

func scanConnection(r scanner) (*store.AccountConnection, error) {
	var c store.AccountConnection
	var requested, modified int64
	if err := r.Scan(&c.ID, &c.EnvironmentAccountID, &c.ManagementAccountID, &c.EnvironmentName, &c.RoleArn, &c.ComponentRoleArn,
		&c.CodebuildRoleArn, &c.Status, &requested, &modified, &c.Version); err != nil {
		return nil, err
	}
	c.RequestedAt, c.LastModifiedAt = fromMicros(requested), fromMicros(modified)
	return &c, nil
}

func (q *Queries) AccountConnectionCreate(ctx context.Context, c *store.AccountConnection) error {
	err := insert(ctx, q.W, `INSERT INTO account_connections (`+connectionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
		ON CONFLICT DO NOTHING`, c.ID, c.EnvironmentAccountID, c.ManagementAccountID, c.EnvironmentName, c.RoleArn, c.ComponentRoleArn,
		c.CodebuildRoleArn, c.Status, micros(c.RequestedAt), micros(c.LastModifiedAt))
	if err != nil {
		return wrap(err, "create account connection %s", c.ID)
	}
	c.Version = 1
	return nil
}

func (q *Queries) AccountConnectionGet(ctx context.Context, id string) (*store.AccountConnection, error) {
	c, err := getOne(ctx, q.R, `SELECT `+connectionColumns+` FROM account_connections WHERE id = $1`, []any{id}, scanConnection)
	return c, wrap(err, "account connection %s", id)
}

func (q *Queries) AccountConnectionUpdate(ctx context.Context, c *store.AccountConnection) error {
	n, err := q.W.Exec(ctx, `UPDATE account_connections SET role_arn = $2, component_role_arn = $3, codebuild_role_arn = $4, status = $5,
		last_modified_at = $6, version = version + 1 WHERE id = $1 AND version = $7`,
		c.ID, c.RoleArn, c.ComponentRoleArn, c.CodebuildRoleArn, c.Status, micros(c.LastModifiedAt), c.Version)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM account_connections WHERE id = $1`, c.ID)
	if err != nil {
		return wrap(err, "update account connection %s", c.ID)
	}
	c.Version++
	return nil
}

func (q *Queries) AccountConnectionDelete(ctx context.Context, id string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM account_connections WHERE id = $1`, id)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete account connection %s", id)
}

func (q *Queries) AccountConnectionList(ctx context.Context, f store.AccountConnectionFilter, p store.Page) ([]*store.AccountConnection, string, error) {
	side := "environment_account_id"
	if f.ManagementSide {
		side = "management_account_id"
	}
	args := []any{f.AccountID}
	where := side + " = $1"
	if f.EnvironmentName != "" {
		args = append(args, f.EnvironmentName)
		where += fmt.Sprintf(" AND environment_name = $%d", len(args))
	}
	if len(f.Statuses) > 0 {
		var in []string
		for _, st := range f.Statuses {
			args = append(args, st)
			in = append(in, fmt.Sprintf("$%d", len(args)))
		}
		where += " AND status IN (" + strings.Join(in, ", ") + ")"
	}
	query := fmt.Sprintf(`SELECT `+connectionColumns+` FROM account_connections WHERE %s AND id > $%d ORDER BY id LIMIT $%d`,
		where, len(args)+1, len(args)+2)
	out, next, err := page(ctx, q.R, query, args, p, func(r scanner) (*store.AccountConnection, string, error) {
		c, err := scanConnection(r)
		if err != nil {
			return nil, "", err
		}
		return c, c.ID, nil
	})
	return out, next, wrap(err, "list account connections")
}
