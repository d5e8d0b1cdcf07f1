package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/postgres/pgtest"
	"github.com/openproton/openproton/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	base := pgtest.URL(t)
	storetest.Exercise(t, func(t *testing.T) (store.Store, func() store.Store) {
		u := pgtest.Schema(t, base)
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
	u := pgtest.Schema(t, pgtest.URL(t))
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
	s, err := Open(t.Context(), pgtest.Schema(t, pgtest.URL(t)))
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
