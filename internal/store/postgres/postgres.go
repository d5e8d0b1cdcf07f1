// Package postgres is the scale-out store driver: any number of openproton replicas share
// one PostgreSQL database through pgx.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/sqlcore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock serialises replicas starting at once (an arbitrary, fixed advisory lock id).
const migrationLock = `SELECT pg_advisory_xact_lock(7074837263)`

// Store is the PostgreSQL store.
type Store struct {
	sqlcore.Queries
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://…; a search_path parameter selects the
// schema) and applies migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "openproton"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		// Prepared statements are cached per connection. A generic plan made while a table
		// was small (a new database) keeps scanning the whole table as it grows; custom
		// plans follow its real size, and planning these short statements is cheap.
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (max(4, CPUs)) starves a replica whose job queue holds one
		// connection for notifications and whose deployment workers and API requests each
		// need one; pool_max_conns in the URL overrides this.
		cfg.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, Queries: sqlcore.Queries{R: poolExec{pool}, W: poolExec{pool}}}
	tx, err := s.begin(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := sqlcore.Migrate(ctx, tx, migrations, "migrations", migrationLock); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return s, nil
}

// Pool is the connection pool, for River's pgx driver.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	q := &sqlcore.Queries{R: tx, W: tx, Native: tx.tx}
	return sqlcore.InTx(ctx, tx, func() error { return fn(q) })
}

func (s *Store) begin(ctx context.Context) (*pgTx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	return &pgTx{poolExec{tx}, tx}, nil
}

// PgxTx returns the pgx.Tx behind the Queries that Store.Tx passes to its function, so that
// River can insert jobs in the same transaction; nil for any other Queries.
func PgxTx(q store.Queries) pgx.Tx {
	if c, ok := q.(*sqlcore.Queries); ok {
		tx, _ := c.Native.(pgx.Tx)
		return tx
	}
	return nil
}

// querier is what a pool and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// poolExec adapts pgx to sqlcore.Executor.
type poolExec struct{ q querier }

func (p poolExec) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), raceError(err)
}

func (p poolExec) Query(ctx context.Context, sql string, args ...any) (sqlcore.Rows, error) {
	rows, err := p.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, raceError(err)
	}
	return racedRows{rows}, nil
}

// racedRows reports a deadlock or serialization failure found while reading as a race.
type racedRows struct{ pgx.Rows }

func (r racedRows) Err() error { return raceError(r.Rows.Err()) }

// raceError turns PostgreSQL's deadlock and serialization failures into store.ErrConflict:
// the transaction lost a race with another and may be run again.
func raceError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		return fmt.Errorf("%w: %s", store.ErrConflict, pe.Message)
	}
	return err
}

type pgTx struct {
	poolExec
	tx pgx.Tx
}

func (t *pgTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t *pgTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
