package storetest

import (
	"testing"
	"time"

	"github.com/openproton/openproton/internal/store"
)

func testRepositories(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	repo := func(account, provider, name string) *store.Repository {
		return &store.Repository{AccountID: account, Provider: provider, Name: name, ARN: "arn:" + provider + ":" + name,
			ConnectionARN: "arn:aws:codestar-connections:us-east-1:111111111111:connection/c", CreatedAt: instant}
	}
	// Inserted out of order: the list comes back by provider, then name, and
	// GITHUB_ENTERPRISE sorts after every GITHUB repository.
	for _, r := range []*store.Repository{repo("a", "GITHUB_ENTERPRISE", "a/a"), repo("a", "GITHUB", "z/z"),
		repo("a", "BITBUCKET", "w/r"), repo("a", "GITHUB", "a/b"), repo("a", "GITHUB", "a/b-c"), repo("b", "GITHUB", "a/a")} {
		must(t, s.RepositoryCreate(ctx, r))
	}
	wantErr(t, "duplicate", s.RepositoryCreate(ctx, repo("a", "GITHUB", "a/b")), store.ErrAlreadyExists)

	got, err := s.RepositoryGet(ctx, "a", "GITHUB", "a/b")
	must(t, err)
	want := repo("a", "GITHUB", "a/b")
	want.CreatedAt = stored
	same(t, "get", got, want)
	_, err = s.RepositoryGet(ctx, "b", "GITHUB", "a/b")
	wantErr(t, "other account", err, store.ErrNotFound)

	var names []string
	p := store.Page{Limit: 2}
	for {
		list, next, err := s.RepositoryList(ctx, "a", p)
		must(t, err)
		for _, r := range list {
			names = append(names, r.Provider+" "+r.Name)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	same(t, "list order", names, []string{"BITBUCKET w/r", "GITHUB a/b", "GITHUB a/b-c", "GITHUB z/z", "GITHUB_ENTERPRISE a/a"})

	must(t, s.RepositoryDelete(ctx, "a", "GITHUB", "a/b"))
	wantErr(t, "delete again", s.RepositoryDelete(ctx, "a", "GITHUB", "a/b"), store.ErrNotFound)
	_, err = s.RepositoryGet(ctx, "a", "GITHUB", "a/b")
	wantErr(t, "get deleted", err, store.ErrNotFound)

	// Environments name the repository they provision through.
	e := environment("dev", "vpc", 1, 0) // its repository is GITHUB o/r
	must(t, s.EnvironmentCreate(ctx, e))
	plain := environment("plain", "vpc", 1, 0)
	plain.ProvisioningRepository = nil
	must(t, s.EnvironmentCreate(ctx, plain))
	users, err := s.EnvironmentsUsingRepository(ctx, "a", "GITHUB", "o/r", 10)
	must(t, err)
	same(t, "users", users, []string{"dev"})
	users, err = s.EnvironmentsUsingRepository(ctx, "a", "BITBUCKET", "o/r", 10)
	must(t, err)
	same(t, "no users", len(users), 0)

	held, err := s.RepositoryHold(ctx, "a", "GITHUB", "z/z")
	must(t, err)
	same(t, "held", held.Name, "z/z")
	_, err = s.RepositoryHold(ctx, "a", "GITHUB", "a/b")
	wantErr(t, "hold deleted", err, store.ErrNotFound)
}

// testOpenRequests: deployments handed on with an open request are found across accounts,
// oldest change first, and drop out once closed.
func testOpenRequests(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"late", "early", "closed"} {
		d := deployment(id, "dev", base.Add(time.Duration(i)*time.Second))
		if id == "late" {
			d.AccountID, d.LastModifiedAt = "b", base.Add(time.Hour)
		}
		d.Awaiting, d.Request, d.RequestOpen = true, `{"branch":"proton--proton-environment-`+id+`"}`, id != "closed"
		// Due at base ("late") and an hour later ("early"); "later" not yet.
		d.RequestCheckAt = base.Add(time.Duration(i) * time.Hour)
		must(t, s.DeploymentCreate(ctx, d))
	}
	notYet := deployment("later", "dev", base)
	notYet.Awaiting, notYet.Request, notYet.RequestOpen, notYet.RequestCheckAt = true, `{}`, true, base.Add(10*time.Hour)
	must(t, s.DeploymentCreate(ctx, notYet))
	list, err := s.DeploymentsWithOpenRequest(ctx, base.Add(2*time.Hour), 10)
	must(t, err)
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	same(t, "open requests", ids, []string{"late", "early"})
	same(t, "request kept", list[0].Request, `{"branch":"proton--proton-environment-late"}`)

	same(t, "check time kept", list[0].RequestCheckAt, base)
	d := list[1]
	d.RequestOpen, d.Awaiting = false, false
	must(t, s.DeploymentUpdate(ctx, d))
	got, err := s.DeploymentGet(ctx, "a", "early")
	must(t, err)
	same(t, "closed", got.RequestOpen, false)
	same(t, "request still recorded", got.Request, d.Request)
	list, err = s.DeploymentsWithOpenRequest(ctx, base.Add(2*time.Hour), 10)
	must(t, err)
	same(t, "left open", len(list), 1)
	// Rescheduled: it drops out until it is due again.
	list[0].RequestCheckAt = base.Add(5 * time.Hour)
	must(t, s.DeploymentUpdate(ctx, list[0]))
	list, err = s.DeploymentsWithOpenRequest(ctx, base.Add(2*time.Hour), 10)
	must(t, err)
	same(t, "none due", len(list), 0)
}
