// Command openproton-load measures openproton's request rate against a bare net/http
// handler that answers the same bytes, in the same run on the same machine. It starts both
// servers in-process on loopback ports, sends a signed ListTagsForResource with a bounded
// number of concurrent clients for a fixed duration each, and prints both rates and their
// ratio.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/openproton/openproton/internal/app"
	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/store"
)

const (
	keyID  = "AKIAOPENPROTONLOAD01"
	secret = "openproton-load-secret-0123456789abcdefgh"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long to load each server")
	clients := flag.Int("clients", 16, "concurrent clients")
	flag.Parse()
	if *duration <= 0 || *duration > 10*time.Minute || *clients < 1 || *clients > 512 {
		log.Fatal("openproton-load: -duration must be in (0, 10m] and -clients in [1, 512]")
	}
	if err := run(*duration, *clients); err != nil {
		log.Fatalf("openproton-load: %v", err)
	}
}

func run(duration time.Duration, clients int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "openproton-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := app.Start(ctx, config.Server{Listen: "127.0.0.1:0", DataDir: dir, Region: "us-east-1",
		AccountID: "000000000000", LogLevel: "error", RootAccessKeyID: keyID, RootSecretAccessKey: secret},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())

	arn := "arn:aws:proton:us-east-1:000000000000:environment-template/load"
	if err := seed(ctx, srv.Store(), arn); err != nil {
		return err
	}
	body := []byte(`{"resourceArn":"` + arn + `"}`)
	header, err := signedHeader(srv.URL(), body)
	if err != nil {
		return err
	}

	// The bare handler answers exactly what openproton answered.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	status, respBody, respHeader, err := once(client, srv.URL(), header, body)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("openproton answered %d: %s", status, respBody)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range respHeader {
			if k != "Date" {
				w.Header()[k] = v
			}
		}
		_, _ = w.Write(respBody)
	})}
	go bare.Serve(ln)
	defer bare.Close()

	fmt.Printf("ListTagsForResource, %d clients, %s each, GOMAXPROCS=%d\n", clients, duration, runtimeProcs())
	bareRes := load(client, "http://"+ln.Addr().String(), header, body, clients, duration)
	fmt.Printf("bare net/http:  %s\n", bareRes)
	opRes := load(client, srv.URL(), header, body, clients, duration)
	fmt.Printf("openproton:     %s\n", opRes)
	fmt.Printf("ratio openproton/bare: %.2f\n", opRes.rate()/bareRes.rate())
	if opRes.errors > 0 {
		return fmt.Errorf("%d openproton requests failed", opRes.errors)
	}
	return nil
}

func seed(ctx context.Context, st store.Store, arn string) error {
	now := time.Now().UTC()
	if err := st.EnvironmentTemplateCreate(ctx, &store.EnvironmentTemplate{AccountID: "000000000000", Name: "load", CreatedAt: now, LastModifiedAt: now}); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return st.TagsPut(ctx, "000000000000", arn, []store.Tag{{Key: "team", Value: "platform"}, {Key: "tier", Value: "gold"}, {Key: "cost-center", Value: "42"}})
}

// signedHeader signs the request once; every load request reuses it, so client-side signing
// cost is the same for both servers (openproton still verifies every request in full).
func signedHeader(url string, body []byte) (http.Header, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Target", "AwsProton20200720.ListTagsForResource")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		req, hash, "proton", "us-east-1", time.Now())
	return req.Header, err
}

func once(c *http.Client, url string, header http.Header, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

type result struct {
	requests, errors int64
	elapsed          time.Duration
	latencies        []time.Duration
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) String() string {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	return fmt.Sprintf("%8.0f req/s  (%d requests, %d errors, p50 %s, p99 %s)", r.rate(), r.requests, r.errors, pct(0.5), pct(0.99))
}

// load runs clients workers until the duration ends; every request is bounded in time and
// only ever goes to the loopback server given.
func load(c *http.Client, url string, header http.Header, body []byte, clients int, d time.Duration) result {
	var requests, errors atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
				req.Header = header.Clone()
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					errors.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errors.Add(1)
				}
				requests.Add(1)
				if len(mine) < 100000 {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return result{requests: requests.Load(), errors: errors.Load(), elapsed: time.Since(start), latencies: latencies}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
