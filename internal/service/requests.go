package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openproton/openproton/internal/provision/pullrequest"
	"github.com/openproton/openproton/internal/provision/terraform"
	"github.com/openproton/openproton/internal/store"
)

// Self-managed deployments hand their work on as a request: a pushed branch and, where a
// provider API is configured, a pull request. The watcher keeps deployments and requests in
// step, as Proton did:
//   - a pull request closed without merging cancels the deployment that waits for it;
//   - cancelling a deployment withdraws its request (closes the pull request; without an
//     API, deletes the branch while it still points at the deployment's commit) and only
//     then ends CANCELLED; a request already merged cannot be withdrawn, and the deployment
//     goes back to waiting for its report;
//   - a deployment that ended CANCELLED while it was being handed on gets its request
//     withdrawn afterwards.
//
// Every replica runs the watcher. A request is looked at when due (RequestCheckAt), and each
// look reschedules it, so replicas share the work instead of each checking everything, and
// failing requests wait longer instead of crowding out the rest. Each step is idempotent and
// written under optimistic concurrency.

// WatchRequests runs the watcher until ctx ends, looking for due requests every interval
// (and at once when kicked).
func (s *Service) WatchRequests(ctx context.Context, every time.Duration) {
	s.watchEvery = every
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.checkRequests(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.watchKick:
		}
	}
}

// KickWatcher makes the watcher look for due requests now.
func (s *Service) KickWatcher() { s.kickWatcher() }

func (s *Service) kickWatcher() {
	select {
	case s.watchKick <- struct{}{}:
	default:
	}
}

// watchBatch bounds one pass; the rest are due again at the next.
const watchBatch = 200

// maxFailedRequestWait bounds how long a request whose check failed waits for the next.
const maxFailedRequestWait = 15 * time.Minute

func (s *Service) checkRequests(ctx context.Context) {
	list, err := s.store.DeploymentsWithOpenRequest(ctx, s.now(), watchBatch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing handed-on requests", "err", err)
		}
		return
	}
	for _, d := range list {
		if ctx.Err() != nil {
			return
		}
		err := s.checkRequest(ctx, d)
		if err == nil || ctx.Err() != nil {
			continue
		}
		s.log.Warn("checking a handed-on request", "deployment", d.ID, "err", err)
		// Try again later: the provider may be down or the token revoked.
		s.rescheduleRequest(ctx, d, min(5*s.watchInterval(), maxFailedRequestWait))
	}
}

func (s *Service) watchInterval() time.Duration {
	if s.watchEvery <= 0 {
		return time.Minute
	}
	return s.watchEvery
}

// checkRequest takes one due request a step further.
func (s *Service) checkRequest(ctx context.Context, d *store.Deployment) error {
	var h handoff
	if err := json.Unmarshal([]byte(d.Request), &h); err != nil || s.repos == nil {
		return s.requestDone(ctx, d)
	}
	switch {
	case d.Awaiting && d.Status == store.StatusCancelling:
		merged, err := s.withdraw(ctx, &h)
		if err != nil {
			return err
		}
		return s.txRetrying(ctx, func(q store.Queries) error {
			cur, err := q.DeploymentGet(ctx, d.AccountID, d.ID)
			if err != nil || !cur.Awaiting || cur.Status != store.StatusCancelling {
				return err
			}
			if !merged {
				return s.settleAwaiting(ctx, q, cur, store.StatusCancelled, "Deployment cancelled")
			}
			// Too late to cancel: the change is merged and the automation will report.
			msg := "The cancel was refused: the request " + h.where() + " was merged already; waiting for its report"
			cur.Status, cur.RequestOpen, cur.LastModifiedAt = store.StatusInProgress, h.PullRequest != nil, s.now()
			cur.RequestCheckAt = s.now().Add(s.watchInterval())
			if err := q.DeploymentUpdate(ctx, cur); err != nil {
				return err
			}
			return s.setDeployedStatus(ctx, q, cur, store.StatusInProgress, msg)
		})
	case d.Awaiting && d.Status == store.StatusInProgress:
		api := s.repos.PullRequests(h.Provider, h.Connection)
		if h.PullRequest == nil {
			return s.requestDone(ctx, d) // a branch alone: nothing to watch
		}
		if api == nil {
			// This replica has no API for it (a configuration being rolled out?): leave
			// the request to one that has, or to later.
			s.rescheduleRequest(ctx, d, 5*s.watchInterval())
			return nil
		}
		state, err := api.State(ctx, h.PullRequest)
		if err != nil {
			return err
		}
		if state != pullrequest.Closed {
			// Open, or merged and waiting for the automation's report.
			s.rescheduleRequest(ctx, d, s.watchInterval())
			return nil
		}
		return s.txRetrying(ctx, func(q store.Queries) error {
			cur, err := q.DeploymentGet(ctx, d.AccountID, d.ID)
			if err != nil || !cur.Awaiting || cur.Status != store.StatusInProgress {
				return err
			}
			return s.settleAwaiting(ctx, q, cur, store.StatusCancelled,
				"Pull request "+h.PullRequest.URL+" was closed without merging")
		})
	case d.Status == store.StatusCancelled:
		// Cancelled while it was being handed on: withdraw what was handed on.
		if _, err := s.withdraw(ctx, &h); err != nil {
			return err
		}
	}
	return s.requestDone(ctx, d)
}

// where names a request for messages: its pull request, else its branch.
func (h *handoff) where() string {
	if h.PullRequest != nil {
		return h.PullRequest.URL
	}
	return "branch " + h.Branch
}

// withdraw closes a request: its pull request is closed or, where no API opened one, its
// branch deleted if it still points at the deployment's commit. merged reports a request
// that was merged already and cannot be withdrawn.
func (s *Service) withdraw(ctx context.Context, h *handoff) (merged bool, err error) {
	if h.PullRequest != nil {
		api := s.repos.PullRequests(h.Provider, h.Connection)
		if api == nil {
			return false, fmt.Errorf("no pull request API is configured for %s on this replica", h.Provider)
		}
		err := api.Close(ctx, h.PullRequest)
		if errors.Is(err, pullrequest.ErrMerged) {
			return true, nil
		}
		return false, err
	}
	rem, err := s.remoteOf(h.Provider, h.Repository, h.Connection)
	if err != nil {
		return false, err
	}
	deleted, err := terraform.DeleteBranch(ctx, rem, h.Branch, h.Commit)
	if err != nil || deleted {
		return false, err
	}
	// The branch is gone or moved on: merged into the base branch, or abandoned.
	rem.BaseBranch = h.Base
	return terraform.Merged(ctx, rem, h.Base, h.Commit)
}

// setDeployedStatus sets the status of the resource a deployment is the latest of.
func (s *Service) setDeployedStatus(ctx context.Context, q store.Queries, d *store.Deployment, status, message string) error {
	switch d.TargetType {
	case store.TargetEnvironment:
		e, err := q.EnvironmentGet(ctx, d.AccountID, d.EnvironmentName)
		if err != nil || e.LastAttemptedDeploymentID != d.ID {
			return ignoreNotFound(err)
		}
		e.DeploymentStatus, e.DeploymentStatusMessage = status, message
		return q.EnvironmentUpdate(ctx, e)
	case store.TargetServiceInstance:
		i, err := q.ServiceInstanceGet(ctx, d.AccountID, d.ServiceName, d.ServiceInstanceName)
		if err != nil || i.LastAttemptedDeploymentID != d.ID {
			return ignoreNotFound(err)
		}
		i.DeploymentStatus, i.DeploymentStatusMessage = status, message
		return q.ServiceInstanceUpdate(ctx, i)
	case store.TargetServicePipeline:
		p, err := q.ServicePipelineGet(ctx, d.AccountID, d.ServiceName)
		if err != nil || p.LastAttemptedDeploymentID != d.ID {
			return ignoreNotFound(err)
		}
		p.DeploymentStatus, p.DeploymentStatusMessage = status, message
		return q.ServicePipelineUpdate(ctx, p)
	case store.TargetComponent:
		c, err := q.ComponentGet(ctx, d.AccountID, d.Component)
		if err != nil || c.LastAttemptedDeploymentID != d.ID {
			return ignoreNotFound(err)
		}
		c.DeploymentStatus, c.DeploymentStatusMessage = status, message
		return q.ComponentUpdate(ctx, c)
	}
	return nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// cancelHandedOn cancels a deployment that waits for its report. One handed on through a
// request becomes CANCELLING, and the watcher ends it once the request is withdrawn; one
// without (nothing was handed on) is CANCELLED at once (settled).
func (s *Service) cancelHandedOn(ctx context.Context, q store.Queries, d *store.Deployment) (settled bool, err error) {
	if d.Request == "" {
		return true, s.settleAwaiting(ctx, q, d, store.StatusCancelled, "Deployment cancelled")
	}
	d.Status, d.RequestOpen, d.LastModifiedAt = store.StatusCancelling, true, s.now()
	d.RequestCheckAt = time.Time{} // due now
	return false, q.DeploymentUpdate(ctx, d)
}

// rescheduleRequest makes d's request due again after wait; a concurrent change wins.
func (s *Service) rescheduleRequest(ctx context.Context, d *store.Deployment, wait time.Duration) {
	err := s.store.Tx(ctx, func(q store.Queries) error {
		cur, err := q.DeploymentGet(ctx, d.AccountID, d.ID)
		if err != nil || !cur.RequestOpen || cur.Version != d.Version {
			return ignoreNotFound(err)
		}
		cur.RequestCheckAt = s.now().Add(wait)
		return q.DeploymentUpdate(ctx, cur)
	})
	if err != nil && !errors.Is(err, store.ErrConflict) && ctx.Err() == nil {
		s.log.Warn("rescheduling a handed-on request", "deployment", d.ID, "err", err)
	}
}

// requestDone marks d's request as needing nothing more, unless the deployment moved on
// meanwhile (a cancel that now wants the request withdrawn): the next pass looks again.
func (s *Service) requestDone(ctx context.Context, d *store.Deployment) error {
	return s.txRetrying(ctx, func(q store.Queries) error {
		cur, err := q.DeploymentGet(ctx, d.AccountID, d.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || !cur.RequestOpen || cur.Status != d.Status || cur.Awaiting != d.Awaiting {
			return err
		}
		cur.RequestOpen = false
		return q.DeploymentUpdate(ctx, cur)
	})
}
