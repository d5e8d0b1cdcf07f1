package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "test.db")
		open := func() store.Store {
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := open()
		t.Cleanup(func() { s.Close() })
		return s, open
	})
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConnections(t *testing.T) {
	s := openTemp(t)
	var mode string
	if err := s.WriterDB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if n := s.WriterDB().Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer allows %d connections, want 1", n)
	}
	if _, err := s.reader.ExecContext(t.Context(), "DELETE FROM access_keys"); err == nil {
		t.Error("the read pool accepted a write")
	}
	var version int64
	if err := s.reader.QueryRowContext(t.Context(), "SELECT max(version) FROM schema_migrations").Scan(&version); err != nil || version < 1 {
		t.Errorf("schema_migrations: %d, %v", version, err)
	}
}

// A directory name with URI syntax in it must not change what file is opened.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e&f")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.EnvironmentTemplateCreate(t.Context(), &store.EnvironmentTemplate{AccountID: "a", Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %s: %v", path, err)
	}
}

func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}

func TestSQLTx(t *testing.T) {
	s := openTemp(t)
	if SQLTx(s) != nil {
		t.Error("SQLTx outside a transaction is not nil")
	}
	err := s.Tx(t.Context(), func(q store.Queries) error {
		tx := SQLTx(q)
		if tx == nil {
			t.Fatal("SQLTx inside a transaction is nil")
		}
		_, err := tx.ExecContext(t.Context(), "INSERT INTO tags (account_id, arn, key, value) VALUES ('a', 'arn', 'k', 'v')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.TagsCount(t.Context(), "a", "arn"); n != 1 {
		t.Errorf("write through SQLTx did not commit with the transaction")
	}
}
