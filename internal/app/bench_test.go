package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/store"
)

// BenchmarkSignedListTagsForResource measures the whole request path in-process: SigV4
// verification, decode, validate, role check, store reads, encode. ns/op on one goroutine
// is the CPU one request costs.
func BenchmarkSignedListTagsForResource(b *testing.B) {
	ctx := context.Background()
	srv, err := Start(ctx, config.Server{Listen: "127.0.0.1:0", DataDir: b.TempDir(), Region: "us-east-1", AccountID: "000000000000",
		RootAccessKeyID: "AKIABENCHMARK0000001", RootSecretAccessKey: "bench-secret-0123456789abcdefghijklmnopq"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	arn := "arn:aws:proton:us-east-1:000000000000:environment-template/bench"
	now := time.Now().UTC()
	if err := srv.Store().EnvironmentTemplateCreate(ctx, &store.EnvironmentTemplate{AccountID: "000000000000", Name: "bench", CreatedAt: now, LastModifiedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := srv.Store().TagsPut(ctx, "000000000000", arn, []store.Tag{{Key: "team", Value: "platform"}, {Key: "tier", Value: "gold"}}); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"resourceArn":"` + arn + `"}`)
	client, _ := http.NewRequest(http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
	client.Header.Set("X-Amz-Target", "AwsProton20200720.ListTagsForResource")
	client.Header.Set("Content-Type", "application/x-amz-json-1.0")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	client.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "AKIABENCHMARK0000001", SecretAccessKey: "bench-secret-0123456789abcdefghijklmnopq"},
		client, hash, "proton", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	serve := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Host = client.URL.Host
		r.Header = client.Header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := serve(); w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(`"platform"`)) {
		b.Fatalf("warm-up answered %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w := serve(); w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
