package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/store"
)

// Deployments: the history of every resource's deployments, and the channel through which a
// running deployment reports back (NotifyResourceDeploymentStatusChange).

func (s *Service) deploymentARN(accountID, id string) string {
	return s.arn(accountID, "deployment/"+id)
}

func (s *Service) deploymentOut(d *store.Deployment) *types.Deployment {
	out := &types.Deployment{
		Id: d.ID, Arn: s.deploymentARN(d.AccountID, d.ID), TargetArn: d.TargetARN,
		TargetResourceCreatedAt: types.TimeOf(d.TargetCreatedAt), TargetResourceType: types.DeploymentTargetResourceType(d.TargetType),
		EnvironmentName: d.EnvironmentName, ServiceName: d.ServiceName, ServiceInstanceName: d.ServiceInstanceName,
		ComponentName: d.Component, DeploymentStatus: types.DeploymentStatus(d.Status), DeploymentStatusMessage: d.StatusMessage,
		CreatedAt: types.TimeOf(d.CreatedAt), LastModifiedAt: types.TimeOf(d.LastModifiedAt),
		LastAttemptedDeploymentId: d.LastAttemptedDeploymentID, LastSucceededDeploymentId: d.LastSucceededDeploymentID,
		InitialState: unmarshalState(d.InitialState), TargetState: unmarshalState(d.TargetState),
	}
	if !d.CompletedAt.IsZero() {
		out.CompletedAt = types.TimeOf(d.CompletedAt)
	}
	return out
}

func unmarshalState(raw string) *types.DeploymentState {
	if raw == "" {
		return nil
	}
	var st types.DeploymentState
	if json.Unmarshal([]byte(raw), &st) != nil {
		return nil
	}
	return &st
}

func (s *Service) deploymentSummaryOut(d *store.Deployment) types.DeploymentSummary {
	o := s.deploymentOut(d)
	return types.DeploymentSummary{
		Id: o.Id, Arn: o.Arn, TargetArn: o.TargetArn, TargetResourceCreatedAt: o.TargetResourceCreatedAt,
		TargetResourceType: o.TargetResourceType, CreatedAt: o.CreatedAt, LastModifiedAt: o.LastModifiedAt,
		CompletedAt: o.CompletedAt, EnvironmentName: o.EnvironmentName, ServiceName: o.ServiceName,
		ServiceInstanceName: o.ServiceInstanceName, ComponentName: o.ComponentName,
		LastAttemptedDeploymentId: o.LastAttemptedDeploymentId, LastSucceededDeploymentId: o.LastSucceededDeploymentId,
		DeploymentStatus: o.DeploymentStatus,
	}
}

func (s *Service) GetDeployment(ctx context.Context, in *types.GetDeploymentInput) (*types.GetDeploymentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.store.DeploymentGet(ctx, c.AccountID, in.Id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !matches(d, in.EnvironmentName, in.ServiceName, in.ServiceInstanceName, in.ComponentName)) {
		return nil, api.NotFoundf("deployment %s not found", in.Id)
	}
	if err != nil {
		return nil, err
	}
	return &types.GetDeploymentOutput{Deployment: s.deploymentOut(d)}, nil
}

// matches checks the optional names GetDeployment may qualify an id with.
func matches(d *store.Deployment, env, svc, inst, comp string) bool {
	return (env == "" || env == d.EnvironmentName) && (svc == "" || svc == d.ServiceName) &&
		(inst == "" || inst == d.ServiceInstanceName) && (comp == "" || comp == d.Component)
}

func (s *Service) ListDeployments(ctx context.Context, in *types.ListDeploymentsInput) (*types.ListDeploymentsOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if in.ServiceInstanceName != "" && in.ServiceName == "" {
		return nil, api.Validationf("serviceName is required with serviceInstanceName")
	}
	f := store.DeploymentFilter{EnvironmentName: in.EnvironmentName, ServiceName: in.ServiceName,
		ServiceInstanceName: in.ServiceInstanceName, ComponentName: in.ComponentName}
	scope := "deployments/" + c.AccountID + "/" + paramsHash(f)
	p, err := s.openPage(scope, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	list, next, err := s.store.DeploymentList(ctx, c.AccountID, f, p)
	if err != nil {
		return nil, err
	}
	out := &types.ListDeploymentsOutput{Deployments: []types.DeploymentSummary{}, NextToken: s.sealPage(scope, next)}
	for _, d := range list {
		out.Deployments = append(out.Deployments, s.deploymentSummaryOut(d))
	}
	return out, nil
}

// DeleteDeployment removes a finished deployment from the history; one still in flight is a
// ConflictException. Deleting a deployment that is gone succeeds with an empty answer.
func (s *Service) DeleteDeployment(ctx context.Context, in *types.DeleteDeploymentInput) (*types.DeleteDeploymentOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Deployment
	err = s.store.Tx(ctx, func(q store.Queries) error {
		d, err := q.DeploymentGet(ctx, c.AccountID, in.Id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if store.InFlight(d.Status) {
			return api.Validationf("deployment %s is %s; only finished deployments can be deleted", d.ID, d.Status)
		}
		if d.RequestOpen {
			return api.Conflictf("deployment %s: its pull request or branch is still being withdrawn; retry shortly", d.ID)
		}
		out = d
		return q.DeploymentDelete(ctx, c.AccountID, d.ID)
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return &types.DeleteDeploymentOutput{}, nil
	}
	return &types.DeleteDeploymentOutput{Deployment: s.deploymentOut(out)}, nil
}

// NotifyResourceDeploymentStatusChange records what a deployment's own commands report: its
// outputs, and a status the deployment ends with when the commands finish. The resource's
// deployment must be in flight, and a deployment's credential may only report on its own
// deployment.
func (s *Service) NotifyResourceDeploymentStatusChange(ctx context.Context, in *types.NotifyResourceDeploymentStatusChangeInput) (*types.NotifyResourceDeploymentStatusChangeOutput, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, ok := parseARN(in.ResourceArn)
	if !ok || p.AccountID != c.AccountID || p.Region != s.region {
		return nil, api.NotFoundf("resource %s not found", in.ResourceArn)
	}
	seen := map[string]bool{}
	for _, o := range in.Outputs {
		if o.Key == "" {
			return nil, api.Validationf("outputs: every output needs a key")
		}
		if seen[o.Key] {
			return nil, api.Validationf("outputs: key %q is given twice", o.Key)
		}
		seen[o.Key] = true
	}
	err = s.txRetrying(ctx, func(q store.Queries) error {
		id, err := currentDeployment(ctx, q, c.AccountID, p)
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFoundf("resource %s not found", in.ResourceArn)
		}
		if err != nil {
			return err
		}
		if in.DeploymentId != "" && in.DeploymentId != id {
			return api.Validationf("deploymentId %s is not the resource's current deployment", in.DeploymentId)
		}
		if c.Role == auth.RoleDeployment && c.DeploymentID != id {
			return api.AccessDeniedf("this credential belongs to another deployment")
		}
		d, err := q.DeploymentGet(ctx, c.AccountID, id)
		if errors.Is(err, store.ErrNotFound) {
			return api.Conflictf("%s has no deployment in progress", in.ResourceArn)
		}
		if err != nil {
			return err
		}
		if !store.InFlight(d.Status) {
			return api.Conflictf("deployment %s of %s is %s; only a deployment in progress takes notifications", d.ID, in.ResourceArn, d.Status)
		}
		reported := make([]store.Output, 0, len(in.Outputs))
		for _, o := range in.Outputs {
			reported = append(reported, store.Output{Key: o.Key, Value: o.ValueString})
		}
		d.Outputs = store.SetOutputs(d.Outputs, reported)
		switch in.Status {
		case types.ResourceDeploymentStatusFailed, types.ResourceDeploymentStatusSucceeded:
			d.ReportedStatus, d.ReportedMessage = string(in.Status), deref(in.StatusMessage)
			if d.Awaiting {
				// The report a handed-on deployment waited for: it ends now.
				return s.settleAwaiting(ctx, q, d, string(in.Status), deref(in.StatusMessage))
			}
		}
		d.LastModifiedAt = s.now()
		return q.DeploymentUpdate(ctx, d)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, api.Conflictf("the deployment of %s changed meanwhile; retry", in.ResourceArn)
	}
	if err != nil {
		return nil, err
	}
	return &types.NotifyResourceDeploymentStatusChangeOutput{}, nil
}

// DeploymentLog returns a deployment's captured output (the last 256 KiB); for one still
// running, its output so far (saved every 2 seconds).
func (s *Service) DeploymentLog(ctx context.Context, id string) ([]byte, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	log, err := s.store.DeploymentLog(ctx, c.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFoundf("deployment %s not found", id)
	}
	return log, err
}

// currentDeployment returns the id of the latest deployment of the resource an ARN names;
// store.ErrNotFound when there is no such resource.
func currentDeployment(ctx context.Context, q store.Queries, accountID string, p parsedARN) (string, error) {
	parts := strings.Split(p.Path, "/")
	switch {
	case p.Type == "environment" && len(parts) == 1:
		e, err := q.EnvironmentGet(ctx, accountID, parts[0])
		if err != nil {
			return "", err
		}
		return e.LastAttemptedDeploymentID, nil
	case p.Type == "service" && len(parts) == 3 && parts[1] == "service-instance":
		i, err := q.ServiceInstanceGet(ctx, accountID, parts[0], parts[2])
		if err != nil {
			return "", err
		}
		return i.LastAttemptedDeploymentID, nil
	case p.Type == "component" && len(parts) == 1:
		c, err := q.ComponentGet(ctx, accountID, parts[0])
		if err != nil {
			return "", err
		}
		return c.LastAttemptedDeploymentID, nil
	case p.Type == "service" && (len(parts) == 2 || len(parts) == 3) && parts[1] == "pipeline":
		sp, err := q.ServicePipelineGet(ctx, accountID, parts[0])
		if err != nil {
			return "", err
		}
		return sp.LastAttemptedDeploymentID, nil
	}
	return "", store.ErrNotFound
}

// settleAwaiting ends a deployment that was handed on (see store.Deployment.Awaiting) with
// status, and applies it to its resource as the runner would have. Its request needs no
// more watching.
func (s *Service) settleAwaiting(ctx context.Context, q store.Queries, d *store.Deployment, status, message string) error {
	now := s.now()
	d.Status, d.StatusMessage, d.Awaiting, d.CompletedAt, d.LastModifiedAt = status, message, false, now, now
	d.RequestOpen = false
	if d.Log == nil {
		d.Log = []byte{}
	}
	if err := q.DeploymentUpdate(ctx, d); err != nil {
		return err
	}
	return (&Deployer{s: s}).Finish(ctx, q, d)
}
