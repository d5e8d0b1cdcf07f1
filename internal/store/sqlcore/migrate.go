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

// InTx runs fn in tx, committing if fn returns nil and rolling back otherwise, including
// when fn panics or calls runtime.Goexit (t.Fatal in a test).
func InTx(ctx context.Context, tx Tx, fn func() error) error {
	done := false
	defer func() {
		if !done {
			// The transaction must end even if ctx was cancelled.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	done = true
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
		files, err := migrationFiles(migrations, dir)
		if err != nil {
			return err
		}
		for _, f := range files {
			if applied[f.version] {
				continue
			}
			sql, err := fs.ReadFile(migrations, path.Join(dir, f.name))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %w", f.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, f.version); err != nil {
				return fmt.Errorf("migration %s: %w", f.name, err)
			}
		}
		return nil
	})
}

type migrationFile struct {
	version int64
	name    string
}

// migrationFiles lists dir's NNN_name.sql files in version order.
func migrationFiles(migrations fs.FS, dir string) ([]migrationFile, error) {
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var files []migrationFile
	seen := map[int64]string{}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share a number", other, e.Name())
		}
		seen[v] = e.Name()
		files = append(files, migrationFile{v, e.Name()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}
