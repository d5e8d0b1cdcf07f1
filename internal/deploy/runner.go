// Package deploy runs deployments: the River worker that takes a stored deployment from
// in flight to a final status. It owns the parts every resource shares — the run lease,
// cancellation, the provisioner call, the log and the final status — and leaves what a
// deployment means for its resource (files, inputs, applying or rolling back) to Resources.
//
// A deployment is run by exactly one replica at a time: the runner takes a lease on the
// deployment row and renews it while the provisioner works. A replica that dies leaves its
// lease to run out; the reaper on any replica then starts the deployment again as a new
// attempt. A runner that cannot renew its lease stops its own run before anyone else may
// start one.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/openproton/openproton/internal/engine"
	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/store"
)

// Args is the River job that runs one attempt of a deployment.
type Args struct {
	AccountID    string `json:"account_id"`
	DeploymentID string `json:"deployment_id"`
	Attempt      int    `json:"attempt"`
}

func (Args) Kind() string { return "deployment" }

// Job priorities (River runs lower numbers first): deployments started again after their
// replica or job was lost go ahead of new ones.
const (
	ResumePriority = 1
	NewPriority    = 2
)

// InsertOpts gives new deployments' jobs their priority.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{Priority: NewPriority} }

// Failure is an error a deployment fails with: its message is for the user.
type Failure struct{ Message string }

func (f *Failure) Error() string { return f.Message }

// Failf builds a Failure.
func Failf(format string, a ...any) *Failure { return &Failure{Message: fmt.Sprintf(format, a...)} }

// Resources is what deployments do to their resources.
type Resources interface {
	// Prepare builds the provisioning job for d and picks its provisioner. A *Failure fails
	// the deployment; other errors are retried.
	Prepare(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error)
	// Finish applies d's final status (already set) to its resource, inside the transaction
	// that records it.
	Finish(ctx context.Context, q store.Queries, d *store.Deployment) error
}

// Runner is the deployment worker and the reaper of orphaned deployments.
type Runner struct {
	river.WorkerDefaults[Args]

	Store     store.Store
	Queue     engine.Queue // set before the queue starts
	Resources Resources
	// Credential returns the environment a job's commands get to call back into the API as
	// the deployment itself, valid until expires.
	Credential func(d *store.Deployment, expires time.Time) map[string]string
	Replica    string        // this replica's name, for leases
	Lease      time.Duration // how long a lease lasts unrenewed (0 = 15 s)
	Poll       time.Duration // how often a running deployment checks for cancellation (0 = 500 ms)
	RunTimeout time.Duration // per-deployment timeout (0 = provision.DefaultTimeout)
	// IdleRequeue: an in-flight deployment nobody claimed for this long is queued again
	// (0 = 2 minutes).
	IdleRequeue time.Duration
	// RequestOpened, when set, is told that a deployment was handed on with a request to
	// watch or withdraw (so that the watcher looks at once rather than at its next pass).
	RequestOpened func()
	Log           *slog.Logger
	Now           func() time.Time
}

var errCancelled = errors.New("deployment cancelled")
var errLeaseLost = errors.New("lease lost")

func (r *Runner) lease() time.Duration {
	if r.Lease <= 0 {
		return 15 * time.Second
	}
	return r.Lease
}

// idle is how long an in-flight deployment may wait unclaimed before its job is taken to
// be lost (River gave up on it, say) and it is queued again. Queueing again is harmless: the
// older job finds its attempt superseded.
func (r *Runner) idle() time.Duration {
	if r.IdleRequeue <= 0 {
		return 2 * time.Minute
	}
	return r.IdleRequeue
}

func (r *Runner) poll() time.Duration {
	if r.Poll <= 0 {
		return 500 * time.Millisecond
	}
	return r.Poll
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Timeout is how long r lets a deployment run.
func (r *Runner) timeout() time.Duration {
	if r.RunTimeout <= 0 {
		return provision.DefaultTimeout
	}
	return r.RunTimeout
}

// Work runs one attempt of a deployment.
func (r *Runner) Work(ctx context.Context, job *river.Job[Args]) error {
	a := job.Args
	d, wait, err := r.claim(ctx, a)
	if err != nil || d == nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	log := r.Log.With("deployment", d.ID, "target", d.TargetARN, "attempt", d.Attempt)

	var res *provision.Result
	var runErr error
	if d.Status == store.StatusCancelling {
		runErr = errCancelled // cancelled before it started: nothing runs
	} else {
		res, runErr = r.run(ctx, d, log)
	}
	if ctx.Err() != nil {
		// This replica is stopping: hand the deployment on rather than fail it.
		r.release(d)
		return ctx.Err()
	}
	if errors.Is(runErr, errLeaseLost) {
		log.Warn("lease lost; another replica takes the deployment over")
		return nil
	}
	var transient error
	if runErr != nil && !errors.Is(runErr, errCancelled) {
		var f *Failure
		if !errors.As(runErr, &f) && res == nil {
			transient = runErr
		}
	}
	if transient != nil {
		// Preparing failed for a reason other than the deployment (the database, say):
		// keep the lease and let River retry.
		log.Warn("deployment attempt failed; retrying", "err", transient)
		return transient
	}
	return r.finish(ctx, d, res, runErr, log)
}

// claim takes the deployment's lease. It returns nil when there is nothing to do, or a
// wait when another replica holds a live lease.
func (r *Runner) claim(ctx context.Context, a Args) (*store.Deployment, time.Duration, error) {
	now := r.now()
	d, err := r.Store.DeploymentClaim(ctx, a.AccountID, a.DeploymentID, a.Attempt, r.Replica, now, now.Add(r.lease()))
	if !errors.Is(err, store.ErrNotFound) {
		return d, 0, err
	}
	// Not claimable: finished, superseded by a later attempt, gone, or leased elsewhere.
	d, err = r.Store.DeploymentGet(ctx, a.AccountID, a.DeploymentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, 0, nil
	case err != nil:
		return nil, 0, err
	case !store.InFlight(d.Status) || d.Attempt != a.Attempt:
		return nil, 0, nil
	}
	return nil, max(d.LeaseExpiresAt.Sub(now), 0) + time.Second, nil
}

// run prepares and provisions, renewing the lease and watching for cancellation meanwhile.
func (r *Runner) run(ctx context.Context, d *store.Deployment, log *slog.Logger) (*provision.Result, error) {
	// The watcher runs from the claim on, so preparing cannot outlast the lease unnoticed.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	output := provision.NewTail(provision.DefaultMaxLog)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		r.watch(runCtx, d, output, cancel, log)
	}()
	stop := func() error {
		cause := context.Cause(runCtx)
		cancel(nil)
		<-watching
		return cause
	}

	prov, job, err := r.Resources.Prepare(runCtx, d)
	if err != nil {
		if cause := stop(); errors.Is(cause, errCancelled) || errors.Is(cause, errLeaseLost) {
			return nil, cause
		}
		return nil, err
	}
	job.DeploymentID, job.ResourceARN, job.Action = d.ID, d.TargetARN, provision.Action(d.Action)
	job.Log = output
	job.Timeout = r.timeout()
	if r.Credential != nil {
		if job.Env == nil {
			job.Env = map[string]string{}
		}
		maps.Copy(job.Env, r.Credential(d, r.now().Add(job.Timeout+time.Minute)))
	}
	log.Debug("deployment running")
	res, err := prov.Run(runCtx, job)
	cause := stop()
	switch {
	case err == nil && ctx.Err() == nil:
		// Finished: a cancel that arrives now has no effect, as on Proton. A lease lost
		// meanwhile still means another attempt owns the deployment.
		if errors.Is(cause, errLeaseLost) {
			return res, cause
		}
		return res, nil
	case errors.Is(cause, errCancelled) || errors.Is(cause, errLeaseLost):
		return res, cause
	case err != nil && ctx.Err() == nil:
		var f *Failure
		if !errors.As(err, &f) {
			err = &Failure{Message: err.Error()}
		}
		if res == nil {
			res = &provision.Result{}
		}
	}
	return res, err
}

// logFlush is how often a running deployment's output so far is saved, so that its log
// can be read before it ends.
const logFlush = 2 * time.Second

// watch renews the lease, saves the output so far, and cancels the run when the deployment
// is cancelled or the lease cannot be kept.
func (r *Runner) watch(ctx context.Context, d *store.Deployment, output *provision.Tail, cancel context.CancelCauseFunc, log *slog.Logger) {
	tick := time.NewTicker(min(r.poll(), r.lease()/3))
	defer tick.Stop()
	expires := d.LeaseExpiresAt
	renewed, flushed, seen := r.now(), r.now(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cur, err := r.Store.DeploymentGet(ctx, d.AccountID, d.ID)
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			cancel(errLeaseLost)
			return
		case err != nil:
			log.Warn("checking deployment", "err", err)
		case cur.Attempt != d.Attempt || cur.LeaseOwner != r.Replica:
			cancel(errLeaseLost)
			return
		case cur.Status == store.StatusCancelling:
			cancel(errCancelled)
			return
		default:
			renew := r.now().Sub(renewed) >= r.lease()/3
			var text []byte
			writes := seen
			if r.now().Sub(flushed) >= logFlush {
				text, writes = output.Bytes()
			}
			if !renew && writes == seen {
				break
			}
			if renew {
				cur.LeaseExpiresAt = r.now().Add(r.lease())
			}
			if writes != seen {
				cur.Log = text
			}
			if err := r.Store.DeploymentUpdate(ctx, cur); err == nil {
				if renew {
					expires, renewed = cur.LeaseExpiresAt, r.now()
				}
				if writes != seen {
					seen, flushed = writes, r.now()
				}
			}
		}
		if r.now().After(expires.Add(-r.lease() / 6)) {
			// Cannot renew in time: stop before another replica may start it.
			cancel(errLeaseLost)
			return
		}
	}
}

// release gives up the lease so another replica (or this one after a restart) resumes the
// deployment at once.
func (r *Runner) release(d *store.Deployment) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cur, err := r.Store.DeploymentGet(ctx, d.AccountID, d.ID)
	if err != nil || cur.LeaseOwner != r.Replica || cur.Attempt != d.Attempt {
		return
	}
	cur.LeaseExpiresAt = r.now().Add(-time.Second)
	_ = r.Store.DeploymentUpdate(ctx, cur)
}

// finish records the outcome and applies it to the resource in one transaction. It first
// writes over the copy it claimed (usually still current); a conflict means a notification,
// a cancel or a lease renewal changed the row, so it reads again.
func (r *Runner) finish(ctx context.Context, claimed *store.Deployment, res *provision.Result, runErr error, log *slog.Logger) error {
	a := Args{AccountID: claimed.AccountID, DeploymentID: claimed.ID, Attempt: claimed.Attempt}
	known := claimed
	for range 10 {
		var d *store.Deployment
		err := r.Store.Tx(ctx, func(q store.Queries) error {
			if known != nil {
				d, known = known, nil
			} else {
				var err error
				if d, err = q.DeploymentGet(ctx, a.AccountID, a.DeploymentID); err != nil {
					return err
				}
			}
			if !store.InFlight(d.Status) || d.Attempt != a.Attempt || d.LeaseOwner != r.Replica {
				d = nil
				return nil
			}
			now := r.now()
			outcomeErr := runErr
			if runErr == nil && res != nil && res.Pending {
				d.Request = res.Handoff
				switch {
				case d.Status == store.StatusCancelling && res.Handoff != "":
					// Cancelled while handing on: it stays CANCELLING, handed on, until its
					// request is withdrawn (then CANCELLED) or found merged already (then
					// back to waiting for its report) — never a success by itself.
					d.Log, d.Awaiting, d.RequestOpen, d.RequestCheckAt = res.Log, true, true, time.Time{}
					d.LeaseOwner, d.LeaseExpiresAt, d.LastModifiedAt = "", time.Time{}, now
					return q.DeploymentUpdate(ctx, d)
				case d.Status == store.StatusCancelling:
					outcomeErr = errCancelled
				case d.ReportedStatus == "":
					// Handed on: in flight, unleased, not reaped, until its report arrives.
					d.Log, d.Awaiting, d.RequestOpen = res.Log, true, res.Watch && res.Handoff != ""
					d.LeaseOwner, d.LeaseExpiresAt, d.LastModifiedAt = "", time.Time{}, now
					return q.DeploymentUpdate(ctx, d)
				}
				// Otherwise the report came in before the hand-on was recorded: it decides.
			}
			outcome(d, res, outcomeErr)
			d.LeaseOwner, d.LeaseExpiresAt, d.CompletedAt, d.LastModifiedAt = "", time.Time{}, now, now
			if err := q.DeploymentUpdate(ctx, d); err != nil {
				return err
			}
			return r.Resources.Finish(ctx, q, d)
		})
		if errors.Is(err, store.ErrConflict) {
			continue // a notification or cancel landed in between: read again
		}
		if err != nil {
			return fmt.Errorf("deploy: record %s: %w", a.DeploymentID, err)
		}
		if d != nil && d.Awaiting {
			if d.RequestOpen && r.RequestOpened != nil {
				r.RequestOpened()
			}
			return nil
		}
		if d != nil {
			log.Info("deployment finished", "status", d.Status)
			if d.RequestOpen && r.RequestOpened != nil {
				r.RequestOpened()
			}
		}
		return nil
	}
	return fmt.Errorf("deploy: record %s: too many concurrent changes", a.DeploymentID)
}

// outcome sets d's final status, message, outputs and log from the run.
func outcome(d *store.Deployment, res *provision.Result, runErr error) {
	deleting := d.Action == string(provision.Deprovision)
	if res != nil {
		d.Log = res.Log
		if len(res.Outputs) > 0 {
			d.Outputs = store.SetOutputs(d.Outputs, fileOutputs(res.Outputs))
		}
		d.Resources = nil
		for _, r := range res.Resources {
			d.Resources = append(d.Resources, store.ProvisionedResource{Name: r.Name, Identifier: r.Identifier, Engine: r.Engine})
		}
	}
	if d.Log == nil {
		d.Log = []byte{}
	}
	var f *Failure
	switch {
	case errors.Is(runErr, errCancelled):
		d.Status, d.StatusMessage = store.StatusCancelled, "Deployment cancelled"
	case errors.As(runErr, &f) && deleting:
		d.Status, d.StatusMessage = store.StatusDeleteFailed, f.Message
	case errors.As(runErr, &f):
		d.Status, d.StatusMessage = store.StatusFailed, f.Message
	case d.ReportedStatus == store.StatusFailed || d.ReportedStatus == store.StatusDeleteFailed:
		d.Status, d.StatusMessage = store.StatusFailed, d.ReportedMessage
		if deleting {
			d.Status = store.StatusDeleteFailed
		}
	case deleting:
		d.Status, d.StatusMessage = store.StatusDeleteComplete, ""
	default:
		d.Status, d.StatusMessage = store.StatusSucceeded, d.ReportedMessage
	}
}

// fileOutputs orders the outputs a job left in its outputs file by key, so they are
// recorded the same way every time.
func fileOutputs(m map[string]string) []store.Output {
	out := make([]store.Output, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, store.Output{Key: k, Value: m[k]})
	}
	return out
}

// Reap starts again, as new attempts, the deployments whose runner's lease ran out, until
// ctx ends. Every replica reaps; the versioned write lets one win per deployment.
func (r *Runner) Reap(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := r.ReapOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("reaping orphaned deployments", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReapOnce restarts the orphaned deployments found now.
func (r *Runner) ReapOnce(ctx context.Context) error {
	now := r.now()
	orphans, err := r.Store.DeploymentsOrphaned(ctx, now, now.Add(-r.idle()), 100)
	if err != nil {
		return err
	}
	for _, d := range orphans {
		err := r.Store.Tx(ctx, func(q store.Queries) error {
			prev := d.LeaseOwner
			d.Attempt++
			d.LeaseOwner, d.LeaseExpiresAt, d.LastModifiedAt = "", time.Time{}, now
			// The new attempt starts clean: what the lost one reported is not its outcome.
			d.ReportedStatus, d.ReportedMessage, d.Outputs = "", "", nil
			if err := q.DeploymentUpdate(ctx, d); err != nil {
				return err
			}
			if prev != "" {
				r.Log.Warn("deployment resumed: the replica running it stopped", "deployment", d.ID, "replica", prev, "attempt", d.Attempt)
			} else {
				r.Log.Info("deployment queued again: its job has not started", "deployment", d.ID, "attempt", d.Attempt)
			}
			// Ahead of new deployments: it has waited longest.
			return r.Queue.EnqueueTx(ctx, q, Args{AccountID: d.AccountID, DeploymentID: d.ID, Attempt: d.Attempt},
				&river.InsertOpts{Priority: ResumePriority})
		})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}
