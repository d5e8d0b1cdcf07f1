package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/postgres/pgtest"
)

// BenchmarkServiceInstances measures b.N service instances (10 per service, each service
// with a pipeline) through the SDK on the noop provisioner: created until every service
// is ACTIVE, then each moved to a new minor version with UpdateServiceInstance until all
// have SUCCEEDED. 16 callers at a time.
//
//	go test ./internal/e2e -run '^$' -bench ServiceInstances -benchtime 1000x
func BenchmarkServiceInstances(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchInstances(b, "") })
	b.Run("postgres", func(b *testing.B) { benchInstances(b, pgtest.Schema(b, pgtest.URL(b))+os.Getenv("BENCH_PG_OPTIONS")) })
}

func benchInstances(b *testing.B, database string) {
	srv := startServerWith(b, func(c *config.Server) { c.Provisioner = "noop"; c.DatabaseURL = database })
	c := srv.admin()
	ctx := context.Background()
	publishEnv(b, srv, "cb", "", codebuildEnvBundle(), "")
	if _, err := createCB(c, "dev", "  team: xx\n"); err != nil {
		b.Fatal(err)
	}
	if _, err := waitDeployed(b, c, "dev", time.Minute); err != nil {
		b.Fatal(err)
	}
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineCodebuildRoleArn: aws.String("arn:aws:iam::000000000000:role/p")}); err != nil {
		b.Fatal(err)
	}
	publishSvc(b, srv, "api", codebuildSvcBundle(true), true, "cb:1")
	const perService = 10
	services := (b.N + perService - 1) / perService
	parallel := func(n int, do func(i int) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if err := do(i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}

	b.ResetTimer()
	start := time.Now()
	parallel(services, func(i int) error {
		var names []string
		for k := range min(perService, b.N-i*perService) {
			names = append(names, fmt.Sprintf("i%02d=dev", k))
		}
		_, err := createAPI(c, fmt.Sprintf("svc-%05d", i), svcSpec("", names...))
		return err
	})
	waitFor(b, func() bool { return countServices(b, srv.Store(), store.ServiceActive) == services })
	created := time.Since(start)

	b.StopTimer()
	v := publishSvcMinor(b, srv, "api", codebuildSvcBundle(true), "cb:1")
	b.StartTimer()
	updateStart := time.Now()
	parallel(b.N, func(i int) error {
		_, err := c.UpdateServiceInstance(ctx, &proton.UpdateServiceInstanceInput{ServiceName: aws.String(fmt.Sprintf("svc-%05d", i/perService)),
			Name: aws.String(fmt.Sprintf("i%02d", i%perService)), DeploymentType: types.DeploymentUpdateTypeMinorVersion})
		return err
	})
	waitFor(b, func() bool { return countInstancesOn(b, srv.Store(), v) == b.N })
	updated := time.Since(updateStart)
	b.StopTimer()
	b.ReportMetric(created.Seconds(), "s-create-to-active")
	b.ReportMetric(updated.Seconds(), "s-minor-update")
	b.ReportMetric(float64(b.N)/created.Seconds(), "instances/s")
}

func waitFor(b *testing.B, done func() bool) {
	deadline := time.Now().Add(10 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func countServices(b *testing.B, st store.Store, status string) int {
	n := 0
	p := store.Page{Limit: 1000}
	for {
		list, next, err := st.ServiceList(context.Background(), accountID, p)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range list {
			if s.Status == status {
				n++
			}
		}
		if next == "" {
			return n
		}
		p.After = next
	}
}

func countInstancesOn(b *testing.B, st store.Store, minor int) int {
	n := 0
	p := store.Page{Limit: 1000}
	f := store.ServiceInstanceFilter{Statuses: []string{store.StatusSucceeded}}
	for {
		list, next, err := st.ServiceInstanceList(context.Background(), accountID, f, p)
		if err != nil {
			b.Fatal(err)
		}
		for _, i := range list {
			if i.TemplateMinor == minor {
				n++
			}
		}
		if next == "" {
			return n
		}
		p.After = next
	}
}

// publishSvcMinor registers and publishes a new minor of major 1; it returns the minor.
func publishSvcMinor(t testing.TB, srv *testServer, name string, files []file, compatible string) int {
	t.Helper()
	ctx := context.Background()
	c := srv.admin()
	key := fmt.Sprintf("%s/minor-%d.tar.gz", name, time.Now().UnixNano())
	srv.upload(t, "bundles", key, tarball(t, name, files))
	envName, envMajor, _ := cutLastColon(compatible)
	out, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"),
		Source: source("bundles", key), CompatibleEnvironmentTemplates: []types.CompatibleEnvironmentTemplateInput{{TemplateName: &envName, MajorVersion: &envMajor}}})
	if err != nil {
		t.Fatal(err)
	}
	v := out.ServiceTemplateVersion
	w := proton.NewServiceTemplateVersionRegisteredWaiter(c, func(o *proton.ServiceTemplateVersionRegisteredWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &proton.GetServiceTemplateVersionInput{TemplateName: &name, MajorVersion: v.MajorVersion, MinorVersion: v.MinorVersion}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateServiceTemplateVersion(ctx, &proton.UpdateServiceTemplateVersionInput{TemplateName: &name, MajorVersion: v.MajorVersion,
		MinorVersion: v.MinorVersion, Status: types.TemplateVersionStatusPublished}); err != nil {
		t.Fatal(err)
	}
	var minor int
	fmt.Sscan(aws.ToString(v.MinorVersion), &minor)
	return minor
}

func cutLastColon(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// BenchmarkListServiceInstances reads one page of 100 from 100,000 instances, at the
// start and 99,000 rows deep, ordered by service and by creation time: keyset pages cost
// the same at any depth.
//
//	go test ./internal/e2e -run '^$' -bench ListServiceInstances
func BenchmarkListServiceInstances(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchList(b, "") })
	b.Run("postgres", func(b *testing.B) { benchList(b, pgtest.Schema(b, pgtest.URL(b))) })
}

func benchList(b *testing.B, database string) {
	srv := startServerWith(b, func(c *config.Server) { c.Provisioner = "noop"; c.DatabaseURL = database })
	st := srv.Store()
	ctx := context.Background()
	const total = 100_000
	base := time.Now()
	for chunk := 0; chunk < total; chunk += 1000 {
		err := st.Tx(ctx, func(q store.Queries) error {
			for k := chunk; k < chunk+1000; k++ {
				i := &store.ServiceInstance{AccountID: accountID, ServiceName: fmt.Sprintf("svc-%05d", k/20), Name: fmt.Sprintf("i%02d", k%20),
					EnvironmentName: fmt.Sprintf("env-%d", k%7), CreatedAt: base.Add(time.Duration(k*7919%total) * time.Millisecond),
					Deployed: store.Deployed{TemplateName: "api", TemplateMajor: 1, DeploymentStatus: store.StatusSucceeded, Inputs: "{}"}}
				if err := q.ServiceInstanceCreate(ctx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, order := range []string{store.SortByServiceName, store.SortByCreatedAt} {
		f := store.ServiceInstanceFilter{SortBy: order}
		// The key 99,000 rows in.
		p := store.Page{Limit: 1000}
		for range 99 {
			_, next, err := st.ServiceInstanceList(ctx, accountID, f, p)
			if err != nil {
				b.Fatal(err)
			}
			p.After = next
		}
		deep := p.After
		for _, at := range []struct{ name, after string }{{"first", ""}, {"deep", deep}} {
			b.Run(order+"/"+at.name, func(b *testing.B) {
				for b.Loop() {
					list, _, err := st.ServiceInstanceList(ctx, accountID, f, store.Page{After: at.after, Limit: 100})
					if err != nil || len(list) != 100 {
						b.Fatalf("%v, %d rows", err, len(list))
					}
				}
			})
		}
	}
}
