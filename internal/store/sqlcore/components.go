package sqlcore

import (
	"context"
	"fmt"

	"github.com/openproton/openproton/internal/store"
)

const componentColumns = `account_id, name, description, environment_name, service_name, service_instance_name, service_spec,
	template_file, manifest, deployment_status, deployment_status_message, last_attempted_deployment, last_succeeded_deployment,
	last_attempted_at, last_succeeded_at, outputs, last_client_token, created_at, last_modified_at, version`

func scanComponent(r scanner) (*store.Component, error) {
	var c store.Component
	var outputs string
	var attempted, succeeded, created, modified int64
	if err := r.Scan(&c.AccountID, &c.Name, &c.Description, &c.EnvironmentName, &c.ServiceName, &c.ServiceInstanceName, &c.ServiceSpec,
		&c.TemplateFile, &c.Manifest, &c.DeploymentStatus, &c.DeploymentStatusMessage, &c.LastAttemptedDeploymentID,
		&c.LastSucceededDeploymentID, &attempted, &succeeded, &outputs, &c.LastClientRequestToken, &created, &modified, &c.Version); err != nil {
		return nil, err
	}
	if err := unmarshalOutputs(outputs, &c.Outputs); err != nil {
		return nil, fmt.Errorf("component %s outputs: %w", c.Name, err)
	}
	c.LastDeploymentAttemptedAt, c.LastDeploymentSucceededAt = fromMicros(attempted), fromMicros(succeeded)
	c.CreatedAt, c.LastModifiedAt = fromMicros(created), fromMicros(modified)
	return &c, nil
}

func componentArgs(c *store.Component) []any {
	return []any{c.AccountID, c.Name, c.Description, c.EnvironmentName, c.ServiceName, c.ServiceInstanceName, c.ServiceSpec,
		c.TemplateFile, c.Manifest, c.DeploymentStatus, c.DeploymentStatusMessage, c.LastAttemptedDeploymentID,
		c.LastSucceededDeploymentID, micros(c.LastDeploymentAttemptedAt), micros(c.LastDeploymentSucceededAt),
		marshalOutputs(c.Outputs), c.LastClientRequestToken, micros(c.CreatedAt), micros(c.LastModifiedAt)}
}

func (q *Queries) ComponentCreate(ctx context.Context, c *store.Component) error {
	err := insert(ctx, q.W, `INSERT INTO components (`+componentColumns+`) VALUES (`+placeholders(1, 19)+`, 1) ON CONFLICT DO NOTHING`,
		componentArgs(c)...)
	if err != nil {
		return wrap(err, "create component %s", c.Name)
	}
	c.Version = 1
	return nil
}

func (q *Queries) ComponentGet(ctx context.Context, accountID, name string) (*store.Component, error) {
	c, err := getOne(ctx, q.R, `SELECT `+componentColumns+` FROM components WHERE account_id = $1 AND name = $2`,
		[]any{accountID, name}, scanComponent)
	return c, wrap(err, "component %s", name)
}

func (q *Queries) ComponentUpdate(ctx context.Context, c *store.Component) error {
	args := append(componentArgs(c), c.Version)
	n, err := q.W.Exec(ctx, `UPDATE components SET description = $3, environment_name = $4, service_name = $5,
		service_instance_name = $6, service_spec = $7, template_file = $8, manifest = $9, deployment_status = $10,
		deployment_status_message = $11, last_attempted_deployment = $12, last_succeeded_deployment = $13,
		last_attempted_at = $14, last_succeeded_at = $15, outputs = $16, last_client_token = $17, created_at = $18,
		last_modified_at = $19, version = version + 1 WHERE account_id = $1 AND name = $2 AND version = $20`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM components WHERE account_id = $1 AND name = $2`, c.AccountID, c.Name)
	if err != nil {
		return wrap(err, "update component %s", c.Name)
	}
	c.Version++
	return nil
}

func (q *Queries) ComponentDelete(ctx context.Context, accountID, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM components WHERE account_id = $1 AND name = $2`, accountID, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete component %s", name)
}

func (q *Queries) ComponentList(ctx context.Context, accountID, environment, service, instance string, p store.Page) ([]*store.Component, string, error) {
	args := []any{accountID}
	where := "account_id = $1"
	for _, f := range []struct{ col, val string }{{"environment_name", environment}, {"service_name", service}, {"service_instance_name", instance}} {
		if f.val != "" {
			args = append(args, f.val)
			where += fmt.Sprintf(" AND %s = $%d", f.col, len(args))
		}
	}
	query := fmt.Sprintf(`SELECT `+componentColumns+` FROM components WHERE %s AND name > $%d ORDER BY name LIMIT $%d`, where, len(args)+1, len(args)+2)
	out, next, err := page(ctx, q.R, query, args, p, func(r scanner) (*store.Component, string, error) {
		c, err := scanComponent(r)
		if err != nil {
			return nil, "", err
		}
		return c, c.Name, nil
	})
	return out, next, wrap(err, "list components")
}
