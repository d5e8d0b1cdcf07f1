package sqlcore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Tx is a started transaction.
type Tx interface {
	Executor
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// InTx runs fn in tx, committing on success and rolling back on error or panic.
func InTx(ctx context.Context, tx Tx, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(ctx)
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(ctx)
		}
	}()
	if err = fn(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Migrate applies the numbered NNN_name.sql files of dir that the database has not seen, in
// one transaction. lockSQL, when set, is run first to serialise concurrent starts.
func Migrate(ctx context.Context, tx Tx, migrations fs.FS, dir, lockSQL string) error {
	return InTx(ctx, tx, func() error {
		if lockSQL != "" {
			if _, err := tx.Exec(ctx, lockSQL); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied := map[int64]bool{}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		entries, err := fs.ReadDir(migrations, dir)
		if err != nil {
			return err
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			num, _, ok := strings.Cut(e.Name(), "_")
			v, err := strconv.ParseInt(num, 10, 64)
			if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
				return fmt.Errorf("migration %s: name must be NNN_name.sql", e.Name())
			}
			if applied[v] {
				continue
			}
			sql, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %w", e.Name(), err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
}
