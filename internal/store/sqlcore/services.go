package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/openproton/openproton/internal/store"
)

const serviceColumns = `account_id, name, description, template_name, spec, status, status_message,
	repository_connection_arn, repository_id, branch_name, change, created_at, last_modified_at, version`

func scanService(r scanner) (*store.Service, error) {
	var s store.Service
	var created, modified int64
	if err := r.Scan(&s.AccountID, &s.Name, &s.Description, &s.TemplateName, &s.Spec, &s.Status, &s.StatusMessage,
		&s.RepositoryConnectionArn, &s.RepositoryID, &s.BranchName, &s.Change, &created, &modified, &s.Version); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastModifiedAt = fromMicros(created), fromMicros(modified)
	return &s, nil
}

func serviceArgs(s *store.Service) []any {
	return []any{s.AccountID, s.Name, s.Description, s.TemplateName, s.Spec, s.Status, s.StatusMessage,
		s.RepositoryConnectionArn, s.RepositoryID, s.BranchName, s.Change, micros(s.CreatedAt), micros(s.LastModifiedAt)}
}

func (q *Queries) ServiceCreate(ctx context.Context, s *store.Service) error {
	err := insert(ctx, q.W, `INSERT INTO services (`+serviceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)
		ON CONFLICT DO NOTHING`, serviceArgs(s)...)
	if err != nil {
		return wrap(err, "create service %s", s.Name)
	}
	s.Version = 1
	return nil
}

func (q *Queries) ServiceGet(ctx context.Context, accountID, name string) (*store.Service, error) {
	s, err := getOne(ctx, q.R, `SELECT `+serviceColumns+` FROM services WHERE account_id = $1 AND name = $2`,
		[]any{accountID, name}, scanService)
	return s, wrap(err, "service %s", name)
}

func (q *Queries) ServiceLock(ctx context.Context, accountID, name string) (*store.Service, error) {
	s, err := getOne(ctx, q.W, `UPDATE services SET version = version + 1 WHERE account_id = $1 AND name = $2 RETURNING `+serviceColumns,
		[]any{accountID, name}, scanService)
	return s, wrap(err, "lock service %s", name)
}

func (q *Queries) ServiceUpdate(ctx context.Context, s *store.Service) error {
	args := append(serviceArgs(s), s.Version)
	n, err := q.W.Exec(ctx, `UPDATE services SET description = $3, template_name = $4, spec = $5, status = $6, status_message = $7,
		repository_connection_arn = $8, repository_id = $9, branch_name = $10, change = $11, created_at = $12, last_modified_at = $13,
		version = version + 1 WHERE account_id = $1 AND name = $2 AND version = $14`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM services WHERE account_id = $1 AND name = $2`, s.AccountID, s.Name)
	if err != nil {
		return wrap(err, "update service %s", s.Name)
	}
	s.Version++
	return nil
}

func (q *Queries) ServiceDelete(ctx context.Context, accountID, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM services WHERE account_id = $1 AND name = $2`, accountID, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete service %s", name)
}

func (q *Queries) ServiceList(ctx context.Context, accountID string, p store.Page) ([]*store.Service, string, error) {
	out, next, err := page(ctx, q.R, `SELECT `+serviceColumns+` FROM services WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT $3`,
		[]any{accountID}, p, func(r scanner) (*store.Service, string, error) {
			s, err := scanService(r)
			if err != nil {
				return nil, "", err
			}
			return s, s.Name, nil
		})
	return out, next, wrap(err, "list services")
}

func (q *Queries) ServiceCount(ctx context.Context, accountID string) (int, error) {
	n, err := count(ctx, q.R, `SELECT count(*) FROM services WHERE account_id = $1`, accountID)
	return n, wrap(err, "count services")
}

// deployedColumns are the columns of store.Deployed, shared by instances and pipelines.
const deployedColumns = `template_name, template_major, template_minor, spec, deployment_status, deployment_status_message,
	last_attempted_deployment, last_succeeded_deployment, last_attempted_at, last_succeeded_at, inputs, outputs`

// deployedTargets returns scan destinations for deployedColumns and a function that
// finishes decoding after the scan.
func deployedTargets(d *store.Deployed) ([]any, func() error) {
	var attempted, succeeded int64
	var outputs string
	targets := []any{&d.TemplateName, &d.TemplateMajor, &d.TemplateMinor, &d.Spec, &d.DeploymentStatus, &d.DeploymentStatusMessage,
		&d.LastAttemptedDeploymentID, &d.LastSucceededDeploymentID, &attempted, &succeeded, &d.Inputs, &outputs}
	return targets, func() error {
		d.LastDeploymentAttemptedAt, d.LastDeploymentSucceededAt = fromMicros(attempted), fromMicros(succeeded)
		return unmarshalOutputs(outputs, &d.Outputs)
	}
}

func deployedArgs(d *store.Deployed) []any {
	return []any{d.TemplateName, d.TemplateMajor, d.TemplateMinor, d.Spec, d.DeploymentStatus, d.DeploymentStatusMessage,
		d.LastAttemptedDeploymentID, d.LastSucceededDeploymentID, micros(d.LastDeploymentAttemptedAt),
		micros(d.LastDeploymentSucceededAt), d.Inputs, marshalOutputs(d.Outputs)}
}

// deployedSet is the SET list for deployedColumns starting at parameter $first.
func deployedSet(first int) string {
	cols := strings.Split(deployedColumns, ",")
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s = $%d", strings.TrimSpace(c), first+i)
	}
	return strings.Join(parts, ", ")
}

const instanceColumns = `account_id, service_name, name, environment_name, ` + deployedColumns + `, last_client_token, change, created_at, version`

func scanInstance(r scanner) (*store.ServiceInstance, error) {
	var i store.ServiceInstance
	var created int64
	dt, done := deployedTargets(&i.Deployed)
	dest := append([]any{&i.AccountID, &i.ServiceName, &i.Name, &i.EnvironmentName}, dt...)
	dest = append(dest, &i.LastClientRequestToken, &i.Change, &created, &i.Version)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	i.CreatedAt = fromMicros(created)
	if err := done(); err != nil {
		return nil, fmt.Errorf("service instance %s/%s outputs: %w", i.ServiceName, i.Name, err)
	}
	return &i, nil
}

func instanceArgs(i *store.ServiceInstance) []any {
	args := append([]any{i.AccountID, i.ServiceName, i.Name, i.EnvironmentName}, deployedArgs(&i.Deployed)...)
	return append(args, i.LastClientRequestToken, i.Change, micros(i.CreatedAt))
}

func (q *Queries) ServiceInstanceCreate(ctx context.Context, i *store.ServiceInstance) error {
	err := insert(ctx, q.W, `INSERT INTO service_instances (`+instanceColumns+`) VALUES (`+placeholders(1, 19)+`, 1) ON CONFLICT DO NOTHING`,
		instanceArgs(i)...)
	if err != nil {
		return wrap(err, "create service instance %s/%s", i.ServiceName, i.Name)
	}
	i.Version = 1
	return nil
}

func (q *Queries) ServiceInstanceGet(ctx context.Context, accountID, serviceName, name string) (*store.ServiceInstance, error) {
	i, err := getOne(ctx, q.R, `SELECT `+instanceColumns+` FROM service_instances WHERE account_id = $1 AND service_name = $2 AND name = $3`,
		[]any{accountID, serviceName, name}, scanInstance)
	return i, wrap(err, "service instance %s/%s", serviceName, name)
}

func (q *Queries) ServiceInstanceUpdate(ctx context.Context, i *store.ServiceInstance) error {
	args := append(instanceArgs(i), i.Version)
	n, err := q.W.Exec(ctx, `UPDATE service_instances SET environment_name = $4, `+deployedSet(5)+`, last_client_token = $17,
		change = $18, created_at = $19, version = version + 1 WHERE account_id = $1 AND service_name = $2 AND name = $3 AND version = $20`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM service_instances WHERE account_id = $1 AND service_name = $2 AND name = $3`,
		i.AccountID, i.ServiceName, i.Name)
	if err != nil {
		return wrap(err, "update service instance %s/%s", i.ServiceName, i.Name)
	}
	i.Version++
	return nil
}

func (q *Queries) ServiceInstanceDelete(ctx context.Context, accountID, serviceName, name string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM service_instances WHERE account_id = $1 AND service_name = $2 AND name = $3`, accountID, serviceName, name)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete service instance %s/%s", serviceName, name)
}

func (q *Queries) ServiceInstancesOf(ctx context.Context, accountID, serviceName string) ([]*store.ServiceInstance, error) {
	rows, err := q.R.Query(ctx, `SELECT `+instanceColumns+` FROM service_instances WHERE account_id = $1 AND service_name = $2 ORDER BY name`,
		accountID, serviceName)
	if err != nil {
		return nil, wrap(err, "instances of service %s", serviceName)
	}
	defer rows.Close()
	var out []*store.ServiceInstance
	for rows.Next() {
		i, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, wrap(rows.Err(), "instances of service %s", serviceName)
}

func (q *Queries) ServiceInstanceCountInEnvironment(ctx context.Context, accountID, environmentName string) (int, error) {
	n, err := count(ctx, q.R, `SELECT count(*) FROM service_instances WHERE account_id = $1 AND environment_name = $2`, accountID, environmentName)
	return n, wrap(err, "count service instances in environment %s", environmentName)
}

// instanceOrder maps a list order to its leading column; every order continues with
// (service_name, name), which makes the key unique.
var instanceOrder = map[string]string{
	store.SortByServiceName: "", store.SortByName: "name", store.SortByStatus: "deployment_status",
	store.SortByTemplateName: "template_name", store.SortByEnvironment: "environment_name",
	store.SortByLastAttempted: "last_attempted_at", store.SortByCreatedAt: "created_at",
}

// instanceKey is a page position: the last row's sort columns.
type instanceKey struct {
	Lead    any    `json:"l,omitempty"`
	Service string `json:"s"`
	Name    string `json:"n"`
}

func (q *Queries) ServiceInstanceList(ctx context.Context, accountID string, f store.ServiceInstanceFilter, p store.Page) ([]*store.ServiceInstance, string, error) {
	lead, ok := instanceOrder[f.SortBy]
	if f.SortBy == "" {
		lead, ok = "", true
	}
	if !ok {
		return nil, "", fmt.Errorf("list service instances: unknown order %q", f.SortBy)
	}
	args := []any{accountID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where := []string{"account_id = $1"}
	if f.Service != "" {
		where = append(where, "service_name = "+arg(f.Service))
	}
	anyOf := func(col string, values []string) {
		if len(values) == 0 {
			return
		}
		ps := make([]string, len(values))
		for i, v := range values {
			ps[i] = arg(v)
		}
		where = append(where, col+" IN ("+strings.Join(ps, ", ")+")")
	}
	anyOf("name", f.Names)
	anyOf("deployment_status", f.Statuses)
	anyOf("template_name", f.TemplateNames)
	anyOf("service_name", f.ServiceNames)
	anyOf("environment_name", f.EnvironmentNames)
	if len(f.VersionStatuses) > 0 {
		ps := make([]string, len(f.VersionStatuses))
		for i, v := range f.VersionStatuses {
			ps[i] = arg(v)
		}
		where = append(where, `EXISTS (SELECT 1 FROM template_versions v WHERE v.account_id = service_instances.account_id
			AND v.template_type = 'SERVICE' AND v.template_name = service_instances.template_name
			AND v.major = service_instances.template_major AND v.minor = service_instances.template_minor
			AND v.status IN (`+strings.Join(ps, ", ")+`))`)
	}
	timeBound := func(col, op string, t interface{ IsZero() bool }, v int64) {
		if !t.IsZero() {
			where = append(where, col+" "+op+" "+arg(v))
		}
	}
	timeBound("last_attempted_at", "<", f.AttemptedBefore, micros(f.AttemptedBefore))
	timeBound("last_attempted_at", ">", f.AttemptedAfter, micros(f.AttemptedAfter))
	timeBound("created_at", "<", f.CreatedBefore, micros(f.CreatedBefore))
	timeBound("created_at", ">", f.CreatedAfter, micros(f.CreatedAfter))

	cols := []string{"service_name", "name"}
	if lead != "" {
		cols = []string{lead, "service_name", "name"}
	}
	dir, cmp := "ASC", ">"
	if f.Descending {
		dir, cmp = "DESC", "<"
	}
	if p.After != "" {
		var k instanceKey
		if err := json.Unmarshal([]byte(p.After), &k); err != nil {
			return nil, "", fmt.Errorf("list service instances: bad page key: %w", err)
		}
		vals := []string{arg(k.Service), arg(k.Name)}
		if lead != "" {
			v := k.Lead
			if f, isNum := v.(float64); isNum {
				v = int64(f)
			}
			vals = append([]string{arg(v)}, vals...)
		}
		where = append(where, "("+strings.Join(cols, ", ")+") "+cmp+" ("+strings.Join(vals, ", ")+")")
	}
	order := make([]string, len(cols))
	for i, c := range cols {
		order[i] = c + " " + dir
	}
	size := p.Size()
	query := `SELECT ` + instanceColumns + ` FROM service_instances WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ` + arg(size+1)
	rows, err := q.R.Query(ctx, query, args...)
	if err != nil {
		return nil, "", wrap(err, "list service instances")
	}
	defer rows.Close()
	var out []*store.ServiceInstance
	for rows.Next() {
		i, err := scanInstance(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap(err, "list service instances")
	}
	if len(out) <= size {
		return out, "", nil
	}
	out = out[:size]
	last := out[size-1]
	k := instanceKey{Service: last.ServiceName, Name: last.Name}
	switch lead {
	case "name":
		k.Lead = last.Name
	case "deployment_status":
		k.Lead = last.DeploymentStatus
	case "template_name":
		k.Lead = last.TemplateName
	case "environment_name":
		k.Lead = last.EnvironmentName
	case "last_attempted_at":
		k.Lead = micros(last.LastDeploymentAttemptedAt)
	case "created_at":
		k.Lead = micros(last.CreatedAt)
	}
	raw, _ := json.Marshal(k)
	return out, string(raw), nil
}

const pipelineColumns = `account_id, service_name, ` + deployedColumns + `, pending, change, created_at, version`

func scanPipeline(r scanner) (*store.ServicePipeline, error) {
	var sp store.ServicePipeline
	var created int64
	dt, done := deployedTargets(&sp.Deployed)
	var pending int64
	dest := append([]any{&sp.AccountID, &sp.ServiceName}, dt...)
	dest = append(dest, &pending, &sp.Change, &created, &sp.Version)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	sp.Pending = pending != 0
	sp.CreatedAt = fromMicros(created)
	if err := done(); err != nil {
		return nil, fmt.Errorf("pipeline of %s outputs: %w", sp.ServiceName, err)
	}
	return &sp, nil
}

func pipelineArgs(sp *store.ServicePipeline) []any {
	pending := 0
	if sp.Pending {
		pending = 1
	}
	args := append([]any{sp.AccountID, sp.ServiceName}, deployedArgs(&sp.Deployed)...)
	return append(args, pending, sp.Change, micros(sp.CreatedAt))
}

func (q *Queries) ServicePipelineCreate(ctx context.Context, sp *store.ServicePipeline) error {
	err := insert(ctx, q.W, `INSERT INTO service_pipelines (`+pipelineColumns+`) VALUES (`+placeholders(1, 17)+`, 1) ON CONFLICT DO NOTHING`,
		pipelineArgs(sp)...)
	if err != nil {
		return wrap(err, "create pipeline of %s", sp.ServiceName)
	}
	sp.Version = 1
	return nil
}

func (q *Queries) ServicePipelineGet(ctx context.Context, accountID, serviceName string) (*store.ServicePipeline, error) {
	sp, err := getOne(ctx, q.R, `SELECT `+pipelineColumns+` FROM service_pipelines WHERE account_id = $1 AND service_name = $2`,
		[]any{accountID, serviceName}, scanPipeline)
	return sp, wrap(err, "pipeline of %s", serviceName)
}

func (q *Queries) ServicePipelineUpdate(ctx context.Context, sp *store.ServicePipeline) error {
	args := append(pipelineArgs(sp), sp.Version)
	n, err := q.W.Exec(ctx, `UPDATE service_pipelines SET `+deployedSet(3)+`, pending = $15, change = $16,
		created_at = $17, version = version + 1 WHERE account_id = $1 AND service_name = $2 AND version = $18`, args...)
	err = q.versionedWrite(ctx, n, err, `SELECT count(*) FROM service_pipelines WHERE account_id = $1 AND service_name = $2`,
		sp.AccountID, sp.ServiceName)
	if err != nil {
		return wrap(err, "update pipeline of %s", sp.ServiceName)
	}
	sp.Version++
	return nil
}

func (q *Queries) ServicePipelineDelete(ctx context.Context, accountID, serviceName string) error {
	n, err := q.W.Exec(ctx, `DELETE FROM service_pipelines WHERE account_id = $1 AND service_name = $2`, accountID, serviceName)
	return wrap(mustAffect(n, err, store.ErrNotFound), "delete pipeline of %s", serviceName)
}

func (q *Queries) ServiceTemplateCountUsing(ctx context.Context, accountID, templateName string, major, minor int) (int, error) {
	cond := `account_id = $1 AND template_name = $2 AND template_major = $3`
	args := []any{accountID, templateName, major}
	if minor >= 0 {
		cond += ` AND template_minor = $4`
		args = append(args, minor)
	}
	n, err := count(ctx, q.R, `SELECT (SELECT count(*) FROM service_instances WHERE `+cond+`) + (SELECT count(*) FROM service_pipelines WHERE `+cond+`)`, args...)
	return n, wrap(err, "count users of service template %s:%d", templateName, major)
}
