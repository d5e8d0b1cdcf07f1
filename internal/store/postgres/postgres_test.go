package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/storetest"
)

// testURL is the database the tests use; each test gets its own schema in it. Without
// OPENPROTON_TEST_DATABASE_URL a local server with trust authentication is tried as the
// users postgres and root. Unreachable: skip, except in CI.
func testURL(t *testing.T) string {
	candidates := []string{os.Getenv("OPENPROTON_TEST_DATABASE_URL")}
	if candidates[0] == "" {
		candidates = []string{
			"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
			"postgres://root@127.0.0.1:5432/test?sslmode=disable",
		}
	}
	var firstErr error
	for _, u := range candidates {
		conn, err := pgx.Connect(t.Context(), u)
		if err == nil {
			conn.Close(t.Context())
			return u
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL is required in CI: %v", firstErr)
	}
	t.Skipf("PostgreSQL not reachable (%v); set OPENPROTON_TEST_DATABASE_URL", firstErr)
	return ""
}

// freshSchema creates a schema for one test, dropped when it ends, and returns a URL that
// selects it.
func freshSchema(t *testing.T, base string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "storetest_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	base := testURL(t)
	storetest.Exercise(t, func(t *testing.T) (store.Store, func() store.Store) {
		u := freshSchema(t, base)
		open := func() store.Store {
			s, err := Open(context.Background(), u)
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

func TestConcurrentFirstOpen(t *testing.T) {
	u := freshSchema(t, testURL(t))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), u)
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

func TestPgxTx(t *testing.T) {
	s, err := Open(t.Context(), freshSchema(t, testURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if PgxTx(s) != nil {
		t.Error("PgxTx outside a transaction is not nil")
	}
	err = s.Tx(t.Context(), func(q store.Queries) error {
		tx := PgxTx(q)
		if tx == nil {
			t.Fatal("PgxTx inside a transaction is nil")
		}
		_, err := tx.Exec(t.Context(), "INSERT INTO tags (account_id, arn, key, value) VALUES ('a', 'arn', 'k', 'v')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.TagsCount(t.Context(), "a", "arn"); n != 1 {
		t.Errorf("write through PgxTx did not commit with the transaction")
	}
	if s.Pool() == nil {
		t.Error("Pool is nil")
	}
}
