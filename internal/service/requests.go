package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/openproton/openproton/internal/provision/pullrequest"
	"github.com/openproton/openproton/internal/provision/terraform"
	"github.com/openproton/openproton/internal/store"
)

// WatchRequests keeps self-managed deployments and their pull requests in step until ctx
// ends. As on Proton, a pull request closed without merging cancels the deployment that
// waits for it, and cancelling a deployment closes its pull request (without a provider
// API: deletes its branch, if nobody moved it on). Every replica may run it: each step is
// idempotent and written under optimistic concurrency.
func (s *Service) WatchRequests(ctx context.Context, every time.Duration) {
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

func (s *Service) kickWatcher() {
	select {
	case s.watchKick <- struct{}{}:
	default:
	}
}

// watchBatch bounds one pass; the rest wait for the next.
const watchBatch = 1000

func (s *Service) checkRequests(ctx context.Context) {
	list, err := s.store.DeploymentsWithOpenRequest(ctx, watchBatch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing handed-on requests", "err", err)
		}
		return
	}
	for _, d := range list {
		if err := s.checkRequest(ctx, d); err != nil && ctx.Err() == nil {
			s.log.Warn("checking a handed-on request", "deployment", d.ID, "err", err)
		}
	}
}

func (s *Service) checkRequest(ctx context.Context, d *store.Deployment) error {
	var h handoff
	if err := json.Unmarshal([]byte(d.Request), &h); err != nil || s.repos == nil {
		return s.requestDone(ctx, d)
	}
	if d.Awaiting && store.InFlight(d.Status) {
		api := s.repos.PullRequests(h.Provider, h.Connection)
		if h.PullRequest == nil || api == nil {
			return s.requestDone(ctx, d) // nothing to watch
		}
		state, err := api.State(ctx, h.PullRequest)
		if err != nil || state != pullrequest.Closed {
			return err // open, or merged and waiting for the automation's report
		}
		return s.txRetrying(ctx, func(q store.Queries) error {
			cur, err := q.DeploymentGet(ctx, d.AccountID, d.ID)
			if err != nil || !cur.Awaiting || !store.InFlight(cur.Status) {
				return err
			}
			return s.settleAwaiting(ctx, q, cur, store.StatusCancelled,
				"Pull request "+h.PullRequest.URL+" was closed without merging", false)
		})
	}
	if d.Status == store.StatusCancelled {
		if err := s.closeRequest(ctx, d, &h); err != nil {
			return err
		}
	}
	return s.requestDone(ctx, d)
}

// closeRequest withdraws a cancelled deployment's request: its pull request is closed or,
// where no API opened one, its branch deleted.
func (s *Service) closeRequest(ctx context.Context, d *store.Deployment, h *handoff) error {
	if h.PullRequest != nil {
		if api := s.repos.PullRequests(h.Provider, h.Connection); api != nil {
			err := api.Close(ctx, h.PullRequest)
			if errors.Is(err, pullrequest.ErrMerged) {
				s.log.Warn("the pull request of a cancelled deployment was merged already", "deployment", d.ID, "url", h.PullRequest.URL)
				return nil
			}
			return err
		}
	}
	rem, err := s.remoteOf(h.Provider, h.Repository, h.Connection)
	if err != nil {
		return err
	}
	_, err = terraform.DeleteBranch(ctx, rem, h.Branch, h.Commit)
	return err
}

// requestDone marks d's request as needing nothing more, unless the deployment moved on
// meanwhile (a cancel that now wants the request closed): the next pass looks again.
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
