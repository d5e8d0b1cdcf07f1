// Package storetest is the one conformance suite every store driver must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openproton/openproton/internal/store"
)

// Opener opens a fresh, empty store for one test. reopen closes nothing: it opens the same
// database again (after the test closed the first handle) to check durability.
type Opener func(t *testing.T) (s store.Store, reopen func() store.Store)

// Exercise runs the suite.
func Exercise(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"AccessKeys", testAccessKeys},
		{"Secrets", testSecrets},
		{"AccountSettings", testAccountSettings},
		{"Tags", testTags},
		{"Templates", testTemplates},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"TxRollback", testTxRollback},
		{"Pagination", testPagination},
		{"Tenancy", testTenancy},
		{"ConcurrentCreate", testConcurrentCreate},
		{"Reopen", testReopen},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var ctx = context.Background()

// instant is a time with more than microsecond precision in a non-UTC zone, to check that
// drivers round-trip times identically.
var instant = time.Date(2026, 11, 28, 10, 30, 0, 123456789, time.FixedZone("X", 3600))

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testAccessKeys(t *testing.T, open Opener) {
	s, _ := open(t)
	k := &store.AccessKey{AccessKeyID: "AKIA1", SecretAccessKey: "s1", AccountID: "000000000000", Role: "admin", Description: "d", CreatedAt: instant}
	must(t, s.AccessKeyCreate(ctx, k))
	wantErr(t, "duplicate key", s.AccessKeyCreate(ctx, k), store.ErrAlreadyExists)
	must(t, s.AccessKeyCreate(ctx, &store.AccessKey{AccessKeyID: "AKIA2", SecretAccessKey: "s2", AccountID: "1", Role: "developer", CreatedAt: instant.Add(time.Second)}))

	got, err := s.AccessKeyGet(ctx, "AKIA1")
	must(t, err)
	want := instant.UTC().Truncate(time.Microsecond)
	if got.SecretAccessKey != "s1" || got.Role != "admin" || got.Description != "d" || !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("AccessKeyGet = %+v (created %v, want %v UTC)", got, got.CreatedAt, want)
	}
	_, err = s.AccessKeyGet(ctx, "nope")
	wantErr(t, "get missing key", err, store.ErrNotFound)

	list, err := s.AccessKeyList(ctx)
	must(t, err)
	if len(list) != 2 || list[0].AccessKeyID != "AKIA1" || list[1].AccessKeyID != "AKIA2" {
		t.Errorf("AccessKeyList = %v", list)
	}
	must(t, s.AccessKeyDelete(ctx, "AKIA1"))
	wantErr(t, "delete twice", s.AccessKeyDelete(ctx, "AKIA1"), store.ErrNotFound)
	_, err = s.AccessKeyGet(ctx, "AKIA1")
	wantErr(t, "get deleted key", err, store.ErrNotFound)
}

func testSecrets(t *testing.T, open Opener) {
	s, _ := open(t)
	const n = 8
	var wg sync.WaitGroup
	got := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = s.SecretGetOrCreate(ctx, "k", func() []byte { return []byte(fmt.Sprintf("value-%d", i)) })
		})
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if string(got[i]) != string(got[0]) {
			t.Fatalf("replicas disagree on the secret: %q vs %q", got[i], got[0])
		}
	}
	again, err := s.SecretGetOrCreate(ctx, "k", func() []byte { return []byte("other") })
	must(t, err)
	if string(again) != string(got[0]) {
		t.Errorf("secret changed: %q -> %q", got[0], again)
	}
}

func testAccountSettings(t *testing.T, open Opener) {
	s, _ := open(t)
	fresh, err := s.AccountSettingsGet(ctx, "000000000000")
	must(t, err)
	if fresh.Version != 0 || fresh.AccountID != "000000000000" || fresh.PipelineProvisioningRepository != nil {
		t.Fatalf("fresh settings = %+v", fresh)
	}
	fresh.PipelineServiceRoleArn = "arn:role"
	fresh.PipelineProvisioningRepository = &store.RepositoryBranch{ARN: "arn:repo", Provider: "GITHUB", Name: "o/r", Branch: "main"}
	fresh.UpdatedAt = instant
	must(t, s.AccountSettingsPut(ctx, fresh))
	if fresh.Version != 1 {
		t.Errorf("version after first put = %d", fresh.Version)
	}
	got, err := s.AccountSettingsGet(ctx, "000000000000")
	must(t, err)
	if got.PipelineServiceRoleArn != "arn:role" || got.PipelineProvisioningRepository == nil || *got.PipelineProvisioningRepository != *fresh.PipelineProvisioningRepository || got.Version != 1 {
		t.Errorf("settings = %+v", got)
	}

	stale := *got
	got.PipelineProvisioningRepository = nil
	must(t, s.AccountSettingsPut(ctx, got))
	wantErr(t, "stale put", s.AccountSettingsPut(ctx, &stale), store.ErrConflict)
	zero := &store.AccountSettings{AccountID: "000000000000"}
	wantErr(t, "second first-write", s.AccountSettingsPut(ctx, zero), store.ErrConflict)
	final, _ := s.AccountSettingsGet(ctx, "000000000000")
	if final.PipelineProvisioningRepository != nil || final.Version != 2 {
		t.Errorf("after conflicting writes = %+v", final)
	}
}

func testTags(t *testing.T, open Opener) {
	s, _ := open(t)
	arn := "arn:aws:proton:us-east-1:000000000000:environment-template/x"
	must(t, s.TagsPut(ctx, "a", arn, []store.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: ""}}))
	must(t, s.TagsPut(ctx, "a", arn, []store.Tag{{Key: "b", Value: "2"}}))
	n, err := s.TagsCount(ctx, "a", arn)
	must(t, err)
	if n != 2 {
		t.Errorf("count = %d", n)
	}
	tags, next, err := s.TagsList(ctx, "a", arn, store.Page{})
	must(t, err)
	if next != "" || len(tags) != 2 || tags[0] != (store.Tag{Key: "a", Value: ""}) || tags[1] != (store.Tag{Key: "b", Value: "2"}) {
		t.Errorf("tags = %v next %q", tags, next)
	}
	must(t, s.TagsDelete(ctx, "a", arn, []string{"a", "missing"}))
	tags, _, _ = s.TagsList(ctx, "a", arn, store.Page{})
	if len(tags) != 1 || tags[0].Key != "b" {
		t.Errorf("after delete = %v", tags)
	}
	must(t, s.TagsDeleteAll(ctx, "a", arn))
	if n, _ := s.TagsCount(ctx, "a", arn); n != 0 {
		t.Errorf("after delete all: %d", n)
	}
}

func envTemplate(account, name string) *store.EnvironmentTemplate {
	return &store.EnvironmentTemplate{AccountID: account, Name: name, DisplayName: "D " + name, Description: "desc",
		Provisioning: "CUSTOMER_MANAGED", CreatedAt: instant, LastModifiedAt: instant}
}

func testTemplates(t *testing.T, open Opener) {
	s, _ := open(t)
	e := envTemplate("a", "vpc")
	must(t, s.EnvironmentTemplateCreate(ctx, e))
	if e.Version != 1 {
		t.Errorf("version after create = %d", e.Version)
	}
	wantErr(t, "duplicate", s.EnvironmentTemplateCreate(ctx, envTemplate("a", "vpc")), store.ErrAlreadyExists)
	got, err := s.EnvironmentTemplateGet(ctx, "a", "vpc")
	must(t, err)
	if got.DisplayName != "D vpc" || got.Provisioning != "CUSTOMER_MANAGED" || !got.CreatedAt.Equal(instant.Truncate(time.Microsecond)) {
		t.Errorf("got %+v", got)
	}
	got.Description = "new"
	got.RecommendedVersion = "1.0"
	must(t, s.EnvironmentTemplateUpdate(ctx, got))
	again, _ := s.EnvironmentTemplateGet(ctx, "a", "vpc")
	if again.Description != "new" || again.RecommendedVersion != "1.0" || again.Version != 2 {
		t.Errorf("after update %+v", again)
	}
	must(t, s.EnvironmentTemplateDelete(ctx, "a", "vpc"))
	wantErr(t, "delete twice", s.EnvironmentTemplateDelete(ctx, "a", "vpc"), store.ErrNotFound)
	_, err = s.EnvironmentTemplateGet(ctx, "a", "vpc")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "update deleted", s.EnvironmentTemplateUpdate(ctx, again), store.ErrNotFound)

	st := &store.ServiceTemplate{AccountID: "a", Name: "api", PipelineProvisioning: "CUSTOMER_MANAGED", CreatedAt: instant, LastModifiedAt: instant}
	must(t, s.ServiceTemplateCreate(ctx, st))
	wantErr(t, "duplicate service template", s.ServiceTemplateCreate(ctx, &store.ServiceTemplate{AccountID: "a", Name: "api"}), store.ErrAlreadyExists)
	sg, err := s.ServiceTemplateGet(ctx, "a", "api")
	must(t, err)
	if sg.PipelineProvisioning != "CUSTOMER_MANAGED" {
		t.Errorf("service template %+v", sg)
	}
	sg.DisplayName = "API"
	must(t, s.ServiceTemplateUpdate(ctx, sg))
	if n, _ := s.ServiceTemplateCount(ctx, "a"); n != 1 {
		t.Errorf("service template count %d", n)
	}
	if n, _ := s.EnvironmentTemplateCount(ctx, "a"); n != 0 {
		t.Errorf("environment template count %d", n)
	}
	must(t, s.ServiceTemplateDelete(ctx, "a", "api"))
	_, err = s.ServiceTemplateGet(ctx, "a", "api")
	wantErr(t, "get deleted service template", err, store.ErrNotFound)
}

func testOptimisticConcurrency(t *testing.T, open Opener) {
	s, _ := open(t)
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "t")))
	first, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	second, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	first.Description = "first"
	must(t, s.EnvironmentTemplateUpdate(ctx, first))
	second.Description = "second"
	wantErr(t, "second writer", s.EnvironmentTemplateUpdate(ctx, second), store.ErrConflict)
	got, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	if got.Description != "first" {
		t.Errorf("the losing write landed: %q", got.Description)
	}

	must(t, s.ServiceTemplateCreate(ctx, &store.ServiceTemplate{AccountID: "a", Name: "s"}))
	a, _ := s.ServiceTemplateGet(ctx, "a", "s")
	b, _ := s.ServiceTemplateGet(ctx, "a", "s")
	must(t, s.ServiceTemplateUpdate(ctx, a))
	wantErr(t, "second service writer", s.ServiceTemplateUpdate(ctx, b), store.ErrConflict)
}

func testTxRollback(t *testing.T, open Opener) {
	s, _ := open(t)
	arn := "arn:x"
	boom := errors.New("boom")
	err := s.Tx(ctx, func(q store.Queries) error {
		must(t, q.EnvironmentTemplateCreate(ctx, envTemplate("a", "t")))
		must(t, q.TagsPut(ctx, "a", arn, []store.Tag{{Key: "k", Value: "v"}}))
		if _, err := q.EnvironmentTemplateGet(ctx, "a", "t"); err != nil {
			t.Errorf("read inside the transaction: %v", err)
		}
		return boom
	})
	wantErr(t, "tx", err, boom)
	_, err = s.EnvironmentTemplateGet(ctx, "a", "t")
	wantErr(t, "template after rollback", err, store.ErrNotFound)
	if n, _ := s.TagsCount(ctx, "a", arn); n != 0 {
		t.Errorf("tags after rollback: %d", n)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("panic was swallowed")
			}
		}()
		_ = s.Tx(ctx, func(q store.Queries) error {
			_ = q.EnvironmentTemplateCreate(ctx, envTemplate("a", "p"))
			panic("inside tx")
		})
	}()
	_, err = s.EnvironmentTemplateGet(ctx, "a", "p")
	wantErr(t, "template after panic", err, store.ErrNotFound)

	must(t, s.Tx(ctx, func(q store.Queries) error { return q.EnvironmentTemplateCreate(ctx, envTemplate("a", "ok")) }))
	if _, err := s.EnvironmentTemplateGet(ctx, "a", "ok"); err != nil {
		t.Errorf("committed template: %v", err)
	}
}

func testPagination(t *testing.T, open Opener) {
	s, _ := open(t)
	for i := range 25 {
		must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", fmt.Sprintf("t%02d", i))))
		must(t, s.TagsPut(ctx, "a", "arn:x", []store.Tag{{Key: fmt.Sprintf("K%02d", i), Value: "v"}}))
	}
	// Mixed case sorts by bytes in every driver.
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "Zed")))
	var names []string
	p := store.Page{Limit: 10}
	var sizes []int
	for {
		list, next, err := s.EnvironmentTemplateList(ctx, "a", p)
		must(t, err)
		sizes = append(sizes, len(list))
		for _, e := range list {
			names = append(names, e.Name)
		}
		if next == "" {
			break
		}
		p.After = next
	}
	if fmt.Sprint(sizes) != "[10 10 6]" || len(names) != 26 || names[0] != "Zed" || names[1] != "t00" || names[25] != "t24" {
		t.Errorf("pages %v names %v", sizes, names)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("duplicate %s", n)
		}
		seen[n] = true
	}
	tags, next, err := s.TagsList(ctx, "a", "arn:x", store.Page{Limit: 25})
	must(t, err)
	if len(tags) != 25 || next != "" {
		t.Errorf("exact last page: %d tags, next %q", len(tags), next)
	}
}

func testTenancy(t *testing.T, open Opener) {
	s, _ := open(t)
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "same")))
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("b", "same")))
	must(t, s.TagsPut(ctx, "a", "arn:x", []store.Tag{{Key: "k", Value: "a"}}))
	if n, _ := s.TagsCount(ctx, "b", "arn:x"); n != 0 {
		t.Errorf("account b sees a's tags")
	}
	must(t, s.EnvironmentTemplateDelete(ctx, "b", "same"))
	if _, err := s.EnvironmentTemplateGet(ctx, "a", "same"); err != nil {
		t.Errorf("deleting b's template removed a's: %v", err)
	}
	list, _, _ := s.EnvironmentTemplateList(ctx, "b", store.Page{})
	if len(list) != 0 {
		t.Errorf("account b lists %d templates", len(list))
	}
	a := &store.AccountSettings{AccountID: "a", PipelineServiceRoleArn: "r"}
	must(t, s.AccountSettingsPut(ctx, a))
	b, _ := s.AccountSettingsGet(ctx, "b")
	if b.PipelineServiceRoleArn != "" || b.Version != 0 {
		t.Errorf("account b sees a's settings: %+v", b)
	}
}

func testConcurrentCreate(t *testing.T, open Opener) {
	s, _ := open(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if err := q.EnvironmentTemplateCreate(ctx, envTemplate("a", "race")); err != nil {
					return err
				}
				return q.TagsPut(ctx, "a", "arn:race", []store.Tag{{Key: fmt.Sprint(i), Value: "v"}})
			})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d creates succeeded, want 1", ok)
	}
	if c, _ := s.TagsCount(ctx, "a", "arn:race"); c != 1 {
		t.Errorf("%d tag sets written, want the winner's only", c)
	}
}

func testReopen(t *testing.T, open Opener) {
	s, reopen := open(t)
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "kept")))
	must(t, s.AccessKeyCreate(ctx, &store.AccessKey{AccessKeyID: "K", SecretAccessKey: "S", AccountID: "a", Role: "admin", CreatedAt: instant}))
	secret, err := s.SecretGetOrCreate(ctx, "page", func() []byte { return []byte("first") })
	must(t, err)
	must(t, s.Close())

	s2 := reopen()
	defer s2.Close()
	if _, err := s2.EnvironmentTemplateGet(ctx, "a", "kept"); err != nil {
		t.Errorf("template after reopen: %v", err)
	}
	if k, err := s2.AccessKeyGet(ctx, "K"); err != nil || k.SecretAccessKey != "S" {
		t.Errorf("key after reopen: %v %v", k, err)
	}
	again, err := s2.SecretGetOrCreate(ctx, "page", func() []byte { return []byte("second") })
	if err != nil || string(again) != string(secret) {
		t.Errorf("secret after reopen: %q %v, want %q", again, err, secret)
	}
}
