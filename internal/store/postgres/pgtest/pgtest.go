// Package pgtest gives tests a PostgreSQL database of their own: a fresh schema in the
// test database, dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL is the database the tests use; each test gets its own schema in it. Without
// OPENPROTON_TEST_DATABASE_URL a local server with trust authentication is tried as the
// users postgres and root. Unreachable: skip, except in CI.
func URL(t testing.TB) string {
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

// Schema creates a schema for one test, dropped when it ends, and returns a URL that
// selects it.
func Schema(t testing.TB, base string) string {
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
