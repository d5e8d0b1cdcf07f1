package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/openproton/openproton/internal/store"
)

const environmentColumns = `account_id, name, description, template_name, template_major, template_minor, spec, provisioning,
	proton_service_role_arn, codebuild_role_arn, component_role_arn, account_connection_id, environment_account_id,
	provisioning_repository, deployment_status, deployment_status_message, last_attempted_deployment, last_succeeded_deployment,
	last_attempted_at, last_succeeded_at, inputs, outputs, created_at, version`

func scanEnvironment(r scanner) (*store.Environment, error) {
	var e store.Environment
	var repo, outputs string
	var attempted, succeeded, created int64
	if err := r.Scan(&e.AccountID, &e.Name, &e.Description, &e.TemplateName, &e.TemplateMajor, &e.TemplateMinor, &e.Spec,
		&e.Provisioning, &e.ProtonServiceRoleArn, &e.CodebuildRoleArn, &e.ComponentRoleArn, &e.EnvironmentAccountConnectionID,
		&e.EnvironmentAccountID, &repo, &e.DeploymentStatus, &e.DeploymentStatusMessage, &e.LastAttemptedDeploymentID,
		&e.LastSucceededDeploymentID, &attempted, &succeeded, &e.Inputs, &outputs, &created, &e.Version); err != nil {
		return nil, err
	}
	if repo != "" {
		e.ProvisioningRepository = new(store.RepositoryBranch)
		if err := json.Unmarshal([]byte(repo), e.ProvisioningRepository); err != nil {
			return nil, fmt.Errorf("environment %s provisioning repository: %w", e.Name, err)
		}
	}
	if err := unmarshalOutputs(outputs, &e.Outputs); err != nil {
		return nil, fmt.Errorf("environment %s outputs: %w", e.Name, err)
	}
	e.LastDeploymentAttemptedAt, e.LastDeploymentSucceededAt, e.CreatedAt = fromMicros(attempted), fromMicros(succeeded), fromMicros(created)
	return &e, nil
}

func marshalOutputs(o []store.Output) string {
	if len(o) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(o)
	return string(b)
}

func unmarshalOutputs(s string, o *[]store.Output) error {
	if s == "" || s == "[]" {
		*o = nil
		return nil
	}
	return json.Unmarshal([]byte(s), o)
}

func marshalRepo(r *store.RepositoryBranch) string {
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func environmentArgs(e *store.Environment) []any {
	return []any{e.AccountID, e.Name, e.Description, e.TemplateName, e.TemplateMajor, e.TemplateMinor, e.Spec, e.Provisioning,
		e.ProtonServiceRoleArn, e.CodebuildRoleArn, e.ComponentRoleArn, e.EnvironmentAccountConnectionID, e.EnvironmentAccountID,
		marshalRepo(e.ProvisioningRepository), e.DeploymentStatus, e.DeploymentStatusMessage, e.LastAttemptedDeploymentID,
		e.LastSucceededDeploymentID, micros(e.LastDeploymentAttemptedAt), micros(e.LastDeploymentSucceededAt),
		e.Inputs, marshalOutputs(e.Outputs), micros(e.CreatedAt)}
}

func (q *Queries) EnvironmentCreate(ctx context.Context, e *store.Environment) error {
	err := insert(ctx, q.W, `INSERT INTO environments (`+environmentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
		$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 1) ON CONFLICT DO NOTHING`, environmentArgs(e)...)
	if err != nil {
		return wrap(err, "create environment %s", e.Name)
	}
	e.Version = 1
	return nil
}

func (q *Queries) EnvironmentGet(ctx context.Context, accountID, name string) (*store.Environment, error) {
	e, err := getOne(ctx, q.R, `SELECT `+environmentColumns+` FROM environments WHERE account_id = $1 AND name = $2`,
		[]any{accountID, name}, scanEnvironment)
	return e, wrap(err, "environment %s", name)
}

func (q *Queries) EnvironmentLock(ctx context.Context, accountID, name string) (*store.Environment, error) {
	e, err := getOne(ctx, q.W, `UPDATE environments SET version = version WHERE account_id = $1 AND name = $2 RETURNING `+environmentColumns,
		[]any{accountID, name}, scanEnvironment)
	return e, wrap(err, "lock environment %s", name)
}

func (q *Queries) EnvironmentUpdate(ctx context.Context, e *store.Environment) error {
	args := append(environmentArgs(e), e.Version)
	n, err := q.W.Exec(ctx, `UPDATE environments SET description = $3, template_name = $4, template_major = $5, template_minor = $6,
		spec = $7, provisioning = $8, proton_service_role_arn = $9, codebuild_role_arn = $10, component_role_arn = $11,
		account_connection_id = $12, environment_account_id = $13, provisioning_repository = $14, deployment_status = $15,
		deployment_status_message = $16, last_attempted_deployment = $17, last_succeeded_deployment = $18,
		last_attempted_at = $19, last_succeeded_at = $20, inputs = $21, outputs = $22, created_at = $23, version = version + 1
		WHERE account_id = $1 AND name = $2 AND version = $24`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM environments WHERE account_id = $1 AND name = $2`, e.AccountID, e.Name)
	if err != nil {
		return wrap(err, "update environment %s", e.Name)
	}
	e.Version++
	return nil
}

func (q *Queries) EnvironmentDelete(ctx context.Context, accountID, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM environments WHERE account_id = $1 AND name = $2`, accountID, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete environment %s", name)
}

func (q *Queries) EnvironmentList(ctx context.Context, accountID string, templates []store.TemplateRef, p store.Page) ([]*store.Environment, string, error) {
	args := []any{accountID}
	var filter string
	if len(templates) > 0 {
		var or []string
		for _, t := range templates {
			args = append(args, t.Name, t.Major)
			or = append(or, fmt.Sprintf("(template_name = $%d AND template_major = $%d)", len(args)-1, len(args)))
		}
		filter = " AND (" + strings.Join(or, " OR ") + ")"
	}
	query := fmt.Sprintf(`SELECT `+environmentColumns+` FROM environments WHERE account_id = $1%s AND name > $%d ORDER BY name LIMIT $%d`,
		filter, len(args)+1, len(args)+2)
	out, next, err := page(ctx, q.R, query, args, p, func(r scanner) (*store.Environment, string, error) {
		e, err := scanEnvironment(r)
		if err != nil {
			return nil, "", err
		}
		return e, e.Name, nil
	})
	return out, next, wrap(err, "list environments")
}

func (q *Queries) EnvironmentCount(ctx context.Context, accountID string) (int, error) {
	n, err := count(ctx, q.R, `SELECT count(*) FROM environments WHERE account_id = $1`, accountID)
	return n, wrap(err, "count environments")
}

func (q *Queries) EnvironmentCountUsing(ctx context.Context, accountID, templateName string, major, minor int) (int, error) {
	if minor < 0 {
		n, err := count(ctx, q.R, `SELECT count(*) FROM environments WHERE account_id = $1 AND template_name = $2 AND template_major = $3`,
			accountID, templateName, major)
		return n, wrap(err, "count environments of %s:%d", templateName, major)
	}
	n, err := count(ctx, q.R, `SELECT count(*) FROM environments WHERE account_id = $1 AND template_name = $2 AND template_major = $3
		AND template_minor = $4`, accountID, templateName, major, minor)
	return n, wrap(err, "count environments of %s:%d.%d", templateName, major, minor)
}
