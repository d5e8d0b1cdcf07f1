// Package engine runs openproton's durable background work. Jobs are River jobs stored in
// the same database as the resources, inserted in the same transaction as the write that
// needs them, so a job exists exactly when its resource change committed; any replica's
// workers may run it, and a job whose worker died is rescued and run again.
package engine

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/postgres"
	"github.com/openproton/openproton/internal/store/sqlite"
)

// Queue is the job queue over the store's database.
type Queue interface {
	// EnqueueTx adds a job inside the store transaction q (from store.Tx).
	EnqueueTx(ctx context.Context, q store.Queries, args river.JobArgs, opts *river.InsertOpts) error
	// Start begins working jobs; Stop waits for running ones (until ctx ends).
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	// StopAndCancel cancels running jobs' contexts and waits for them to return.
	StopAndCancel(ctx context.Context) error
}

// Config tunes the queue.
type Config struct {
	Workers *river.Workers
	// MaxWorkers is how many jobs this replica runs at once (0 = 10).
	MaxWorkers int
	// RescueAfter is how long a running job may go without finishing before it is taken to
	// have lost its worker (a killed replica) and run again (0 = 1 hour, River's floor is 1 s).
	RescueAfter time.Duration
	// PollInterval is how often idle workers look for jobs (0 = 50 ms). SQLite has no
	// notifications, so this bounds how soon a job starts.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// New migrates River's tables into the store's database and builds the queue.
func New(ctx context.Context, st store.Store, cfg Config) (Queue, error) {
	switch s := st.(type) {
	case *sqlite.Store:
		return newQueue(ctx, riversqlite.New(s.WriterDB()), cfg, func(q store.Queries) *sql.Tx { return sqlite.SQLTx(q) })
	case *postgres.Store:
		return newQueue(ctx, riverpgxv5.New(s.Pool()), cfg, func(q store.Queries) pgx.Tx { return postgres.PgxTx(q) })
	}
	return nil, fmt.Errorf("engine: no job queue for store %T", st)
}

type riverQueue[TTx comparable] struct {
	client *river.Client[TTx]
	txOf   func(store.Queries) TTx
}

func newQueue[TTx comparable](ctx context.Context, driver riverdriver.Driver[TTx], cfg Config, txOf func(store.Queries) TTx) (*riverQueue[TTx], error) {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(cfg.Logger)})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("engine: migrate job tables: %w", err)
	}
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = 10
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = time.Hour
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}},
		Workers:              cfg.Workers,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		// A finished job frees its slot; fetch again soon rather than at the next poll.
		FetchCooldown: min(cfg.PollInterval, 5*time.Millisecond),
		JobTimeout:    -1, // jobs carry their own deadlines
		Logger:        quiet(cfg.Logger),
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &riverQueue[TTx]{client: client, txOf: txOf}, nil
}

func (q *riverQueue[TTx]) EnqueueTx(ctx context.Context, sq store.Queries, args river.JobArgs, opts *river.InsertOpts) error {
	var zero TTx
	tx := q.txOf(sq)
	if tx == zero {
		return fmt.Errorf("engine: EnqueueTx needs the Queries of a store transaction")
	}
	if _, err := q.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("engine: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

func (q *riverQueue[TTx]) Start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *riverQueue[TTx]) Stop(ctx context.Context) error  { return q.client.Stop(ctx) }
func (q *riverQueue[TTx]) StopAndCancel(ctx context.Context) error {
	return q.client.StopAndCancel(ctx)
}

// quiet passes River's logs on at warning level and above: its info logs narrate routine
// leadership and maintenance.
func quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name), f.min}
}
