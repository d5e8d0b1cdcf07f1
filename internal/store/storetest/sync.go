package storetest

import (
	"testing"
	"time"

	"github.com/openproton/openproton/internal/store"
)

func testSync(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	cfg := func(account, typ, name, branch string) *store.TemplateSyncConfig {
		return &store.TemplateSyncConfig{AccountID: account, TemplateType: typ, TemplateName: name, Provider: "GITHUB",
			Repository: "org/templates", Branch: branch, Subdirectory: "templates", CreatedAt: instant}
	}
	for _, c := range []*store.TemplateSyncConfig{cfg("222222222222", "environment", "b", "main"), cfg("111111111111", "service", "a", "dev"),
		cfg("111111111111", "environment", "z", "main"), cfg("111111111111", "environment", "a", "main")} {
		must(t, s.TemplateSyncConfigCreate(ctx, c))
	}
	wantErr(t, "duplicate", s.TemplateSyncConfigCreate(ctx, cfg("111111111111", "environment", "a", "dev")), store.ErrAlreadyExists)
	got, err := s.TemplateSyncConfigGet(ctx, "111111111111", "environment", "a")
	must(t, err)
	want := cfg("111111111111", "environment", "a", "main")
	want.CreatedAt, want.Version = stored, 1
	same(t, "get", got, want)

	// Every account's, in key order, across pages; or one account's.
	var keys []string
	p := store.Page{Limit: 3}
	for {
		list, next, err := s.TemplateSyncConfigList(ctx, "", p)
		must(t, err)
		for _, c := range list {
			keys = append(keys, c.AccountID+"/"+c.TemplateType+"/"+c.TemplateName)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	same(t, "all", keys, []string{"111111111111/environment/a", "111111111111/environment/z", "111111111111/service/a", "222222222222/environment/b"})
	mine, _, err := s.TemplateSyncConfigList(ctx, "222222222222", store.Page{})
	must(t, err)
	same(t, "one account", len(mine), 1)
	onMain, err := s.TemplateSyncConfigsOfRepository(ctx, "111111111111", "GITHUB", "org/templates", "main")
	must(t, err)
	same(t, "on main", len(onMain), 2)
	anyBranch, err := s.TemplateSyncConfigsOfRepository(ctx, "111111111111", "GITHUB", "org/templates", "")
	must(t, err)
	same(t, "any branch", len(anyBranch), 3)

	got.Branch = "release"
	must(t, s.TemplateSyncConfigUpdate(ctx, got))
	stale := *got
	stale.Version = 1
	wantErr(t, "stale update", s.TemplateSyncConfigUpdate(ctx, &stale), store.ErrConflict)
	must(t, s.TemplateSyncConfigDelete(ctx, "111111111111", "environment", "a"))
	wantErr(t, "delete again", s.TemplateSyncConfigDelete(ctx, "111111111111", "environment", "a"), store.ErrNotFound)

	// Attempts: the latest, and the latest that succeeded.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range []string{"SUCCEEDED", "FAILED", "SUCCEEDED", "IN_PROGRESS"} {
		a := &store.SyncAttempt{AccountID: "111111111111", ID: string(rune('a' + i)), SyncType: "TEMPLATE_SYNC", Target: "environment/z/1",
			StartedAt: base.Add(time.Duration(i) * time.Minute), Status: st, InitialRevision: "{}", TargetRevision: "{}", Events: "[]", Digest: st}
		must(t, s.SyncAttemptCreate(ctx, a))
	}
	latest, err := s.SyncAttemptLatest(ctx, "111111111111", "TEMPLATE_SYNC", "environment/z/1", false)
	must(t, err)
	same(t, "latest", latest.ID, "d")
	ok, err := s.SyncAttemptLatest(ctx, "111111111111", "TEMPLATE_SYNC", "environment/z/1", true)
	must(t, err)
	same(t, "latest successful", ok.ID, "c")
	latest.Status, latest.Events = "SUCCEEDED", `[{"event":"done"}]`
	must(t, s.SyncAttemptUpdate(ctx, latest))
	ok, err = s.SyncAttemptLatest(ctx, "111111111111", "TEMPLATE_SYNC", "environment/z/1", true)
	must(t, err)
	same(t, "now the newest succeeded", ok.Events, `[{"event":"done"}]`)
	_, err = s.SyncAttemptLatest(ctx, "111111111111", "TEMPLATE_SYNC", "environment/other/1", false)
	wantErr(t, "no attempts", err, store.ErrNotFound)
	// The newest with a digest, whatever its status ("d" was given one above).
	withDigest, err := s.SyncAttemptLatestWithDigest(ctx, "111111111111", "TEMPLATE_SYNC", "environment/z/1")
	must(t, err)
	same(t, "with digest", withDigest.ID, "d")

	// Heads: written over.
	_, err = s.SyncHeadGet(ctx, "111111111111", "GITHUB", "org/templates", "main", "TEMPLATE_SYNC")
	wantErr(t, "no head yet", err, store.ErrNotFound)
	for _, sha := range []string{"aaa", "bbb"} {
		must(t, s.SyncHeadPut(ctx, &store.SyncHead{AccountID: "111111111111", Provider: "GITHUB", Repository: "org/templates", Branch: "main",
			SyncType: "TEMPLATE_SYNC", SHA: sha, SyncedAt: instant}))
	}
	h, err := s.SyncHeadGet(ctx, "111111111111", "GITHUB", "org/templates", "main", "TEMPLATE_SYNC")
	must(t, err)
	same(t, "head", h.SHA, "bbb")
}

func testServiceSync(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	for _, c := range []*store.ServiceSyncConfig{{AccountID: "2", ServiceName: "a"}, {AccountID: "1", ServiceName: "b"}, {AccountID: "1", ServiceName: "a"}} {
		c.Provider, c.Repository, c.Branch, c.FilePath, c.CreatedAt = "GITHUB", "org/ops", "main", "proton-ops.yaml", instant
		must(t, s.ServiceSyncConfigCreate(ctx, c))
	}
	wantErr(t, "duplicate", s.ServiceSyncConfigCreate(ctx, &store.ServiceSyncConfig{AccountID: "1", ServiceName: "a"}), store.ErrAlreadyExists)
	var keys []string
	p := store.Page{Limit: 2}
	for {
		list, next, err := s.ServiceSyncConfigList(ctx, p)
		must(t, err)
		for _, c := range list {
			keys = append(keys, c.AccountID+"/"+c.ServiceName)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	same(t, "list", keys, []string{"1/a", "1/b", "2/a"})
	c, err := s.ServiceSyncConfigGet(ctx, "1", "a")
	must(t, err)
	c.FilePath = "ops/proton-ops.yaml"
	must(t, s.ServiceSyncConfigUpdate(ctx, c))
	c, err = s.ServiceSyncConfigGet(ctx, "1", "a")
	must(t, err)
	same(t, "updated", c.FilePath, "ops/proton-ops.yaml")
	must(t, s.ServiceSyncConfigDelete(ctx, "1", "a"))
	_, err = s.ServiceSyncConfigGet(ctx, "1", "a")
	wantErr(t, "deleted", err, store.ErrNotFound)

	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, inst := range []string{"east", "east", "west", ""} {
		b := &store.SyncBlocker{AccountID: "1", ID: string(rune('a' + i)), ServiceName: "svc", InstanceName: inst, Type: "AUTOMATED", Status: "ACTIVE",
			CreatedReason: "manual", CreatedAt: base.Add(time.Duration(i) * time.Minute), Contexts: []store.Tag{{Key: "serviceInstanceName", Value: inst}}}
		must(t, s.SyncBlockerCreate(ctx, b))
	}
	east, err := s.SyncBlockerList(ctx, "1", "svc", "east", false, 10)
	must(t, err)
	same(t, "east, newest first", []string{east[0].ID, east[1].ID}, []string{"b", "a"})
	same(t, "contexts", east[0].Contexts, []store.Tag{{Key: "serviceInstanceName", Value: "east"}})
	b := east[1]
	b.Status, b.ResolvedReason, b.ResolvedAt = "RESOLVED", "fixed", instant
	must(t, s.SyncBlockerUpdate(ctx, b))
	active, err := s.SyncBlockerList(ctx, "1", "svc", "east", true, 10)
	must(t, err)
	same(t, "active", len(active), 1)
	got, err := s.SyncBlockerGet(ctx, "1", "a")
	must(t, err)
	same(t, "resolved", []any{got.Status, got.ResolvedReason, got.ResolvedAt}, []any{"RESOLVED", "fixed", stored})
	service, err := s.SyncBlockerList(ctx, "1", "svc", "", true, 10)
	must(t, err)
	same(t, "service-level", len(service), 1)
}
