package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/openproton/openproton/internal/store"
)

const deploymentColumns = `account_id, id, target_type, target_arn, target_created_at, environment_name, service_name,
	service_instance_name, component_name, action, status, status_message, initial_state, target_state, inputs, initial_inputs, outputs,
	reported_status, reported_message, last_attempted_id, last_succeeded_id, attempt, lease_owner, lease_expires_at,
	created_at, last_modified_at, completed_at, resources, awaiting, request, request_open, request_check_at, version`

func scanDeployment(r scanner) (*store.Deployment, error) {
	var d store.Deployment
	var outputs, resources string
	var target, lease, created, modified, completed, awaiting, requestOpen, checkAt int64
	if err := r.Scan(&d.AccountID, &d.ID, &d.TargetType, &d.TargetARN, &target, &d.EnvironmentName, &d.ServiceName,
		&d.ServiceInstanceName, &d.Component, &d.Action, &d.Status, &d.StatusMessage, &d.InitialState, &d.TargetState, &d.Inputs, &d.InitialInputs, &outputs,
		&d.ReportedStatus, &d.ReportedMessage, &d.LastAttemptedDeploymentID, &d.LastSucceededDeploymentID, &d.Attempt,
		&d.LeaseOwner, &lease, &created, &modified, &completed, &resources, &awaiting, &d.Request, &requestOpen, &checkAt, &d.Version); err != nil {
		return nil, err
	}
	if err := unmarshalOutputs(outputs, &d.Outputs); err != nil {
		return nil, fmt.Errorf("deployment %s outputs: %w", d.ID, err)
	}
	d.Awaiting, d.RequestOpen = awaiting != 0, requestOpen != 0
	if resources != "" && resources != "[]" {
		if err := json.Unmarshal([]byte(resources), &d.Resources); err != nil {
			return nil, fmt.Errorf("deployment %s resources: %w", d.ID, err)
		}
	}
	d.TargetCreatedAt, d.CreatedAt, d.LastModifiedAt = fromMicros(target), fromMicros(created), fromMicros(modified)
	d.LeaseExpiresAt, d.CompletedAt, d.RequestCheckAt = optionalTime(lease), optionalTime(completed), optionalTime(checkAt)
	return &d, nil
}

// optionalTime maps the stored 0 back to the zero time.
func optionalTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromMicros(n)
}

func optionalMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func marshalResources(r []store.ProvisionedResource) string {
	if len(r) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// deploymentSortKey orders deployments newest first under an ascending keyset.
func deploymentSortKey(d *store.Deployment) string {
	return fmt.Sprintf("%019d/%s", math.MaxInt64-micros(d.CreatedAt), d.ID)
}

func (q *Queries) DeploymentCreate(ctx context.Context, d *store.Deployment) error {
	log := d.Log
	if log == nil {
		log = []byte{}
	}
	err := insert(ctx, q.W, `INSERT INTO deployments (`+deploymentColumns+`, sort_key, log) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
		$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $30, $31, $32, $33, $34, 1, $28, $29) ON CONFLICT DO NOTHING`,
		d.AccountID, d.ID, d.TargetType, d.TargetARN, micros(d.TargetCreatedAt), d.EnvironmentName, d.ServiceName,
		d.ServiceInstanceName, d.Component, d.Action, d.Status, d.StatusMessage, d.InitialState, d.TargetState,
		d.Inputs, d.InitialInputs, marshalOutputs(d.Outputs), d.ReportedStatus, d.ReportedMessage, d.LastAttemptedDeploymentID, d.LastSucceededDeploymentID,
		d.Attempt, d.LeaseOwner, optionalMicros(d.LeaseExpiresAt), micros(d.CreatedAt), micros(d.LastModifiedAt),
		optionalMicros(d.CompletedAt), deploymentSortKey(d), log, marshalResources(d.Resources), boolInt(d.Awaiting),
		d.Request, boolInt(d.RequestOpen), optionalMicros(d.RequestCheckAt))
	if err != nil {
		return wrap(err, "create deployment %s", d.ID)
	}
	d.Version = 1
	return nil
}

func (q *Queries) DeploymentGet(ctx context.Context, accountID, id string) (*store.Deployment, error) {
	d, err := getOne(ctx, q.R, `SELECT `+deploymentColumns+` FROM deployments WHERE account_id = $1 AND id = $2`,
		[]any{accountID, id}, scanDeployment)
	return d, wrap(err, "deployment %s", id)
}

func (q *Queries) DeploymentLog(ctx context.Context, accountID, id string) ([]byte, error) {
	var log []byte
	err := queryOne(ctx, q.R, `SELECT log FROM deployments WHERE account_id = $1 AND id = $2`, []any{accountID, id}, &log)
	return log, wrap(err, "deployment %s log", id)
}

func (q *Queries) DeploymentUpdate(ctx context.Context, d *store.Deployment) error {
	args := []any{d.AccountID, d.ID, d.Status, d.StatusMessage, d.InitialState, d.TargetState, marshalOutputs(d.Outputs),
		d.ReportedStatus, d.ReportedMessage, d.Attempt, d.LeaseOwner, optionalMicros(d.LeaseExpiresAt), micros(d.LastModifiedAt),
		optionalMicros(d.CompletedAt), d.Version, marshalResources(d.Resources), boolInt(d.Awaiting), d.Request, boolInt(d.RequestOpen), optionalMicros(d.RequestCheckAt)}
	set := ""
	if d.Log != nil {
		args = append(args, d.Log)
		set = ", log = $21"
	}
	n, err := q.W.Exec(ctx, `UPDATE deployments SET status = $3, status_message = $4, initial_state = $5, target_state = $6,
		outputs = $7, reported_status = $8, reported_message = $9, attempt = $10, lease_owner = $11, lease_expires_at = $12,
		last_modified_at = $13, completed_at = $14, resources = $16, awaiting = $17, request = $18, request_open = $19, request_check_at = $20, version = version + 1`+set+`
		WHERE account_id = $1 AND id = $2 AND version = $15`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM deployments WHERE account_id = $1 AND id = $2`, d.AccountID, d.ID)
	if err != nil {
		return wrap(err, "update deployment %s", d.ID)
	}
	d.Version++
	return nil
}

func (q *Queries) DeploymentClaim(ctx context.Context, accountID, id string, attempt int, owner string, now, until time.Time) (*store.Deployment, error) {
	d, err := getOne(ctx, q.W, `UPDATE deployments SET lease_owner = $4, lease_expires_at = $6, version = version + 1
		WHERE account_id = $1 AND id = $2 AND attempt = $3 AND status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS')
		AND (lease_owner = '' OR lease_expires_at < $5) AND awaiting = 0
		RETURNING `+deploymentColumns, []any{accountID, id, attempt, owner, micros(now), micros(until)}, scanDeployment)
	return d, wrap(err, "claim deployment %s", id)
}

func (q *Queries) DeploymentDelete(ctx context.Context, accountID, id string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM deployments WHERE account_id = $1 AND id = $2`, accountID, id)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete deployment %s", id)
}

func (q *Queries) DeploymentList(ctx context.Context, accountID string, f store.DeploymentFilter, p store.Page) ([]*store.Deployment, string, error) {
	args := []any{accountID}
	where := "account_id = $1"
	for _, c := range []struct{ col, val string }{
		{"environment_name", f.EnvironmentName}, {"service_name", f.ServiceName},
		{"service_instance_name", f.ServiceInstanceName}, {"component_name", f.ComponentName},
	} {
		if c.val != "" {
			args = append(args, c.val)
			where += fmt.Sprintf(" AND %s = $%d", c.col, len(args))
		}
	}
	query := fmt.Sprintf(`SELECT `+deploymentColumns+`, sort_key FROM deployments WHERE %s AND sort_key > $%d ORDER BY sort_key LIMIT $%d`,
		where, len(args)+1, len(args)+2)
	out, next, err := page(ctx, q.R, query, args, p, func(r scanner) (*store.Deployment, string, error) {
		var key string
		d, err := scanDeployment(appendScan{r, &key})
		if err != nil {
			return nil, "", err
		}
		return d, key, nil
	})
	return out, next, wrap(err, "list deployments")
}

// appendScan scans one more trailing column into extra.
type appendScan struct {
	r     scanner
	extra any
}

func (a appendScan) Scan(dest ...any) error { return a.r.Scan(append(dest, a.extra)...) }

func (q *Queries) DeploymentsOrphaned(ctx context.Context, now, idleBefore time.Time, limit int) ([]*store.Deployment, error) {
	rows, err := q.R.Query(ctx, `SELECT `+deploymentColumns+` FROM (
		SELECT * FROM deployments WHERE lease_owner <> '' AND lease_expires_at < $1
		UNION ALL
		SELECT * FROM deployments WHERE lease_owner = '' AND status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS')
			AND awaiting = 0 AND last_modified_at < $2
	) o ORDER BY last_modified_at LIMIT $3`, micros(now), micros(idleBefore), limit)
	if err != nil {
		return nil, wrap(err, "orphaned deployments")
	}
	defer rows.Close()
	var out []*store.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, wrap(err, "orphaned deployments")
		}
		out = append(out, d)
	}
	return out, wrap(rows.Err(), "orphaned deployments")
}

func (q *Queries) DeploymentsWithOpenRequest(ctx context.Context, now time.Time, limit int) ([]*store.Deployment, error) {
	rows, err := q.R.Query(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE request_open = 1 AND request_check_at <= $1
		ORDER BY request_check_at LIMIT $2`, micros(now), limit)
	if err != nil {
		return nil, wrap(err, "deployments with open requests")
	}
	defer rows.Close()
	var out []*store.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, wrap(err, "deployments with open requests")
		}
		out = append(out, d)
	}
	return out, wrap(rows.Err(), "deployments with open requests")
}
