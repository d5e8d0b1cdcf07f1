// Package sqlite is the embedded store driver: one SQLite file in WAL mode (pure Go,
// modernc.org/sqlite). One writer connection serialises writes, as River's SQLite driver
// requires; a separate pool of query-only connections serves plain reads concurrently.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/sqlcore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	sqlcore.Queries
	writer, reader *sql.DB
}

var _ store.Store = (*Store)(nil)

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// Take the write lock when a transaction begins, not at its first write, so two
		// processes never deadlock upgrading read locks.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and applies migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	writer, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{writer: writer}
	tx, err := s.begin(ctx)
	if err != nil {
		writer.Close()
		return nil, err
	}
	if err := sqlcore.Migrate(ctx, tx, migrations, "migrations", ""); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: migrate: %w", err)
	}
	reader, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	reader.SetMaxOpenConns(4)
	s.reader = reader
	s.Queries = sqlcore.Queries{R: dbExec{reader}, W: dbExec{writer}, IsUniqueViolation: isUniqueViolation}
	return s, nil
}

// WriterDB is the single writer connection, for River's SQLite driver so that a resource
// and its job commit in one transaction.
func (s *Store) WriterDB() *sql.DB { return s.writer }

func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}

func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	q := &sqlcore.Queries{R: tx, W: tx, IsUniqueViolation: isUniqueViolation}
	return sqlcore.InTx(ctx, tx, func() error { return fn(q) })
}

func (s *Store) begin(ctx context.Context) (*sqlTx, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	return &sqlTx{dbExec{tx}, tx}, nil
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// dbExec adapts database/sql to sqlcore.Executor.
type dbExec struct{ q querier }

func (d dbExec) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d dbExec) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := d.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlTx struct {
	dbExec
	tx *sql.Tx
}

func (t *sqlTx) Commit(context.Context) error   { return t.tx.Commit() }
func (t *sqlTx) Rollback(context.Context) error { return t.tx.Rollback() }
