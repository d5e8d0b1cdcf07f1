package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// uploadServer verifies every request with VerifyStream, reads the body, and keeps what it
// got; a verification failure is answered as an S3 error so the client reports it.
type uploadServer struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
}

func newUploadServer(t *testing.T, tls bool) *uploadServer {
	u := &uploadServer{}
	v := &Verifier{Credentials: testCreds, Service: "s3"} // real clock: the SDK signs with it
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		_, body, err := v.VerifyStream(r)
		var data []byte
		if err == nil {
			data, err = io.ReadAll(body)
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "<Error><Code>"+kindOf(err).String()+"</Code><Message>"+err.Error()+"</Message></Error>")
			return
		}
		u.mu.Lock()
		u.bodies = append(u.bodies, data)
		u.mu.Unlock()
	})
	if tls {
		u.Server = httptest.NewTLSServer(h)
	} else {
		u.Server = httptest.NewServer(h)
	}
	t.Cleanup(u.Close)
	return u
}

// tamper alters request bodies on their way out, after the SDK has signed and
// checksummed them.
type tamper struct {
	next http.RoundTripper
	from string
	to   string
}

func (tr tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && tr.from != "" {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(b, []byte(tr.from), []byte(tr.to), 1)))
	}
	return tr.next.RoundTrip(r)
}

func (u *uploadServer) client(from, to string) *s3.Client {
	return s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		BaseEndpoint:     aws.String(u.URL),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
		// What config.LoadDefaultConfig resolves when nothing is configured; a bare
		// s3.Options would compute no checksum at all.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		HTTPClient:                 &http.Client{Transport: tamper{u.Client().Transport, from, to}, Timeout: 30 * time.Second},
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestS3ClientUploads puts objects with the Go SDK's S3 client, every checksum algorithm it
// computes, over HTTPS (aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER, checksum in the
// trailer) and HTTP (signed payload hash, checksum header); then with the body altered
// after signing.
func TestS3ClientUploads(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: several chunks
	for _, tls := range []bool{true, false} {
		u := newUploadServer(t, tls)
		for _, alg := range []types.ChecksumAlgorithm{"", types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
			types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmSha512} {
			name := map[bool]string{true: "https/", false: "http/"}[tls] + string(alg)
			if alg == "" {
				name += "default"
			}
			t.Run(name, func(t *testing.T) {
				_, err := u.client("", "").PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: aws.String("b"), Key: aws.String("k"), Body: bytes.NewReader(data), ChecksumAlgorithm: alg,
				})
				if err != nil {
					t.Fatalf("PutObject: %v", err)
				}
				u.mu.Lock()
				got, h := u.bodies[len(u.bodies)-1], u.headers[len(u.headers)-1]
				u.mu.Unlock()
				if !bytes.Equal(got, data) {
					t.Errorf("server read %d bytes, want %d", len(got), len(data))
				}
				t.Logf("x-amz-content-sha256=%s content-encoding=%q x-amz-trailer=%q expect=%q checksum headers=%v",
					h.Get("X-Amz-Content-Sha256"), h.Get("Content-Encoding"), h.Get("X-Amz-Trailer"), h.Get("Expect"), checksumHeaders(h))

				// The same upload altered in flight is refused.
				_, err = u.client("0123456789", "0123456788").PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: aws.String("b"), Key: aws.String("k"), Body: bytes.NewReader(data), ChecksumAlgorithm: alg,
				})
				want := "BadChecksum"
				if !tls {
					want = "BadPayloadHash"
				}
				if apiCode(err) != want {
					t.Errorf("tampered upload: %v, want %s", err, want)
				}
			})
		}
	}
}

func checksumHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k := range h {
		if strings.HasPrefix(k, "X-Amz-Checksum-") || k == "X-Amz-Sdk-Checksum-Algorithm" {
			out[k] = h.Get(k)
		}
	}
	return out
}
