// Package storetest is the one conformance suite every store driver must pass. It checks
// behaviour a caller would notice, identically for every driver.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openproton/openproton/internal/store"
)

// Opener opens a fresh, empty store for one test and closes it when the test ends. reopen
// opens the same database again, as another process would; the test closes what reopen
// returns. reopen may be called while the first store is still open (two replicas) or
// after the test closed it (restart).
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
		{"EnvironmentTemplates", testEnvironmentTemplates},
		{"ServiceTemplates", testServiceTemplates},
		{"OptimisticConcurrency", testOptimisticConcurrency},
		{"Tx", testTx},
		{"Pagination", testPagination},
		{"Tenancy", testTenancy},
		{"ConcurrentCreate", testConcurrentCreate},
		{"Replicas", testReplicas},
		{"Reopen", testReopen},
		{"TemplateVersions", testTemplateVersions},
		{"Idempotency", testIdempotency},
		{"Environments", testEnvironments},
		{"Deployments", testDeployments},
		{"AccountConnections", testAccountConnections},
		{"Services", testServices},
		{"Repositories", testRepositories},
		{"OpenRequests", testOpenRequests},
		{"Sync", testSync},
		{"ServiceSync", testServiceSync},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// instant has nanoseconds and a non-UTC zone; every driver must return exactly stored.
var (
	instant = time.Date(2026, 11, 28, 10, 30, 0, 123456789, time.FixedZone("X", 3600))
	stored  = time.Date(2026, 11, 28, 9, 30, 0, 123456000, time.UTC)
)

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

// same compares records field by field; times must be equal including their location.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a == b })); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func envTemplate(account, name string) *store.EnvironmentTemplate {
	return &store.EnvironmentTemplate{AccountID: account, Name: name, DisplayName: "D " + name, Description: "desc",
		EncryptionKey: "arn:kms", Provisioning: "CUSTOMER_MANAGED", CreatedAt: instant, LastModifiedAt: instant}
}

func svcTemplate(account, name string) *store.ServiceTemplate {
	return &store.ServiceTemplate{AccountID: account, Name: name, DisplayName: "D " + name, Description: "desc",
		EncryptionKey: "arn:kms", PipelineProvisioning: "CUSTOMER_MANAGED", CreatedAt: instant, LastModifiedAt: instant}
}

func testAccessKeys(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	k := &store.AccessKey{AccessKeyID: "AKIA1", SecretAccessKey: "s1", AccountID: "000000000000", Role: "admin", Description: "d", CreatedAt: instant}
	must(t, s.AccessKeyCreate(ctx, k))
	wantErr(t, "duplicate key", s.AccessKeyCreate(ctx, &store.AccessKey{AccessKeyID: "AKIA1", SecretAccessKey: "other"}), store.ErrAlreadyExists)
	// Created later but sorting first by id: the list is by creation time.
	must(t, s.AccessKeyCreate(ctx, &store.AccessKey{AccessKeyID: "AKIA0", SecretAccessKey: "s0", AccountID: "1", Role: "developer", CreatedAt: instant.Add(time.Second)}))

	got, err := s.AccessKeyGet(ctx, "AKIA1")
	must(t, err)
	same(t, "AccessKeyGet", got, &store.AccessKey{AccessKeyID: "AKIA1", SecretAccessKey: "s1", AccountID: "000000000000", Role: "admin", Description: "d", CreatedAt: stored})
	_, err = s.AccessKeyGet(ctx, "nope")
	wantErr(t, "get missing key", err, store.ErrNotFound)

	list, err := s.AccessKeyList(ctx)
	must(t, err)
	same(t, "AccessKeyList (no secrets, by creation)", list, []*store.AccessKey{
		{AccessKeyID: "AKIA1", AccountID: "000000000000", Role: "admin", Description: "d", CreatedAt: stored},
		{AccessKeyID: "AKIA0", AccountID: "1", Role: "developer", CreatedAt: stored.Add(time.Second)},
	})

	must(t, s.AccessKeyDelete(ctx, "AKIA1"))
	wantErr(t, "delete twice", s.AccessKeyDelete(ctx, "AKIA1"), store.ErrNotFound)
	_, err = s.AccessKeyGet(ctx, "AKIA1")
	wantErr(t, "get deleted key", err, store.ErrNotFound)
	if list, _ := s.AccessKeyList(ctx); len(list) != 1 {
		t.Errorf("after delete: %d keys", len(list))
	}
}

func testSecrets(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	const n = 8
	var wg sync.WaitGroup
	got := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = s.SecretGetOrCreate(ctx, "k", func() []byte { return []byte{0, byte(i), 0xff} })
		})
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if !bytes.Equal(got[i], got[0]) || len(got[i]) != 3 {
			t.Fatalf("callers disagree on the secret: %x vs %x", got[i], got[0])
		}
	}
	var calls atomic.Int32
	again, err := s.SecretGetOrCreate(ctx, "k", func() []byte { calls.Add(1); return []byte("other") })
	must(t, err)
	if !bytes.Equal(again, got[0]) || calls.Load() != 0 {
		t.Errorf("existing secret: got %x (generate called %d times), want %x", again, calls.Load(), got[0])
	}
	other, err := s.SecretGetOrCreate(ctx, "other", func() []byte { return []byte("o") })
	must(t, err)
	if string(other) != "o" {
		t.Errorf("second secret = %q", other)
	}
}

func testAccountSettings(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	fresh, err := s.AccountSettingsGet(ctx, "000000000000")
	must(t, err)
	same(t, "never-written settings", fresh, &store.AccountSettings{AccountID: "000000000000"})

	wantErr(t, "put a version that was never stored", s.AccountSettingsPut(ctx, &store.AccountSettings{AccountID: "000000000000", Version: 3}), store.ErrConflict)

	fresh.PipelineServiceRoleArn = "arn:role"
	fresh.PipelineCodebuildRoleArn = "arn:cb"
	fresh.PipelineProvisioningRepository = &store.RepositoryBranch{ARN: "arn:repo", Provider: "GITHUB", Name: "o/r", Branch: "main"}
	fresh.UpdatedAt = instant
	must(t, s.AccountSettingsPut(ctx, fresh))
	if fresh.Version != 1 {
		t.Errorf("version after first put = %d", fresh.Version)
	}
	got, err := s.AccountSettingsGet(ctx, "000000000000")
	must(t, err)
	same(t, "settings", got, &store.AccountSettings{AccountID: "000000000000", PipelineServiceRoleArn: "arn:role", PipelineCodebuildRoleArn: "arn:cb",
		PipelineProvisioningRepository: &store.RepositoryBranch{ARN: "arn:repo", Provider: "GITHUB", Name: "o/r", Branch: "main"}, Version: 1, UpdatedAt: stored})

	stale := *got
	got.PipelineProvisioningRepository = nil
	got.UpdatedAt = instant.Add(time.Minute)
	must(t, s.AccountSettingsPut(ctx, got))
	if got.Version != 2 {
		t.Errorf("version after second put = %d", got.Version)
	}
	wantErr(t, "stale put", s.AccountSettingsPut(ctx, &stale), store.ErrConflict)
	wantErr(t, "second first-write", s.AccountSettingsPut(ctx, &store.AccountSettings{AccountID: "000000000000"}), store.ErrConflict)
	final, err := s.AccountSettingsGet(ctx, "000000000000")
	must(t, err)
	same(t, "after conflicting writes", final, &store.AccountSettings{AccountID: "000000000000", PipelineServiceRoleArn: "arn:role", PipelineCodebuildRoleArn: "arn:cb",
		Version: 2, UpdatedAt: stored.Add(time.Minute)})
}

func testTags(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	arn := "arn:aws:proton:us-east-1:000000000000:environment-template/x"
	must(t, s.TagsPut(ctx, "a", arn, nil))
	must(t, s.TagsPut(ctx, "a", arn, []store.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: ""}, {Key: "c", Value: "x"}, {Key: "c", Value: "last wins"}}))
	must(t, s.TagsPut(ctx, "a", arn, []store.Tag{{Key: "b", Value: "2"}}))
	must(t, s.TagsPut(ctx, "a", arn+"-other", []store.Tag{{Key: "z", Value: "other resource"}}))
	n, err := s.TagsCount(ctx, "a", arn)
	must(t, err)
	if n != 3 {
		t.Errorf("count = %d, want 3", n)
	}
	tags, next, err := s.TagsList(ctx, "a", arn, store.Page{})
	must(t, err)
	same(t, "tags", tags, []store.Tag{{Key: "a", Value: ""}, {Key: "b", Value: "2"}, {Key: "c", Value: "last wins"}})
	if next != "" {
		t.Errorf("next = %q on the only page", next)
	}

	must(t, s.TagsDelete(ctx, "a", arn, nil))
	must(t, s.TagsDelete(ctx, "a", arn, []string{"a", "missing", "c"}))
	tags, _, err = s.TagsList(ctx, "a", arn, store.Page{})
	must(t, err)
	same(t, "after delete", tags, []store.Tag{{Key: "b", Value: "2"}})

	must(t, s.TagsDeleteAll(ctx, "a", arn))
	must(t, s.TagsDeleteAll(ctx, "a", arn))
	if n, _ := s.TagsCount(ctx, "a", arn); n != 0 {
		t.Errorf("after delete all: %d", n)
	}
	if tags, next, _ := s.TagsList(ctx, "a", arn, store.Page{}); len(tags) != 0 || next != "" {
		t.Errorf("after delete all: %v %q", tags, next)
	}
	if n, _ := s.TagsCount(ctx, "a", arn+"-other"); n != 1 {
		t.Errorf("deleting one resource's tags touched another's")
	}
}

func testEnvironmentTemplates(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	e := envTemplate("a", "vpc")
	must(t, s.EnvironmentTemplateCreate(ctx, e))
	if e.Version != 1 {
		t.Errorf("version after create = %d", e.Version)
	}
	dup := envTemplate("a", "vpc")
	wantErr(t, "duplicate", s.EnvironmentTemplateCreate(ctx, dup), store.ErrAlreadyExists)
	got, err := s.EnvironmentTemplateGet(ctx, "a", "vpc")
	must(t, err)
	want := &store.EnvironmentTemplate{AccountID: "a", Name: "vpc", DisplayName: "D vpc", Description: "desc", EncryptionKey: "arn:kms",
		Provisioning: "CUSTOMER_MANAGED", CreatedAt: stored, LastModifiedAt: stored, Version: 1}
	same(t, "get", got, want)
	_, err = s.EnvironmentTemplateGet(ctx, "a", "nope")
	wantErr(t, "get missing", err, store.ErrNotFound)

	got.Description = "new"
	got.RecommendedVersion = "1"
	got.Provisioning = ""
	got.LastModifiedAt = instant.Add(time.Hour)
	must(t, s.EnvironmentTemplateUpdate(ctx, got))
	if got.Version != 2 {
		t.Errorf("version after update = %d", got.Version)
	}
	again, err := s.EnvironmentTemplateGet(ctx, "a", "vpc")
	must(t, err)
	want.Description, want.RecommendedVersion, want.Provisioning, want.LastModifiedAt, want.Version = "new", "1", "", stored.Add(time.Hour), 2
	same(t, "after update", again, want)

	list, next, err := s.EnvironmentTemplateList(ctx, "a", store.Page{})
	must(t, err)
	same(t, "list", list, []*store.EnvironmentTemplate{want})
	if next != "" {
		t.Errorf("next = %q", next)
	}
	if n, err := s.EnvironmentTemplateCount(ctx, "a"); err != nil || n != 1 {
		t.Errorf("count = %d, %v", n, err)
	}

	must(t, s.EnvironmentTemplateDelete(ctx, "a", "vpc"))
	wantErr(t, "delete twice", s.EnvironmentTemplateDelete(ctx, "a", "vpc"), store.ErrNotFound)
	_, err = s.EnvironmentTemplateGet(ctx, "a", "vpc")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "update deleted", s.EnvironmentTemplateUpdate(ctx, again), store.ErrNotFound)
	if n, _ := s.EnvironmentTemplateCount(ctx, "a"); n != 0 {
		t.Errorf("count after delete = %d", n)
	}
	// The name is free again.
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "vpc")))
}

func testServiceTemplates(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	st := svcTemplate("a", "api")
	must(t, s.ServiceTemplateCreate(ctx, st))
	if st.Version != 1 {
		t.Errorf("version after create = %d", st.Version)
	}
	wantErr(t, "duplicate", s.ServiceTemplateCreate(ctx, svcTemplate("a", "api")), store.ErrAlreadyExists)
	// Environment and service templates are separate namespaces.
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "api")))

	got, err := s.ServiceTemplateGet(ctx, "a", "api")
	must(t, err)
	want := &store.ServiceTemplate{AccountID: "a", Name: "api", DisplayName: "D api", Description: "desc", EncryptionKey: "arn:kms",
		PipelineProvisioning: "CUSTOMER_MANAGED", CreatedAt: stored, LastModifiedAt: stored, Version: 1}
	same(t, "get", got, want)
	_, err = s.ServiceTemplateGet(ctx, "a", "nope")
	wantErr(t, "get missing", err, store.ErrNotFound)

	got.DisplayName = "API"
	got.RecommendedVersion = "2"
	got.PipelineProvisioning = ""
	must(t, s.ServiceTemplateUpdate(ctx, got))
	want.DisplayName, want.RecommendedVersion, want.PipelineProvisioning, want.Version = "API", "2", "", 2
	again, err := s.ServiceTemplateGet(ctx, "a", "api")
	must(t, err)
	same(t, "after update", again, want)

	list, next, err := s.ServiceTemplateList(ctx, "a", store.Page{})
	must(t, err)
	same(t, "list", list, []*store.ServiceTemplate{want})
	if next != "" {
		t.Errorf("next = %q", next)
	}
	if n, err := s.ServiceTemplateCount(ctx, "a"); err != nil || n != 1 {
		t.Errorf("count = %d, %v", n, err)
	}

	must(t, s.ServiceTemplateDelete(ctx, "a", "api"))
	wantErr(t, "delete twice", s.ServiceTemplateDelete(ctx, "a", "api"), store.ErrNotFound)
	_, err = s.ServiceTemplateGet(ctx, "a", "api")
	wantErr(t, "get deleted", err, store.ErrNotFound)
	wantErr(t, "update deleted", s.ServiceTemplateUpdate(ctx, again), store.ErrNotFound)
	if _, err := s.EnvironmentTemplateGet(ctx, "a", "api"); err != nil {
		t.Errorf("deleting the service template removed the environment template: %v", err)
	}
}

func testOptimisticConcurrency(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "t")))
	first, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	second, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	first.Description = "first"
	must(t, s.EnvironmentTemplateUpdate(ctx, first))
	second.Description = "second"
	wantErr(t, "second writer", s.EnvironmentTemplateUpdate(ctx, second), store.ErrConflict)
	if second.Version != 1 {
		t.Errorf("a failed update changed the caller's version to %d", second.Version)
	}
	got, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	if got.Description != "first" || got.Version != 2 {
		t.Errorf("after the race: %q version %d", got.Description, got.Version)
	}

	must(t, s.ServiceTemplateCreate(ctx, svcTemplate("a", "s")))
	a, _ := s.ServiceTemplateGet(ctx, "a", "s")
	b, _ := s.ServiceTemplateGet(ctx, "a", "s")
	must(t, s.ServiceTemplateUpdate(ctx, a))
	wantErr(t, "second service writer", s.ServiceTemplateUpdate(ctx, b), store.ErrConflict)

	// Many writers from the same read: exactly one wins.
	const n = 8
	base, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			mine := *base
			mine.Description = fmt.Sprint("writer ", i)
			errs[i] = s.EnvironmentTemplateUpdate(ctx, &mine)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("concurrent update: %v", err)
		}
	}
	final, _ := s.EnvironmentTemplateGet(ctx, "a", "t")
	if won != 1 || final.Version != base.Version+1 {
		t.Errorf("%d of %d concurrent updates won, version %d -> %d", won, n, base.Version, final.Version)
	}
}

func testTx(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	arn := "arn:x"
	boom := errors.New("boom")
	err := s.Tx(ctx, func(q store.Queries) error {
		must(t, q.EnvironmentTemplateCreate(ctx, envTemplate("a", "t")))
		must(t, q.TagsPut(ctx, "a", arn, []store.Tag{{Key: "k", Value: "v"}}))
		must(t, q.AccountSettingsPut(ctx, &store.AccountSettings{AccountID: "a", PipelineServiceRoleArn: "r"}))
		if _, err := q.EnvironmentTemplateGet(ctx, "a", "t"); err != nil {
			t.Errorf("read inside the transaction: %v", err)
		}
		if n, _ := q.TagsCount(ctx, "a", arn); n != 1 {
			t.Errorf("tags inside the transaction: %d", n)
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	wantErr(t, "tx", err, boom)
	_, err = s.EnvironmentTemplateGet(ctx, "a", "t")
	wantErr(t, "template after rollback", err, store.ErrNotFound)
	if n, _ := s.TagsCount(ctx, "a", arn); n != 0 {
		t.Errorf("tags after rollback: %d", n)
	}
	if st, _ := s.AccountSettingsGet(ctx, "a"); st.Version != 0 {
		t.Errorf("settings after rollback: %+v", st)
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

	// A sentinel error inside a transaction leaves it usable: callers may carry on.
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "taken")))
	must(t, s.Tx(ctx, func(q store.Queries) error {
		wantErr(t, "duplicate in tx", q.EnvironmentTemplateCreate(ctx, envTemplate("a", "taken")), store.ErrAlreadyExists)
		_, err := q.ServiceTemplateGet(ctx, "a", "missing")
		wantErr(t, "missing in tx", err, store.ErrNotFound)
		stale := envTemplate("a", "taken")
		stale.Version = 9
		wantErr(t, "conflict in tx", q.EnvironmentTemplateUpdate(ctx, stale), store.ErrConflict)
		if err := q.EnvironmentTemplateCreate(ctx, envTemplate("a", "ok")); err != nil {
			return err
		}
		return q.TagsPut(ctx, "a", arn, []store.Tag{{Key: "committed", Value: "yes"}})
	}))
	if _, err := s.EnvironmentTemplateGet(ctx, "a", "ok"); err != nil {
		t.Errorf("committed template: %v", err)
	}
	if n, _ := s.TagsCount(ctx, "a", arn); n != 1 {
		t.Errorf("committed tags: %d", n)
	}
}

// pages lists everything with the given limit, returning the page sizes and the keys.
func pages(t *testing.T, limit int, list func(store.Page) ([]string, string, error)) (sizes []int, keys []string) {
	t.Helper()
	p := store.Page{Limit: limit}
	for range 100 {
		got, next, err := list(p)
		must(t, err)
		sizes = append(sizes, len(got))
		keys = append(keys, got...)
		if next == "" {
			return sizes, keys
		}
		if next != got[len(got)-1] {
			t.Fatalf("next = %q, want the page's last key %q", next, got[len(got)-1])
		}
		p.After = next
	}
	t.Fatal("pagination does not end")
	return nil, nil
}

func envNames(s store.Store, t *testing.T, account string) func(store.Page) ([]string, string, error) {
	return func(p store.Page) ([]string, string, error) {
		list, next, err := s.EnvironmentTemplateList(t.Context(), account, p)
		var names []string
		for _, e := range list {
			names = append(names, e.Name)
		}
		return names, next, err
	}
}

func testPagination(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	var want []string
	var tags []store.Tag
	for i := range 25 {
		name := fmt.Sprintf("t%02d", i)
		want = append(want, name)
		must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", name)))
		must(t, s.ServiceTemplateCreate(ctx, svcTemplate("a", name)))
		tags = append(tags, store.Tag{Key: name, Value: "v"})
	}
	must(t, s.TagsPut(ctx, "a", "arn:x", tags))

	check := func(what string, sizes []int, keys []string, wantSizes string) {
		t.Helper()
		if fmt.Sprint(sizes) != wantSizes || fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Errorf("%s: pages %v, keys %v", what, sizes, keys)
		}
	}
	sizes, keys := pages(t, 10, envNames(s, t, "a"))
	check("environment templates", sizes, keys, "[10 10 5]")
	sizes, keys = pages(t, 10, func(p store.Page) ([]string, string, error) {
		list, next, err := s.ServiceTemplateList(ctx, "a", p)
		var names []string
		for _, e := range list {
			names = append(names, e.Name)
		}
		return names, next, err
	})
	check("service templates", sizes, keys, "[10 10 5]")
	tagKeys := func(p store.Page) ([]string, string, error) {
		list, next, err := s.TagsList(ctx, "a", "arn:x", p)
		var keys []string
		for _, tg := range list {
			keys = append(keys, tg.Key)
		}
		return keys, next, err
	}
	sizes, keys = pages(t, 10, tagKeys)
	check("tags", sizes, keys, "[10 10 5]")
	// A page that ends exactly at the last row says there is no next page.
	sizes, keys = pages(t, 25, tagKeys)
	check("tags, one exact page", sizes, keys, "[25]")
	sizes, keys = pages(t, 0, tagKeys)
	check("tags, default limit", sizes, keys, "[25]")

	// The bound is a key, not a position: it need not exist, and rows deleted behind the
	// cursor neither repeat nor skip rows ahead of it.
	list, _, err := s.EnvironmentTemplateList(ctx, "a", store.Page{After: "t04x", Limit: 1})
	must(t, err)
	if len(list) != 1 || list[0].Name != "t05" {
		t.Errorf("after a missing key: %v", list)
	}
	must(t, s.EnvironmentTemplateDelete(ctx, "a", "t03"))
	list, _, err = s.EnvironmentTemplateList(ctx, "a", store.Page{After: "t09", Limit: 1})
	must(t, err)
	if len(list) != 1 || list[0].Name != "t10" {
		t.Errorf("after deleting behind the cursor: %v", list)
	}

	// Keys sort by bytes in every driver: upper case before lower, no locale rules.
	for _, n := range []string{"Zed", "a-b", "a_b", "ab", "é"} {
		must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("bytes", n)))
	}
	_, keys = pages(t, 2, envNames(s, t, "bytes"))
	if fmt.Sprint(keys) != "[Zed a-b a_b ab é]" {
		t.Errorf("byte order: %v", keys)
	}

	// The default page is 100 rows.
	var many []store.Tag
	for i := range 101 {
		many = append(many, store.Tag{Key: fmt.Sprintf("k%03d", i), Value: "v"})
	}
	must(t, s.TagsPut(ctx, "a", "arn:many", many))
	got, next, err := s.TagsList(ctx, "a", "arn:many", store.Page{})
	must(t, err)
	if len(got) != 100 || next != "k099" {
		t.Errorf("default page: %d tags, next %q", len(got), next)
	}
}

func testTenancy(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "same")))
	must(t, s.ServiceTemplateCreate(ctx, svcTemplate("a", "same")))
	must(t, s.TagsPut(ctx, "a", "arn:x", []store.Tag{{Key: "k", Value: "a"}}))
	must(t, s.AccountSettingsPut(ctx, &store.AccountSettings{AccountID: "a", PipelineServiceRoleArn: "r"}))

	_, err := s.EnvironmentTemplateGet(ctx, "b", "same")
	wantErr(t, "b gets a's environment template", err, store.ErrNotFound)
	_, err = s.ServiceTemplateGet(ctx, "b", "same")
	wantErr(t, "b gets a's service template", err, store.ErrNotFound)
	wantErr(t, "b updates a's environment template", s.EnvironmentTemplateUpdate(ctx, &store.EnvironmentTemplate{AccountID: "b", Name: "same", Version: 1}), store.ErrNotFound)
	wantErr(t, "b updates a's service template", s.ServiceTemplateUpdate(ctx, &store.ServiceTemplate{AccountID: "b", Name: "same", Version: 1}), store.ErrNotFound)
	wantErr(t, "b deletes a's environment template", s.EnvironmentTemplateDelete(ctx, "b", "same"), store.ErrNotFound)
	wantErr(t, "b deletes a's service template", s.ServiceTemplateDelete(ctx, "b", "same"), store.ErrNotFound)
	if l, _, _ := s.EnvironmentTemplateList(ctx, "b", store.Page{}); len(l) != 0 {
		t.Errorf("b lists %d environment templates", len(l))
	}
	if l, _, _ := s.ServiceTemplateList(ctx, "b", store.Page{}); len(l) != 0 {
		t.Errorf("b lists %d service templates", len(l))
	}
	if n, _ := s.EnvironmentTemplateCount(ctx, "b"); n != 0 {
		t.Errorf("b counts %d environment templates", n)
	}
	if n, _ := s.ServiceTemplateCount(ctx, "b"); n != 0 {
		t.Errorf("b counts %d service templates", n)
	}
	if n, _ := s.TagsCount(ctx, "b", "arn:x"); n != 0 {
		t.Errorf("b counts a's tags")
	}
	if l, _, _ := s.TagsList(ctx, "b", "arn:x", store.Page{}); len(l) != 0 {
		t.Errorf("b lists a's tags")
	}
	must(t, s.TagsDeleteAll(ctx, "b", "arn:x"))
	must(t, s.TagsPut(ctx, "b", "arn:x", []store.Tag{{Key: "k", Value: "b"}}))
	if b, _ := s.AccountSettingsGet(ctx, "b"); b.PipelineServiceRoleArn != "" || b.Version != 0 {
		t.Errorf("b sees a's settings: %+v", b)
	}

	// b's own records with the same names do not disturb a's.
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("b", "same")))
	must(t, s.EnvironmentTemplateDelete(ctx, "b", "same"))
	if _, err := s.EnvironmentTemplateGet(ctx, "a", "same"); err != nil {
		t.Errorf("a's template after b's delete: %v", err)
	}
	if l, _, _ := s.TagsList(ctx, "a", "arn:x", store.Page{}); len(l) != 1 || l[0].Value != "a" {
		t.Errorf("a's tags after b's writes: %v", l)
	}
}

// createRace creates the same template from n goroutines spread over the given stores, each
// with a tag in the same transaction, and checks exactly one wins.
func createRace(t *testing.T, stores []store.Store, name string) {
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if err := q.EnvironmentTemplateCreate(ctx, envTemplate("a", name)); err != nil {
					return err
				}
				return q.TagsPut(ctx, "a", "arn:"+name, []store.Tag{{Key: fmt.Sprint(i), Value: "v"}})
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
	if c, _ := stores[0].TagsCount(ctx, "a", "arn:"+name); c != 1 {
		t.Errorf("%d tag sets written, want the winner's only", c)
	}
}

func testConcurrentCreate(t *testing.T, open Opener) {
	s, _ := open(t)
	createRace(t, []store.Store{s}, "race")
}

// testReplicas runs two handles on one database at once, as two server replicas (or the
// server and a CLI command) would.
func testReplicas(t *testing.T, open Opener) {
	ctx := t.Context()
	s1, reopen := open(t)
	s2 := reopen()
	defer s2.Close()

	must(t, s1.EnvironmentTemplateCreate(ctx, envTemplate("a", "seen")))
	if _, err := s2.EnvironmentTemplateGet(ctx, "a", "seen"); err != nil {
		t.Errorf("second handle does not see the first's write: %v", err)
	}
	a, _ := s1.EnvironmentTemplateGet(ctx, "a", "seen")
	b, _ := s2.EnvironmentTemplateGet(ctx, "a", "seen")
	must(t, s2.EnvironmentTemplateUpdate(ctx, b))
	wantErr(t, "stale write through the other handle", s1.EnvironmentTemplateUpdate(ctx, a), store.ErrConflict)

	createRace(t, []store.Store{s1, s2}, "replica-race")

	const n = 8
	var wg sync.WaitGroup
	got := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		s := []store.Store{s1, s2}[i%2]
		wg.Go(func() {
			got[i], errs[i] = s.SecretGetOrCreate(ctx, "shared", func() []byte { return fmt.Append(nil, "replica ", i) })
		})
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("replicas disagree on the secret: %q vs %q", got[i], got[0])
		}
	}
}

func testReopen(t *testing.T, open Opener) {
	ctx := t.Context()
	s, reopen := open(t)
	must(t, s.EnvironmentTemplateCreate(ctx, envTemplate("a", "kept")))
	must(t, s.ServiceTemplateCreate(ctx, svcTemplate("a", "kept")))
	must(t, s.AccessKeyCreate(ctx, &store.AccessKey{AccessKeyID: "K", SecretAccessKey: "S", AccountID: "a", Role: "admin", CreatedAt: instant}))
	must(t, s.TagsPut(ctx, "a", "arn:kept", []store.Tag{{Key: "k", Value: "v"}}))
	must(t, s.AccountSettingsPut(ctx, &store.AccountSettings{AccountID: "a", PipelineServiceRoleArn: "r", UpdatedAt: instant}))
	secret, err := s.SecretGetOrCreate(ctx, "page", func() []byte { return []byte("first") })
	must(t, err)
	must(t, s.Close())

	s2 := reopen()
	defer s2.Close()
	e, err := s2.EnvironmentTemplateGet(ctx, "a", "kept")
	must(t, err)
	same(t, "environment template after reopen", e, &store.EnvironmentTemplate{AccountID: "a", Name: "kept", DisplayName: "D kept", Description: "desc",
		EncryptionKey: "arn:kms", Provisioning: "CUSTOMER_MANAGED", CreatedAt: stored, LastModifiedAt: stored, Version: 1})
	if _, err := s2.ServiceTemplateGet(ctx, "a", "kept"); err != nil {
		t.Errorf("service template after reopen: %v", err)
	}
	if k, err := s2.AccessKeyGet(ctx, "K"); err != nil || k.SecretAccessKey != "S" {
		t.Errorf("key after reopen: %v %v", k, err)
	}
	if tags, _, err := s2.TagsList(ctx, "a", "arn:kept", store.Page{}); err != nil || len(tags) != 1 {
		t.Errorf("tags after reopen: %v %v", tags, err)
	}
	if st, err := s2.AccountSettingsGet(ctx, "a"); err != nil || st.Version != 1 || st.PipelineServiceRoleArn != "r" || st.UpdatedAt != stored {
		t.Errorf("settings after reopen: %+v %v", st, err)
	}
	again, err := s2.SecretGetOrCreate(ctx, "page", func() []byte { return []byte("second") })
	if err != nil || string(again) != string(secret) {
		t.Errorf("secret after reopen: %q %v, want %q", again, err, secret)
	}
	// Writes still work after reopening (migrations did not run twice).
	must(t, s2.EnvironmentTemplateCreate(ctx, envTemplate("a", "new")))
}
