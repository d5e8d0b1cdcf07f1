package deploy

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/openproton/openproton/internal/engine"
	"github.com/openproton/openproton/internal/provision"
	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/sqlite"
)

// recorder is a Resources whose provisioner counts runs and can be held mid-run.
type recorder struct {
	mu       sync.Mutex
	runs     map[string]int
	finished map[string]string
	hold     chan struct{} // when set, runs wait on it (or their context)
}

func (r *recorder) Prepare(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	return provision.Func(func(ctx context.Context, job *provision.Job) (*provision.Result, error) {
		r.mu.Lock()
		r.runs[job.DeploymentID]++
		hold := r.hold
		r.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return &provision.Result{Outputs: map[string]string{"ran": "yes"}}, nil
	}), &provision.Job{}, nil
}

func (r *recorder) Finish(ctx context.Context, q store.Queries, d *store.Deployment) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished[d.ID] = d.Status
	return nil
}

func (r *recorder) count(id string) (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id], r.finished[id]
}

// newRunner starts a runner and queue named replica over st.
func newRunner(t *testing.T, st store.Store, replica string, res Resources) *Runner {
	t.Helper()
	r := &Runner{Store: st, Resources: res, Replica: replica, Lease: 3 * time.Second, Poll: 50 * time.Millisecond,
		IdleRequeue: time.Second, Log: slog.New(slog.DiscardHandler)}
	workers := river.NewWorkers()
	river.AddWorker(workers, r)
	q, err := engine.New(t.Context(), st, engine.Config{Workers: workers, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Queue = q
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = q.StopAndCancel(stop)
		cancel()
	})
	return r
}

func inFlight(id string, created time.Time) *store.Deployment {
	return &store.Deployment{ID: id, AccountID: "000000000000", TargetType: store.TargetEnvironment, TargetARN: "arn:aws:proton:us-east-1:000000000000:environment/" + id,
		EnvironmentName: id, Action: "PROVISION", Status: store.StatusInProgress, CreatedAt: created, LastModifiedAt: created}
}

func waitFinished(t *testing.T, res *recorder, id string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if runs, status := res.count(id); status != "" {
			return runs, status
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("deployment %s never finished", id)
	return 0, ""
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A deployment whose job was lost (no lease, no job) is queued again by the reaper and runs
// once.
func TestLostJobIsQueuedAgain(t *testing.T) {
	st := openStore(t)
	res := &recorder{runs: map[string]int{}, finished: map[string]string{}}
	r := newRunner(t, st, "replica-a", res)
	ctx := t.Context()
	// Stored without a job, as if the job's state had been lost.
	if err := st.DeploymentCreate(ctx, inFlight("lost", time.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := r.ReapOnce(ctx); err != nil {
		t.Fatal(err)
	}
	runs, status := waitFinished(t, res, "lost")
	if runs != 1 || status != store.StatusSucceeded {
		t.Fatalf("runs %d, status %s; want one run that SUCCEEDED", runs, status)
	}
	d, err := st.DeploymentGet(ctx, "000000000000", "lost")
	if err != nil {
		t.Fatal(err)
	}
	if d.Attempt != 1 || d.LeaseOwner != "" || d.Status != store.StatusSucceeded || len(d.Outputs) != 1 {
		t.Fatalf("after the run: %+v", d)
	}
}

// While one replica holds a deployment's lease, another replica's job for it waits; when
// the holder stops renewing (it died), the reaper starts a new attempt elsewhere; the
// stale holder's result is not recorded.
func TestLeaseKeepsOneRunner(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	held := &recorder{runs: map[string]int{}, finished: map[string]string{}}
	d := inFlight("contended", time.Now())
	if err := st.DeploymentCreate(ctx, d); err != nil {
		t.Fatal(err)
	}
	// A dead replica's claim: a lease nobody renews.
	now := time.Now()
	dead, err := st.DeploymentClaim(ctx, d.AccountID, d.ID, 0, "dead-replica", now, now.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// The dead attempt's commands had reported a failure: that is not the next attempt's.
	dead.ReportedStatus, dead.ReportedMessage = store.StatusFailed, "attempt 0 broke"
	if err := st.DeploymentUpdate(ctx, dead); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, "replica-b", held)
	// replica-b's job for attempt 0 must not run while the lease is live.
	if err := st.Tx(ctx, func(q store.Queries) error {
		return r.Queue.EnqueueTx(ctx, q, Args{AccountID: d.AccountID, DeploymentID: d.ID}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if runs, _ := held.count(d.ID); runs != 0 {
		t.Fatalf("ran %d times under another replica's live lease", runs)
	}
	// The lease runs out; reaping starts attempt 1, which runs exactly once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := r.ReapOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if runs, _ := held.count(d.ID); runs > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	runs, status := waitFinished(t, held, d.ID)
	if runs != 1 || status != store.StatusSucceeded {
		t.Fatalf("runs %d, status %s", runs, status)
	}
	got, err := st.DeploymentGet(ctx, d.AccountID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempt != 1 {
		t.Errorf("attempt = %d, want 1", got.Attempt)
	}
}

// Cancelling a running deployment stops its run and records CANCELLED.
func TestCancelStopsTheRun(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	res := &recorder{runs: map[string]int{}, finished: map[string]string{}, hold: make(chan struct{})}
	r := newRunner(t, st, "replica-a", res)
	d := inFlight("slow", time.Now())
	if err := st.Tx(ctx, func(q store.Queries) error {
		if err := q.DeploymentCreate(ctx, d); err != nil {
			return err
		}
		return r.Queue.EnqueueTx(ctx, q, Args{AccountID: d.AccountID, DeploymentID: d.ID}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	for runs, _ := res.count(d.ID); runs == 0; runs, _ = res.count(d.ID) {
		time.Sleep(20 * time.Millisecond)
	}
	for {
		cur, err := st.DeploymentGet(ctx, d.AccountID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		cur.Status = store.StatusCancelling
		err = st.DeploymentUpdate(ctx, cur)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if _, status := waitFinished(t, res, d.ID); status != store.StatusCancelled {
		t.Fatalf("status %s, want CANCELLED", status)
	}
}

// handingOn is a Resources whose provisioner hands its work on (Result.Pending), letting
// a test report on the deployment before the hand-on is recorded.
type handingOn struct {
	recorder
	during func(d *store.Deployment)
}

func (h *handingOn) Prepare(ctx context.Context, d *store.Deployment) (provision.Provisioner, *provision.Job, error) {
	return provision.Func(func(ctx context.Context, job *provision.Job) (*provision.Result, error) {
		if h.during != nil {
			h.during(d)
		}
		return &provision.Result{Pending: true, Log: []byte("pushed\n")}, nil
	}), &provision.Job{}, nil
}

// A handed-on deployment waits, unleased, for its report; one whose report arrived while
// it was being handed on ends with that report instead of waiting forever.
func TestHandedOnDeployments(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	h := &handingOn{recorder: recorder{runs: map[string]int{}, finished: map[string]string{}}}
	r := newRunner(t, st, "replica-a", h)
	enqueue := func(id string) {
		t.Helper()
		if err := st.Tx(ctx, func(q store.Queries) error {
			if err := q.DeploymentCreate(ctx, inFlight(id, time.Now())); err != nil {
				return err
			}
			return r.Queue.EnqueueTx(ctx, q, Args{AccountID: "000000000000", DeploymentID: id}, nil)
		}); err != nil {
			t.Fatal(err)
		}
	}

	enqueue("waits")
	var d *store.Deployment
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if d, err = st.DeploymentGet(ctx, "000000000000", "waits"); err != nil {
			t.Fatal(err)
		}
		if d.Awaiting || time.Now().After(deadline) {
			break
		}
	}
	if !d.Awaiting || d.Status != store.StatusInProgress || d.LeaseOwner != "" {
		t.Fatalf("handed on: awaiting %v, %s, lease %q", d.Awaiting, d.Status, d.LeaseOwner)
	}
	if err := r.ReapOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, status := h.count("waits"); status != "" {
		t.Errorf("a handed-on deployment was finished (%s) without its report", status)
	}

	// The report lands while the runner is still handing on.
	h.during = func(d *store.Deployment) {
		cur, err := st.DeploymentGet(ctx, d.AccountID, d.ID)
		if err != nil {
			t.Error(err)
			return
		}
		cur.ReportedStatus = store.StatusFailed
		cur.ReportedMessage = "plan failed"
		if err := st.DeploymentUpdate(ctx, cur); err != nil {
			t.Error(err)
		}
	}
	enqueue("early")
	if _, status := waitFinished(t, &h.recorder, "early"); status != store.StatusFailed {
		t.Fatalf("a report before the hand-on was recorded: %s, want FAILED", status)
	}
}
