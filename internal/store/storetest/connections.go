package storetest

import (
	"fmt"
	"testing"

	"github.com/openproton/openproton/internal/store"
)

func connection(id, envAccount, mgmtAccount, envName, status string) *store.AccountConnection {
	return &store.AccountConnection{ID: id, EnvironmentAccountID: envAccount, ManagementAccountID: mgmtAccount, EnvironmentName: envName,
		RoleArn: "arn:aws:iam::" + envAccount + ":role/r", Status: status, RequestedAt: instant, LastModifiedAt: instant}
}

func testAccountConnections(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	for i := range 6 {
		env := "env-a"
		if i%2 == 1 {
			env = "env-b"
		}
		status := "REJECTED" // at most one connection per environment is live
		switch i {
		case 4:
			status = "CONNECTED"
		case 5:
			status = "PENDING"
		}
		must(t, s.AccountConnectionCreate(ctx, connection(fmt.Sprintf("c%d", i), "222222222222", "111111111111", env, status)))
	}
	must(t, s.AccountConnectionCreate(ctx, connection("other", "333333333333", "444444444444", "env-a", "PENDING")))
	wantErr(t, "duplicate", s.AccountConnectionCreate(ctx, connection("c0", "x", "y", "z", "PENDING")), store.ErrAlreadyExists)
	wantErr(t, "second live connection", s.AccountConnectionCreate(ctx, connection("c9", "222222222222", "111111111111", "env-a", "PENDING")), store.ErrAlreadyExists)

	got, err := s.AccountConnectionGet(ctx, "c1")
	must(t, err)
	want := connection("c1", "222222222222", "111111111111", "env-b", "REJECTED")
	want.RequestedAt, want.LastModifiedAt, want.Version = stored, stored, 1
	same(t, "get", got, want)

	list := func(f store.AccountConnectionFilter) []string {
		var ids []string
		p := store.Page{Limit: 2}
		for {
			page, next, err := s.AccountConnectionList(ctx, f, p)
			must(t, err)
			for _, c := range page {
				ids = append(ids, c.ID)
			}
			if next == "" {
				return ids
			}
			p.After = next
		}
	}
	same(t, "management side", list(store.AccountConnectionFilter{ManagementSide: true, AccountID: "111111111111"}), []string{"c0", "c1", "c2", "c3", "c4", "c5"})
	same(t, "environment side", list(store.AccountConnectionFilter{AccountID: "333333333333"}), []string{"other"})
	same(t, "filtered", list(store.AccountConnectionFilter{AccountID: "222222222222", EnvironmentName: "env-a", Statuses: []string{"CONNECTED", "REJECTED"}}), []string{"c0", "c2", "c4"})

	stale := *got
	got.RoleArn = "arn:aws:iam::222222222222:role/other"
	must(t, s.AccountConnectionUpdate(ctx, got))
	wantErr(t, "stale", s.AccountConnectionUpdate(ctx, &stale), store.ErrConflict)
	must(t, s.AccountConnectionDelete(ctx, "c1"))
	wantErr(t, "delete again", s.AccountConnectionDelete(ctx, "c1"), store.ErrNotFound)
	_, err = s.AccountConnectionGet(ctx, "c1")
	wantErr(t, "get deleted", err, store.ErrNotFound)
}
