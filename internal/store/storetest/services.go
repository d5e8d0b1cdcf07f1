package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openproton/openproton/internal/store"
)

func instance(service, name, env, status string, created time.Time) *store.ServiceInstance {
	return &store.ServiceInstance{AccountID: "111111111111", ServiceName: service, Name: name, EnvironmentName: env, CreatedAt: created,
		Deployed: store.Deployed{TemplateName: "api", TemplateMajor: 1, TemplateMinor: 0, Spec: "proton: ServiceSpec", DeploymentStatus: status,
			LastDeploymentAttemptedAt: created, Inputs: `{"port":1}`, Outputs: []store.Output{{Key: "url", Value: "u"}}}}
}

func testServices(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	svc := &store.Service{AccountID: "111111111111", Name: "shop", TemplateName: "api", Spec: "proton: ServiceSpec", Status: store.ServiceCreateInProgress,
		RepositoryConnectionArn: "arn:conn", RepositoryID: "org/repo", BranchName: "main", CreatedAt: instant, LastModifiedAt: instant}
	must(t, s.ServiceCreate(ctx, svc))
	wantErr(t, "duplicate service", s.ServiceCreate(ctx, svc), store.ErrAlreadyExists)
	got, err := s.ServiceGet(ctx, "111111111111", "shop")
	must(t, err)
	want := *svc
	want.CreatedAt, want.LastModifiedAt, want.Version = stored, stored, 1
	same(t, "service", got, &want)

	locked, err := s.ServiceLock(ctx, "111111111111", "shop")
	must(t, err)
	if locked.Version != 2 {
		t.Errorf("ServiceLock returned version %d, want 2", locked.Version)
	}
	wantErr(t, "stale update after a lock", s.ServiceUpdate(ctx, got), store.ErrConflict)
	_, err = s.ServiceLock(ctx, "111111111111", "nope")
	wantErr(t, "lock of a missing service", err, store.ErrNotFound)

	// Locks taken concurrently in transactions serialise: each sees the version the one
	// before it left, none fails.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for k := range errs {
		wg.Go(func() {
			errs[k] = s.Tx(ctx, func(q store.Queries) error {
				l, err := q.ServiceLock(ctx, "111111111111", "shop")
				if err != nil {
					return err
				}
				l.StatusMessage = fmt.Sprint(k)
				return q.ServiceUpdate(ctx, l)
			})
		})
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			t.Errorf("concurrent lock %d: %v", k, err)
		}
	}
	final, err := s.ServiceGet(ctx, "111111111111", "shop")
	must(t, err)
	if final.Version != 2+16 {
		t.Errorf("after 8 lock+update transactions the version is %d, want 18", final.Version)
	}

	// Instances: three services, keyset pages in every order, ties broken by service, name.
	base := instant.Add(time.Minute)
	var all []*store.ServiceInstance
	for k, spec := range []struct{ svc, name, env, status string }{
		{"shop", "b", "dev", "SUCCEEDED"}, {"shop", "a", "prod", "FAILED"}, {"cart", "b", "dev", "SUCCEEDED"},
		{"cart", "z", "dev", "IN_PROGRESS"}, {"api", "a", "prod", "SUCCEEDED"}, {"api", "m", "dev", "SUCCEEDED"},
	} {
		i := instance(spec.svc, spec.name, spec.env, spec.status, base.Add(time.Duration(k%3)*time.Second))
		must(t, s.ServiceInstanceCreate(ctx, i))
		all = append(all, i)
	}
	wantErr(t, "duplicate instance", s.ServiceInstanceCreate(ctx, instance("shop", "a", "dev", "X", base)), store.ErrAlreadyExists)
	gi, err := s.ServiceInstanceGet(ctx, "111111111111", "shop", "a")
	must(t, err)
	wi := *all[1]
	wi.CreatedAt, wi.LastDeploymentAttemptedAt, wi.Version = wi.CreatedAt.UTC().Truncate(time.Microsecond), wi.LastDeploymentAttemptedAt.UTC().Truncate(time.Microsecond), 1
	same(t, "instance", gi, &wi)

	names := func(f store.ServiceInstanceFilter) []string {
		var out []string
		p := store.Page{Limit: 2}
		for {
			page, next, err := s.ServiceInstanceList(ctx, "111111111111", f, p)
			must(t, err)
			for _, i := range page {
				out = append(out, i.ServiceName+"/"+i.Name)
			}
			if next == "" {
				return out
			}
			p.After = next
		}
	}
	same(t, "default order", names(store.ServiceInstanceFilter{}), []string{"api/a", "api/m", "cart/b", "cart/z", "shop/a", "shop/b"})
	same(t, "by name", names(store.ServiceInstanceFilter{SortBy: store.SortByName}), []string{"api/a", "shop/a", "cart/b", "shop/b", "api/m", "cart/z"})
	same(t, "by name descending", names(store.ServiceInstanceFilter{SortBy: store.SortByName, Descending: true}),
		[]string{"cart/z", "api/m", "shop/b", "cart/b", "shop/a", "api/a"})
	same(t, "by created (ties by service, name)", names(store.ServiceInstanceFilter{SortBy: store.SortByCreatedAt}),
		[]string{"cart/z", "shop/b", "api/a", "shop/a", "api/m", "cart/b"})
	same(t, "by status descending", names(store.ServiceInstanceFilter{SortBy: store.SortByStatus, Descending: true}),
		[]string{"shop/b", "cart/b", "api/m", "api/a", "cart/z", "shop/a"})
	same(t, "filtered", names(store.ServiceInstanceFilter{EnvironmentNames: []string{"dev"}, Statuses: []string{"SUCCEEDED"}, SortBy: store.SortByEnvironment}),
		[]string{"api/m", "cart/b", "shop/b"})
	same(t, "one service", names(store.ServiceInstanceFilter{Service: "cart"}), []string{"cart/b", "cart/z"})
	same(t, "created after", names(store.ServiceInstanceFilter{CreatedAfter: base.Add(time.Second)}), []string{"api/m", "cart/b"})

	n, err := s.ServiceInstanceCountInEnvironment(ctx, "111111111111", "prod")
	must(t, err)
	if n != 2 {
		t.Errorf("instances in prod: %d", n)
	}
	of, err := s.ServiceInstancesOf(ctx, "111111111111", "shop")
	must(t, err)
	if len(of) != 2 || of[0].Name != "a" {
		t.Errorf("instances of shop: %d", len(of))
	}
	gi.DeploymentStatus = "SUCCEEDED"
	must(t, s.ServiceInstanceUpdate(ctx, gi))
	gi.Version = 1
	wantErr(t, "stale instance update", s.ServiceInstanceUpdate(ctx, gi), store.ErrConflict)
	must(t, s.ServiceInstanceDelete(ctx, "111111111111", "shop", "a"))
	wantErr(t, "delete again", s.ServiceInstanceDelete(ctx, "111111111111", "shop", "a"), store.ErrNotFound)

	// The pipeline, and what counts as using a template version.
	p := &store.ServicePipeline{AccountID: "111111111111", ServiceName: "shop", Pending: true, CreatedAt: instant,
		Deployed: store.Deployed{TemplateName: "api", TemplateMajor: 1, TemplateMinor: 1, DeploymentStatus: "IN_PROGRESS", Inputs: "{}"}}
	must(t, s.ServicePipelineCreate(ctx, p))
	gp, err := s.ServicePipelineGet(ctx, "111111111111", "shop")
	must(t, err)
	if !gp.Pending || gp.TemplateMinor != 1 || gp.Version != 1 {
		t.Errorf("pipeline %+v", gp)
	}
	gp.Pending = false
	must(t, s.ServicePipelineUpdate(ctx, gp))
	gp, err = s.ServicePipelineGet(ctx, "111111111111", "shop")
	must(t, err)
	if gp.Pending || gp.Version != 2 {
		t.Errorf("pipeline after update %+v", gp)
	}
	for _, c := range []struct{ major, minor, want int }{{1, 0, 5}, {1, 1, 1}, {1, -1, 6}, {2, -1, 0}} {
		n, err := s.ServiceTemplateCountUsing(ctx, "111111111111", "api", c.major, c.minor)
		must(t, err)
		if n != c.want {
			t.Errorf("users of api:%d.%d = %d, want %d", c.major, c.minor, n, c.want)
		}
	}
	must(t, s.ServicePipelineDelete(ctx, "111111111111", "shop"))
	must(t, s.ServiceDelete(ctx, "111111111111", "shop"))
	wantErr(t, "service gone", func() error { _, err := s.ServiceGet(ctx, "111111111111", "shop"); return err }(), store.ErrNotFound)
}
