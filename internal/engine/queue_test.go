package engine

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/postgres"
	"github.com/openproton/openproton/internal/store/postgres/pgtest"
	"github.com/openproton/openproton/internal/store/sqlite"
)

type pingArgs struct {
	ID   int  `json:"id"`
	Fail bool `json:"fail"`
}

func (pingArgs) Kind() string { return "test_ping" }

// pingWorker records each job it runs; a job asking to fail fails its first attempt.
type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	mu   sync.Mutex
	runs map[int]int
	done chan int
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	w.mu.Lock()
	w.runs[job.Args.ID]++
	n := w.runs[job.Args.ID]
	w.mu.Unlock()
	if job.Args.Fail && n == 1 {
		return errors.New("first attempt fails")
	}
	w.done <- job.Args.ID
	return nil
}

// Retry at once, so the retry test does not wait for River's backoff.
func (w *pingWorker) NextRetry(*river.Job[pingArgs]) time.Time { return time.Now() }

func newWorker() (*pingWorker, *river.Workers) {
	w := &pingWorker{runs: map[int]int{}, done: make(chan int, 100)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	return w, workers
}

type opener func(t *testing.T) (first store.Store, another func() store.Store)

func drivers(t *testing.T) map[string]opener {
	return map[string]opener{
		"sqlite": func(t *testing.T) (store.Store, func() store.Store) {
			path := filepath.Join(t.TempDir(), "db")
			open := func() store.Store {
				s, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			return open(), open
		},
		"postgres": func(t *testing.T) (store.Store, func() store.Store) {
			u := pgtest.Schema(t, pgtest.URL(t))
			open := func() store.Store {
				s, err := postgres.Open(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			return open(), open
		},
	}
}

func start(t *testing.T, st store.Store, workers *river.Workers) Queue {
	t.Helper()
	q, err := New(context.Background(), st, Config{Workers: workers, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return q
}

func wait(t *testing.T, w *pingWorker, want int) {
	t.Helper()
	select {
	case got := <-w.done:
		if got != want {
			t.Fatalf("job %d ran, want %d", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("job %d never ran", want)
	}
}

func TestJobsCommitWithTheirTransaction(t *testing.T) {
	for name, open := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := open(t)
			w, workers := newWorker()
			q := start(t, st, workers)

			now := time.Now()
			// Rolled back: neither the template nor its job exists.
			err := st.Tx(ctx, func(tx store.Queries) error {
				if err := tx.EnvironmentTemplateCreate(ctx, &store.EnvironmentTemplate{AccountID: "a", Name: "gone", CreatedAt: now, LastModifiedAt: now}); err != nil {
					return err
				}
				if err := q.EnqueueTx(ctx, tx, pingArgs{ID: 1}, nil); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil {
				t.Fatal("transaction did not fail")
			}
			// Committed: both exist and the job runs.
			err = st.Tx(ctx, func(tx store.Queries) error {
				if err := tx.EnvironmentTemplateCreate(ctx, &store.EnvironmentTemplate{AccountID: "a", Name: "kept", CreatedAt: now, LastModifiedAt: now}); err != nil {
					return err
				}
				return q.EnqueueTx(ctx, tx, pingArgs{ID: 2}, nil)
			})
			if err != nil {
				t.Fatal(err)
			}
			wait(t, w, 2)
			// A failing attempt is retried.
			if err := st.Tx(ctx, func(tx store.Queries) error { return q.EnqueueTx(ctx, tx, pingArgs{ID: 3, Fail: true}, nil) }); err != nil {
				t.Fatal(err)
			}
			wait(t, w, 3)
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.runs[1] != 0 || w.runs[2] != 1 || w.runs[3] != 2 {
				t.Errorf("runs = %v; want job 1 never, 2 once, 3 twice", w.runs)
			}
			if err := q.EnqueueTx(ctx, st, pingArgs{ID: 4}, nil); err == nil {
				t.Errorf("enqueue outside a transaction was accepted")
			}
		})
	}
}

// Two replicas on one database share the work: every job runs exactly once.
func TestReplicasShareJobs(t *testing.T) {
	for name, open := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			first, another := open(t)
			second := another()
			w, workers := newWorker()
			q1 := start(t, first, workers)
			start(t, second, workers)
			const n = 40
			for i := range n {
				if err := first.Tx(ctx, func(tx store.Queries) error { return q1.EnqueueTx(ctx, tx, pingArgs{ID: 100 + i}, nil) }); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[int]bool{}
			for range n {
				select {
				case id := <-w.done:
					seen[id] = true
				case <-time.After(30 * time.Second):
					t.Fatalf("only %d of %d jobs ran", len(seen), n)
				}
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			for id, runs := range w.runs {
				if runs != 1 {
					t.Errorf("job %d ran %d times", id, runs)
				}
			}
			if len(seen) != n {
				t.Errorf("%d distinct jobs ran, want %d", len(seen), n)
			}
		})
	}
}
