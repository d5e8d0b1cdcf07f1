package bucket

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/openproton/openproton/internal/sigv4"
)

type creds map[string]string

func (c creds) SecretFor(_ context.Context, id string) (string, error) {
	if s, ok := c[id]; ok {
		return s, nil
	}
	return "", sigv4.ErrUnknownKey
}

const (
	keyID  = "AKIABUCKETTEST000001"
	secret = "bucket-test-secret-0123456789abcdefghijkl"
)

// testServer is the bucket API behind a real SigV4 verifier, on a real listener, noting the
// signing and encoding headers of every request it receives.
type testServer struct {
	*httptest.Server
	caFile string // PEM of the server's certificate, for HTTPS
	mu     sync.Mutex
	seen   []string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func serve(t *testing.T, dir string, tls bool) (*Buckets, *testServer) {
	t.Helper()
	b, err := Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Credentials: creds{keyID: secret}, Service: "s3"}
	ts := &testServer{}
	h := b.Handler(func(r *http.Request) (io.ReadCloser, error) {
		_, body, err := v.VerifyStream(r)
		return body, err
	})
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.note(r)
		h.ServeHTTP(w, r)
	})
	if tls {
		ts.Server = httptest.NewTLSServer(record)
		ts.caFile = filepath.Join(t.TempDir(), "ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
		if err := os.WriteFile(ts.caFile, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		ts.Server = httptest.NewServer(record)
	}
	t.Cleanup(func() {
		ts.Close()
		b.Close()
	})
	return b, ts
}

// note keeps the headers that say how a request was signed and encoded.
func (ts *testServer) note(r *http.Request) {
	var parts []string
	for _, k := range []string{"X-Amz-Content-Sha256", "Content-Encoding", "X-Amz-Trailer", "X-Amz-Decoded-Content-Length", "Expect", "Content-Md5"} {
		if v := r.Header.Get(k); v != "" {
			if k == "X-Amz-Content-Sha256" && len(v) == 64 {
				v = "<hex sha256>"
			}
			parts = append(parts, strings.ToLower(k)+"="+v)
		}
	}
	for k := range r.Header {
		if strings.HasPrefix(k, "X-Amz-Checksum-") || k == "X-Amz-Sdk-Checksum-Algorithm" {
			parts = append(parts, strings.ToLower(k)+"="+r.Header.Get(k))
		}
	}
	sort.Strings(parts)
	query := r.URL.Query()
	op := r.Method
	for _, q := range []string{"uploads", "uploadId", "partNumber", "list-type", "delete"} {
		if query.Has(q) {
			op += " ?" + q
		}
	}
	ts.mu.Lock()
	ts.seen = append(ts.seen, fmt.Sprintf("%-22s %s", op, strings.Join(parts, " ")))
	ts.mu.Unlock()
}

// logSeen reports each distinct request shape a client sent.
func (ts *testServer) logSeen(t *testing.T, client string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	done := map[string]bool{}
	for _, s := range ts.seen {
		if !done[s] {
			done[s] = true
			t.Logf("%s: %s", client, s)
		}
	}
	ts.seen = nil
}

// client is the Go SDK's S3 client as a default configuration resolves it, on the SDK's own
// HTTP transport (which waits a second for 100 Continue), trusting the test server.
func (ts *testServer) client(id, sec string, transport ...func(http.RoundTripper) http.RoundTripper) *s3.Client {
	var rt http.RoundTripper = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
	}).GetTransport()
	for _, wrap := range transport {
		rt = wrap(rt)
	}
	return s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(id, sec, ""),
		BaseEndpoint:     aws.String(ts.URL),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
		// What config.LoadDefaultConfig resolves when nothing is configured; a bare
		// s3.Options would compute no checksum.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		HTTPClient:                 &http.Client{Transport: rt},
	})
}

// apiError is an SDK error's S3 code and HTTP status.
func apiError(err error) (string, int) {
	var ae smithy.APIError
	var re *awshttp.ResponseError
	code, status := "", 0
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}
