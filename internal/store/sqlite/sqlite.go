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
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/sqlcore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	sqlcore.Queries
	writer, reader           *sql.DB
	writerStmts, readerStmts *stmtDB
}

var _ store.Store = (*Store)(nil)

// dsn builds a file: URI, escaping the path so that '?', '#' or '%' in a directory name
// cannot be read as URI syntax.
func dsn(path string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/…
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// Take the write lock when a transaction begins, not at its first write: a deferred
		// transaction that reads and then writes fails with SQLITE_BUSY, without waiting,
		// when another process wrote in between.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String(), nil
}

// Open opens (creating if needed) the database file at path and applies migrations. The
// directory must exist.
func Open(ctx context.Context, path string) (*Store, error) {
	writerDSN, err := dsn(path, false)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	readerDSN, _ := dsn(path, true)
	writer, err := sql.Open("sqlite", writerDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// River's SQLite driver needs exactly one writer connection; keep it open for good.
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	if err := ping(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{writer: writer, writerStmts: &stmtDB{db: writer}}
	tx, err := s.begin(ctx)
	if err != nil {
		writer.Close()
		return nil, err
	}
	if err := sqlcore.Migrate(ctx, tx, migrations, "migrations", ""); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", readerDSN)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// WAL lets these read while the writer writes.
	reader.SetMaxOpenConns(4)
	reader.SetMaxIdleConns(4)
	s.reader = reader
	s.readerStmts = &stmtDB{db: reader}
	s.Queries = sqlcore.Queries{R: dbExec{s.readerStmts}, W: dbExec{s.writerStmts}}
	return s, nil
}

// ping opens the first connection. Switching a new file to WAL needs a moment of exclusive
// access, which SQLite does not wait for (busy_timeout does not apply), so a second process
// opening at the same instant retries briefly.
func ping(ctx context.Context, db *sql.DB) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = db.PingContext(ctx); err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
	return err
}

// WriterDB is the single writer connection, for River's SQLite driver so that a resource
// and its job commit in one transaction.
func (s *Store) WriterDB() *sql.DB { return s.writer }

func (s *Store) Close() error {
	s.readerStmts.close()
	s.writerStmts.close()
	return errors.Join(s.reader.Close(), s.writer.Close())
}

func (s *Store) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	q := &sqlcore.Queries{R: tx, W: tx, Native: tx.tx}
	return sqlcore.InTx(ctx, tx, func() error { return fn(q) })
}

func (s *Store) begin(ctx context.Context) (*sqlTx, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	return &sqlTx{dbExec{stmtTx{tx: tx, cache: s.writerStmts}}, tx}, nil
}

// SQLTx returns the *sql.Tx behind the Queries that Store.Tx passes to its function, so that
// River can insert jobs in the same transaction; nil for any other Queries.
func SQLTx(q store.Queries) *sql.Tx {
	if c, ok := q.(*sqlcore.Queries); ok {
		tx, _ := c.Native.(*sql.Tx)
		return tx
	}
	return nil
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
