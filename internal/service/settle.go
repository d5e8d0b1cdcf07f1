package service

import (
	"context"
	"errors"

	"github.com/openproton/openproton/internal/store"
)

// settleService moves a service on after one of its instances or its pipeline changed:
// while it is created or updated, the pipeline deploys once every instance has and the
// status becomes ACTIVE or *_FAILED; while it is deleted, the pipeline goes after the
// instances and the service last. The caller holds the service's lock (ServiceLock), so
// two deployments finishing at once settle one after the other.
func (s *Service) settleService(ctx context.Context, q store.Queries, svc *store.Service) error {
	switch svc.Status {
	case store.ServiceCreateInProgress, store.ServiceUpdateInProgress:
		return s.settleDeploying(ctx, q, svc)
	case store.ServiceDeleteInProgress:
		return s.settleDeleting(ctx, q, svc)
	}
	return nil
}

// partOfChange reports whether a resource was last deployed by the service's current
// change (create, update or delete): each change numbers what it deploys.
func partOfChange(svc *store.Service, change int64) bool {
	return change == svc.Change
}

func (s *Service) settleDeploying(ctx context.Context, q store.Queries, svc *store.Service) error {
	insts, err := q.ServiceInstancesOf(ctx, svc.AccountID, svc.Name)
	if err != nil {
		return err
	}
	var failed []string
	for _, i := range insts {
		if !partOfChange(svc, i.Change) {
			continue
		}
		if store.InFlight(i.DeploymentStatus) {
			return nil // settles when the last one finishes
		}
		if i.DeploymentStatus != store.StatusSucceeded {
			failed = append(failed, i.Name)
		}
	}
	p, err := s.pipelineOrNil(ctx, q, svc.AccountID, svc.Name)
	if err != nil {
		return err
	}
	creating := svc.Status == store.ServiceCreateInProgress
	if p != nil && p.Pending {
		p.Pending = false
		if len(failed) == 0 {
			// Every instance is deployed: now the pipeline, which sees their outputs.
			p.Change = svc.Change
			var initial *deploymentStateRef
			if p.LastSucceededDeploymentID != "" {
				initial = &deploymentStateRef{state: pipelineState(p), inputs: p.Inputs}
			}
			if _, err := s.startDeployment(ctx, q, s.pipelineDeployment(p, actionProvision, initial)); err != nil {
				return err
			}
			return q.ServicePipelineUpdate(ctx, p)
		}
		if creating {
			p.DeploymentStatus, p.DeploymentStatusMessage = store.StatusFailed, "not deployed: "+failedNames(failed)+" failed to deploy"
		}
		if err := q.ServicePipelineUpdate(ctx, p); err != nil {
			return err
		}
	}
	if p != nil && store.InFlight(p.DeploymentStatus) {
		return nil
	}
	status, message := store.ServiceActive, ""
	failedStatus := store.ServiceUpdateFailed
	if creating {
		failedStatus = store.ServiceCreateFailed
	}
	switch {
	case len(failed) > 0:
		status, message = failedStatus, failedNames(failed)+" failed to deploy"
	case p != nil && partOfChange(svc, p.Change) && p.DeploymentStatus != store.StatusSucceeded:
		status, message = failedStatus, "the service pipeline failed to deploy: "+p.DeploymentStatusMessage
	}
	svc.Status, svc.StatusMessage, svc.LastModifiedAt = status, message, s.now()
	return q.ServiceUpdate(ctx, svc)
}

func (s *Service) settleDeleting(ctx context.Context, q store.Queries, svc *store.Service) error {
	insts, err := q.ServiceInstancesOf(ctx, svc.AccountID, svc.Name)
	if err != nil {
		return err
	}
	var failed []string
	for _, i := range insts {
		if store.InFlight(i.DeploymentStatus) {
			return nil
		}
		failed = append(failed, i.Name) // what is left and not deleting failed to delete
	}
	if len(failed) > 0 {
		svc.Status, svc.StatusMessage = store.ServiceDeleteFailed, failedNames(failed)+" failed to delete"
		return q.ServiceUpdate(ctx, svc)
	}
	p, err := s.pipelineOrNil(ctx, q, svc.AccountID, svc.Name)
	if err != nil {
		return err
	}
	if p != nil {
		switch {
		case p.Pending || p.LastAttemptedDeploymentID == "":
			// Never deployed: nothing to deprovision.
			if err := q.ServicePipelineDelete(ctx, svc.AccountID, svc.Name); err != nil {
				return err
			}
		case p.DeploymentStatus == store.StatusDeleteInProgress:
			return nil
		case p.DeploymentStatus == store.StatusDeleteFailed && partOfChange(svc, p.Change):
			svc.Status, svc.StatusMessage = store.ServiceDeleteFailed, "the service pipeline failed to delete: "+p.DeploymentStatusMessage
			return q.ServiceUpdate(ctx, svc)
		case store.InFlight(p.DeploymentStatus):
			return nil
		default:
			p.Change = svc.Change
			if _, err := s.startDeployment(ctx, q, s.pipelineDeployment(p, actionDeprovision, nil)); err != nil {
				return err
			}
			return q.ServicePipelineUpdate(ctx, p)
		}
	}
	if err := q.ServiceDelete(ctx, svc.AccountID, svc.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Its sync configuration goes with it: a new service of the same name starts unsynced.
	if err := q.ServiceSyncConfigDelete(ctx, svc.AccountID, svc.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return q.TagsDeleteAll(ctx, svc.AccountID, s.serviceARN(svc.AccountID, svc.Name))
}
