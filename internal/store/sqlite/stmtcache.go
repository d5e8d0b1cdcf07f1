package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtDB runs queries through prepared statements kept for the life of the pool. SQLite
// spends most of a small query's time parsing it, and the store's statements are a fixed
// set of constants, so the cache stays small.
type stmtDB struct {
	db    *sql.DB
	stmts sync.Map // query string → *sql.Stmt
}

func (c *stmtDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

func (c *stmtDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (c *stmtDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// close releases every cached statement.
func (c *stmtDB) close() {
	c.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}

// stmtTx runs a transaction's queries through the writer's cached statements when they
// are already prepared. It never prepares through the pool itself: the transaction holds the
// writer's only connection, so that would wait forever. (Migrations, several statements in
// one string, also must not be prepared.)
type stmtTx struct {
	tx    *sql.Tx
	cache *stmtDB
}

func (t stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s, ok := t.cache.stmts.Load(query); ok {
		return t.tx.StmtContext(ctx, s.(*sql.Stmt)).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s, ok := t.cache.stmts.Load(query); ok {
		return t.tx.StmtContext(ctx, s.(*sql.Stmt)).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}
