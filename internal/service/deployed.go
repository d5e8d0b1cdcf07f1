package service

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/deploy"
	"github.com/openproton/openproton/internal/store"
)

// What service instances and pipelines share: a store.Deployed record, deployments started
// for it, and outcomes applied to it.

// deploymentRequest is a deployment to start for a resource keeping a store.Deployed.
type deploymentRequest struct {
	accountID, targetType, arn string
	targetCreatedAt            time.Time
	env, service, instance     string
	component                  string
	action                     string
	// dep is already set to the target (for a deletion: to what is being deleted); its
	// status and attempt fields are set here.
	dep *store.Deployed
	// target is dep's state; initial what the resource had before (nil for a new resource),
	// with initialInputs its inputs then.
	target, initial *types.DeploymentState
	initialInputs   string
}

// startDeployment stores the deployment and enqueues its job in q.
func (s *Service) startDeployment(ctx context.Context, q store.Queries, r deploymentRequest) (*store.Deployment, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := s.now()
	status := store.StatusInProgress
	d := &store.Deployment{
		ID: id.String(), AccountID: r.accountID, TargetType: r.targetType, TargetARN: r.arn, TargetCreatedAt: r.targetCreatedAt,
		EnvironmentName: r.env, ServiceName: r.service, ServiceInstanceName: r.instance, Component: r.component, Action: r.action,
		InitialState: marshalState(r.initial), TargetState: marshalState(r.target), Inputs: r.dep.Inputs, InitialInputs: r.initialInputs,
		LastAttemptedDeploymentID: r.dep.LastAttemptedDeploymentID, LastSucceededDeploymentID: r.dep.LastSucceededDeploymentID,
		CreatedAt: now, LastModifiedAt: now,
	}
	if r.action == actionDeprovision {
		status = store.StatusDeleteInProgress
		d.TargetState, d.Inputs = "", ""
		d.InitialState, d.InitialInputs = marshalState(r.target), r.dep.Inputs
	}
	d.Status = status
	if err := q.DeploymentCreate(ctx, d); err != nil {
		return nil, err
	}
	r.dep.DeploymentStatus, r.dep.DeploymentStatusMessage = status, ""
	r.dep.LastAttemptedDeploymentID, r.dep.LastDeploymentAttemptedAt = d.ID, now
	if err := s.queue.EnqueueTx(ctx, q, deploy.Args{AccountID: d.AccountID, DeploymentID: d.ID}, nil); err != nil {
		return nil, err
	}
	return d, nil
}

// applyOutcome records a finished deployment d on the resource it deployed: success sets
// outputs; a failed or cancelled update restores the spec, version and inputs the resource
// had (from d's initial state, which restore reads). It reports whether the resource is
// now deleted.
func applyOutcome(dep *store.Deployed, d *store.Deployment, restore func(st *types.DeploymentState) (spec, name, major, minor string, ok bool)) (deleted bool) {
	dep.DeploymentStatus, dep.DeploymentStatusMessage = d.Status, d.StatusMessage
	switch d.Status {
	case store.StatusSucceeded:
		dep.LastSucceededDeploymentID, dep.LastDeploymentSucceededAt, dep.Outputs = d.ID, d.CompletedAt, d.Outputs
	case store.StatusFailed, store.StatusCancelled:
		var initial types.DeploymentState
		if d.InitialState == "" || json.Unmarshal([]byte(d.InitialState), &initial) != nil {
			return false
		}
		if spec, name, major, minor, ok := restore(&initial); ok {
			dep.Spec, dep.TemplateName = spec, name
			dep.TemplateMajor, _ = strconv.Atoi(major)
			dep.TemplateMinor, _ = strconv.Atoi(minor)
			dep.Inputs = d.InitialInputs
		}
	case store.StatusDeleteComplete:
		return true
	}
	return false
}

// deployedInputs are the inputs a resource deploys with now, for ${Proton::CURRENT_VAL}.
func deployedInputs(raw string) map[string]any {
	m, err := bundle.DecodeInputs(raw)
	if err != nil {
		return nil
	}
	return m
}

// outputsMap turns outputs into the {key: value} object the parameter namespace uses.
func outputsMap(list []store.Output) map[string]any {
	out := make(map[string]any, len(list))
	for _, o := range list {
		out[o.Key] = o.Value
	}
	return out
}

// lastSucceededAt is what the model requires in lastDeploymentSucceededAt: before any
// success Proton reports the creation time.
func lastSucceededAt(dep *store.Deployed, created time.Time) types.Timestamp {
	if dep.LastDeploymentSucceededAt.IsZero() || dep.LastDeploymentSucceededAt.Unix() <= 0 {
		return types.TimeOf(created)
	}
	return types.TimeOf(dep.LastDeploymentSucceededAt)
}
