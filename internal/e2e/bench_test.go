package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/postgres/pgtest"
)

// BenchmarkEnvironmentDeployments measures the deployment engine with the noop provisioner:
// b.N environments are created through the SDK (16 at a time) and the benchmark ends when
// every one has SUCCEEDED. It reports throughput and the engine's mean time from a
// deployment's creation to its completion (both server-side timestamps).
//
//	go test ./internal/e2e -run '^$' -bench EnvironmentDeployments -benchtime 10000x
func BenchmarkEnvironmentDeployments(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDeployments(b, "") })
	b.Run("postgres", func(b *testing.B) { benchDeployments(b, pgtest.Schema(b, pgtest.URL(b))+os.Getenv("BENCH_PG_OPTIONS")) })
}

func benchDeployments(b *testing.B, database string) {
	srv := startServerWith(b, func(c *config.Server) {
		c.Provisioner = "noop"
		c.DatabaseURL = database
		if w := os.Getenv("BENCH_WORKERS"); w != "" {
			c.DeploymentWorkers, _ = strconv.Atoi(w)
		}
	})
	c := srv.admin()
	ctx := context.Background()
	publishEnv(b, srv, "bench", "", codebuildEnvBundle(), "")

	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				_, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String(fmt.Sprintf("env-%06d", i)),
					TemplateName: aws.String("bench"), TemplateMajorVersion: aws.String("1"), Spec: spec("  team: platform\n"),
					CodebuildRoleArn: aws.String(cbRole)})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	created := time.Since(start)
	var total time.Duration
	for {
		done, sum, err := succeeded(ctx, srv.Store())
		if err != nil {
			b.Fatal(err)
		}
		if done == b.N {
			total = sum
			break
		}
		time.Sleep(200 * time.Millisecond) // each check reads every environment
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deployments/s")
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-create-to-done")
	b.ReportMetric(created.Seconds(), "s-to-create-all")
	b.ReportMetric(elapsed.Seconds(), "s-to-finish-all")
}

// succeeded counts SUCCEEDED environments and sums their deployments' durations.
func succeeded(ctx context.Context, st store.Store) (int, time.Duration, error) {
	n := 0
	var sum time.Duration
	p := store.Page{Limit: 1000}
	for {
		list, next, err := st.EnvironmentList(ctx, accountID, nil, p)
		if err != nil {
			return 0, 0, err
		}
		for _, e := range list {
			if e.DeploymentStatus == store.StatusSucceeded {
				n++
				sum += e.LastDeploymentSucceededAt.Sub(e.LastDeploymentAttemptedAt)
			}
		}
		if next == "" {
			return n, sum, nil
		}
		p.After = next
	}
}

// BenchmarkDeploymentLatency measures one deployment at a time (noop provisioner): the
// engine's overhead from the create request's commit to SUCCEEDED, server-side.
func BenchmarkDeploymentLatency(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchLatency(b, "") })
	b.Run("postgres", func(b *testing.B) { benchLatency(b, pgtest.Schema(b, pgtest.URL(b))) })
}

func benchLatency(b *testing.B, database string) {
	srv := startServerWith(b, func(c *config.Server) {
		c.Provisioner = "noop"
		c.DatabaseURL = database
	})
	c := srv.admin()
	ctx := context.Background()
	publishEnv(b, srv, "bench", "", codebuildEnvBundle(), "")
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("env-%06d", i)
		if _, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String(name), TemplateName: aws.String("bench"),
			TemplateMajorVersion: aws.String("1"), Spec: spec("  team: platform\n"), CodebuildRoleArn: aws.String(cbRole)}); err != nil {
			b.Fatal(err)
		}
		for {
			e, err := srv.Store().EnvironmentGet(ctx, accountID, name)
			if err != nil {
				b.Fatal(err)
			}
			if e.DeploymentStatus == store.StatusSucceeded {
				total += e.LastDeploymentSucceededAt.Sub(e.LastDeploymentAttemptedAt)
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-engine-overhead")
}
