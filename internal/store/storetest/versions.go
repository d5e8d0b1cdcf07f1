package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/openproton/openproton/internal/store"
)

func version(name string, major, minor int, status string) *store.TemplateVersion {
	return &store.TemplateVersion{
		VersionKey:                     store.VersionKey{AccountID: "a", TemplateType: store.ServiceTemplateType, TemplateName: name, Major: major, Minor: minor},
		Description:                    "d",
		Status:                         status,
		SourceBucket:                   "b",
		SourceKey:                      "k",
		Schema:                         "schema: {}",
		Bundle:                         []byte{0x1f, 0x8b, 0, 1},
		BundleDigest:                   "abc",
		CompatibleEnvironmentTemplates: []store.CompatibleTemplate{{TemplateName: "env", MajorVersion: "1"}},
		SupportedComponentSources:      []string{"DIRECTLY_DEFINED"},
		CreatedAt:                      instant,
		LastModifiedAt:                 instant,
	}
}

func testTemplateVersions(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	// Versions are ordered numerically: 2.10 after 2.9, 10.0 after 9.x.
	for _, mm := range [][2]int{{1, 0}, {1, 1}, {2, 9}, {2, 10}, {10, 0}, {9, 3}} {
		status := "DRAFT"
		if mm == [2]int{2, 9} || mm == [2]int{1, 0} {
			status = "PUBLISHED"
		}
		must(t, s.TemplateVersionCreate(ctx, version("api", mm[0], mm[1], status)))
	}
	wantErr(t, "duplicate", s.TemplateVersionCreate(ctx, version("api", 2, 9, "DRAFT")), store.ErrAlreadyExists)
	// Same numbers, other template type: a separate namespace.
	env := version("api", 1, 0, "DRAFT")
	env.TemplateType = store.EnvironmentTemplateType
	must(t, s.TemplateVersionCreate(ctx, env))

	got, err := s.TemplateVersionGet(ctx, store.VersionKey{AccountID: "a", TemplateType: store.ServiceTemplateType, TemplateName: "api", Major: 2, Minor: 10})
	must(t, err)
	want := version("api", 2, 10, "DRAFT")
	want.CreatedAt, want.LastModifiedAt, want.Version = stored, stored, 1
	wantBundle := want.Bundle
	want.Bundle = nil // reads leave the bundle out
	same(t, "get", got, want)
	b, err := s.TemplateVersionBundle(ctx, got.VersionKey)
	must(t, err)
	same(t, "bundle", b, wantBundle)

	var order []string
	p := store.Page{Limit: 4}
	for {
		list, next, err := s.TemplateVersionList(ctx, "a", store.ServiceTemplateType, "api", -1, p)
		must(t, err)
		for _, v := range list {
			order = append(order, fmt.Sprintf("%d.%d", v.Major, v.Minor))
		}
		if next == "" {
			break
		}
		p.After = next
	}
	if fmt.Sprint(order) != "[1.0 1.1 2.9 2.10 9.3 10.0]" {
		t.Errorf("version order = %v", order)
	}
	major2, _, err := s.TemplateVersionList(ctx, "a", store.ServiceTemplateType, "api", 2, store.Page{})
	must(t, err)
	if len(major2) != 2 || major2[1].Minor != 10 {
		t.Errorf("major 2 = %v", major2)
	}

	latest, err := s.TemplateVersionLatest(ctx, "a", store.ServiceTemplateType, "api", -1, false)
	must(t, err)
	if latest.Major != 10 || latest.Minor != 0 {
		t.Errorf("latest = %d.%d", latest.Major, latest.Minor)
	}
	pub, err := s.TemplateVersionLatest(ctx, "a", store.ServiceTemplateType, "api", -1, true)
	must(t, err)
	if pub.Major != 2 || pub.Minor != 9 {
		t.Errorf("latest published = %d.%d", pub.Major, pub.Minor)
	}
	inMajor, err := s.TemplateVersionLatest(ctx, "a", store.ServiceTemplateType, "api", 1, false)
	must(t, err)
	if inMajor.Minor != 1 {
		t.Errorf("latest of major 1 = %d.%d", inMajor.Major, inMajor.Minor)
	}
	_, err = s.TemplateVersionLatest(ctx, "a", store.ServiceTemplateType, "api", 9, true)
	wantErr(t, "no published in major 9", err, store.ErrNotFound)

	stale := *got
	got.Status, got.StatusMessage, got.LastModifiedAt = "PUBLISHED", "ok", instant.Add(time.Minute)
	must(t, s.TemplateVersionUpdate(ctx, got))
	if b, _ := s.TemplateVersionBundle(ctx, got.VersionKey); len(b) != len(wantBundle) {
		t.Errorf("an update without a bundle changed the stored one: %v", b)
	}
	got.Bundle = []byte("registered")
	must(t, s.TemplateVersionUpdate(ctx, got))
	if b, _ := s.TemplateVersionBundle(ctx, got.VersionKey); string(b) != "registered" {
		t.Errorf("bundle after update = %q", b)
	}
	wantErr(t, "stale update", s.TemplateVersionUpdate(ctx, &stale), store.ErrConflict)
	_, err = s.TemplateVersionBundle(ctx, store.VersionKey{AccountID: "a", TemplateType: store.ServiceTemplateType, TemplateName: "api", Major: 7, Minor: 7})
	wantErr(t, "bundle of a missing version", err, store.ErrNotFound)
	if n, _ := s.TemplateVersionCount(ctx, "a", store.ServiceTemplateType, "api"); n != 6 {
		t.Errorf("count = %d", n)
	}
	must(t, s.TemplateVersionDelete(ctx, got.VersionKey))
	wantErr(t, "delete twice", s.TemplateVersionDelete(ctx, got.VersionKey), store.ErrNotFound)
	_, err = s.TemplateVersionGet(ctx, got.VersionKey)
	wantErr(t, "get deleted", err, store.ErrNotFound)

	reg := version("reg", 1, 0, "REGISTRATION_IN_PROGRESS")
	must(t, s.TemplateVersionCreate(ctx, reg))
	pending, err := s.TemplateVersionsRegistering(ctx, 10)
	must(t, err)
	if len(pending) != 1 || pending[0].TemplateName != "reg" {
		t.Errorf("registering = %v", pending)
	}
}

func testIdempotency(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	now := time.Now()
	r := &store.IdempotencyRecord{AccountID: "a", Operation: "CreateX", Token: "tok", ParamsHash: "h1", Resource: "x:1.0", CreatedAt: now}
	must(t, s.IdempotencyPut(ctx, r))
	wantErr(t, "token reused", s.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: "a", Operation: "CreateX", Token: "tok", ParamsHash: "h2", CreatedAt: now}), store.ErrAlreadyExists)
	got, err := s.IdempotencyGet(ctx, "a", "CreateX", "tok")
	must(t, err)
	if got.ParamsHash != "h1" || got.Resource != "x:1.0" {
		t.Errorf("record = %+v", got)
	}
	// Other accounts and operations have their own tokens.
	must(t, s.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: "b", Operation: "CreateX", Token: "tok", CreatedAt: now}))
	must(t, s.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: "a", Operation: "CreateY", Token: "tok", CreatedAt: now}))

	// Tokens expire after 8 hours: an old one is not found and may be taken again.
	old := &store.IdempotencyRecord{AccountID: "a", Operation: "CreateX", Token: "old", ParamsHash: "h", CreatedAt: now.Add(-9 * time.Hour)}
	must(t, s.IdempotencyPut(ctx, old))
	_, err = s.IdempotencyGet(ctx, "a", "CreateX", "old")
	wantErr(t, "expired token", err, store.ErrNotFound)
	must(t, s.IdempotencyPut(ctx, &store.IdempotencyRecord{AccountID: "a", Operation: "CreateX", Token: "old", ParamsHash: "new", CreatedAt: now}))
	if got, _ := s.IdempotencyGet(ctx, "a", "CreateX", "old"); got == nil || got.ParamsHash != "new" {
		t.Errorf("re-taken token = %+v", got)
	}
	must(t, s.IdempotencyDelete(ctx, "a", "CreateX", "tok"))
	_, err = s.IdempotencyGet(ctx, "a", "CreateX", "tok")
	wantErr(t, "deleted token", err, store.ErrNotFound)
}
