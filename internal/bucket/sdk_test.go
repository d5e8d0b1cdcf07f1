package bucket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var schemes = []struct {
	name string
	tls  bool
}{{"http", false}, {"https", true}}

// TestGoSDK drives the bucket API with the Go SDK's S3 client: over HTTP it signs the
// payload hash and sends the checksum as a header (with Expect: 100-continue past 2 MB);
// over HTTPS it streams aws-chunked with the checksum in a trailer.
func TestGoSDK(t *testing.T) {
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			b, srv := serve(t, t.TempDir(), sc.tls)
			var last http.Header
			c := srv.client(keyID, secret, func(next http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					resp, err := next.RoundTrip(r)
					if err == nil {
						last = resp.Header
					}
					return resp, err
				})
			})
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("templates")}); err != nil {
				t.Fatalf("CreateBucket: %v", err)
			}
			content := bytes.Repeat([]byte("bundle-"), 500_000) // 3.5 MB
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1 (copy).tar.gz"),
				Body: bytes.NewReader(content), Metadata: map[string]string{"owner": "platform"}}); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1 (copy).tar.gz")})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, content) {
				t.Errorf("GetObject returned %d bytes, want %d", len(got), len(content))
			}
			if out.Metadata["owner"] != "platform" {
				t.Errorf("user metadata lost: %v", out.Metadata)
			}
			// Signing and transfer headers of the upload are not object metadata.
			for _, h := range []string{"X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer",
				"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Crc32", "Content-Encoding", "Authorization"} {
				if v := last.Get(h); v != "" {
					t.Errorf("GetObject answers %s: %s", h, v)
				}
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1 (copy).tar.gz")})
			if err != nil || aws.ToInt64(head.ContentLength) != int64(len(content)) {
				t.Errorf("HeadObject: %v, %v", head, err)
			}
			ranged, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1 (copy).tar.gz"), Range: aws.String("bytes=7-13")})
			if err != nil {
				t.Fatalf("ranged GetObject: %v", err)
			}
			if part, _ := io.ReadAll(ranged.Body); string(part) != "bundle-" {
				t.Errorf("range read %q", part)
			}
			list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("templates"), Prefix: aws.String("env/")})
			if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "env/v1 (copy).tar.gz" {
				t.Errorf("ListObjectsV2: %v, %v", list, err)
			}
			if internal, err := b.Get(ctx, "templates", "env/v1 (copy).tar.gz", 8<<20); err != nil || !bytes.Equal(internal, content) {
				t.Errorf("Buckets.Get: %d bytes, %v", len(internal), err)
			}
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1 (copy).tar.gz")}); err != nil {
				t.Fatalf("DeleteObject: %v", err)
			}
			if _, err := b.Get(ctx, "templates", "env/v1 (copy).tar.gz", 8<<20); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after delete: %v", err)
			}
			srv.logSeen(t, "go sdk "+sc.name)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tamper alters request bodies after the SDK has signed and checksummed them.
func tamper(from, to string) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil && r.Body != http.NoBody {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte(from), []byte(to), 1)))
			}
			return next.RoundTrip(r)
		})
	}
}

func TestGoSDKRefusals(t *testing.T) {
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			b, srv := serve(t, t.TempDir(), sc.tls)
			if _, err := srv.client(keyID, secret).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
				t.Fatal(err)
			}
			// Past the 256 KiB net/http discards on its own, short of the 2 MB from which the SDK
			// sends Expect: 100-continue (TestExpectContinue has that).
			big := bytes.Repeat([]byte("x"), 1536<<10)
			for _, tc := range []struct {
				name       string
				c          *s3.Client
				wantCode   string
				wantStatus int
			}{
				{"wrong secret", srv.client(keyID, "wrong"), "SignatureDoesNotMatch", 403},
				{"unknown key", srv.client("AKIANOBODY0000000000", secret), "InvalidAccessKeyId", 403},
			} {
				_, err := tc.c.ListBuckets(ctx, &s3.ListBucketsInput{})
				if code, status := apiError(err); code != tc.wantCode || status != tc.wantStatus {
					t.Errorf("%s: ListBuckets: %v (%s %d)", tc.name, err, code, status)
				}
				// A refused upload is answered with its code, not a reset connection.
				_, err = tc.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("refused"), Body: bytes.NewReader(big)})
				if code, status := apiError(err); code != tc.wantCode || status != tc.wantStatus {
					t.Errorf("%s: PutObject: %v (%s %d)", tc.name, err, code, status)
				}
			}

			// gofakes3's own refusals come through whole too.
			_, err := srv.client(keyID, secret).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nonexistent"), Key: aws.String("k"), Body: bytes.NewReader(big)})
			if code, status := apiError(err); code != "NoSuchBucket" || status != 404 {
				t.Errorf("PutObject to a missing bucket: %v (%s %d)", err, code, status)
			}

			// The body altered after signing: over HTTP the signed payload hash catches it, over
			// HTTPS the trailing checksum.
			want := "XAmzContentSHA256Mismatch"
			if sc.tls {
				want = "BadDigest"
			}
			for _, body := range []string{"good content", strings.Repeat("good content ", 300_000)} {
				_, err := srv.client(keyID, secret, tamper("good", "evil")).PutObject(ctx, &s3.PutObjectInput{
					Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader(body)})
				if code, status := apiError(err); code != want || status != 400 {
					t.Errorf("tampered %d byte upload: %v (%s %d), want %s 400", len(body), err, code, status, want)
				}
			}
			if _, err := b.Get(ctx, "bkt", "k", 8<<20); !errors.Is(err, ErrNotFound) {
				t.Errorf("tampered object stored: %v", err)
			}
			if _, err := b.Get(ctx, "bkt", "refused", 8<<20); !errors.Is(err, ErrNotFound) {
				t.Errorf("refused object stored: %v", err)
			}
		})
	}
}

// TestGoSDKMultipart uploads in parts, one of them altered in flight and refused.
func TestGoSDKMultipart(t *testing.T) {
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			b, srv := serve(t, t.TempDir(), sc.tls)
			c := srv.client(keyID, secret)
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mpu")}); err != nil {
				t.Fatal(err)
			}
			up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			if err != nil {
				t.Fatalf("CreateMultipartUpload: %v", err)
			}
			parts := [][]byte{bytes.Repeat([]byte("1"), 5<<20), bytes.Repeat([]byte("2"), 1<<20)}
			var done []types.CompletedPart
			for i, p := range parts {
				n := aws.Int32(int32(i + 1))
				in := &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: up.UploadId, PartNumber: n,
					Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}
				if _, err := srv.client(keyID, secret, tamper("2222", "2223")).UploadPart(ctx, in); i == 1 && err == nil {
					t.Errorf("tampered part accepted")
				}
				in.Body = bytes.NewReader(p)
				out, err := c.UploadPart(ctx, in)
				if err != nil {
					t.Fatalf("UploadPart %d: %v", i+1, err)
				}
				done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: n, ChecksumCRC32: out.ChecksumCRC32})
			}
			if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
				UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
			got, err := b.Get(ctx, "mpu", "big", 8<<20)
			if err != nil || !bytes.Equal(got, append(append([]byte{}, parts[0]...), parts[1]...)) {
				t.Errorf("assembled object: %d bytes, %v", len(got), err)
			}
			srv.logSeen(t, "go sdk multipart "+sc.name)
		})
	}
}

// countingReader counts what the HTTP client took of a request body.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestExpectContinue checks both sides of Expect: 100-continue with net/http's client,
// which waits for the answer as the AWS CLI and boto3 do: a refused upload is answered
// before its body is sent; an accepted one is told to continue and stored.
func TestExpectContinue(t *testing.T) {
	b, srv := serve(t, t.TempDir(), false)
	ctx := context.Background()
	if _, err := srv.client(keyID, secret).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exp")}); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	data := bytes.Repeat([]byte("e"), 4<<20)
	for _, tc := range []struct {
		name       string
		secret     string
		wantStatus int
		wantSent   bool
	}{{"refused", "wrong", 403, false}, {"accepted", secret, 200, true}} {
		body := &countingReader{r: bytes.NewReader(data)}
		req, _ := http.NewRequest("PUT", srv.URL+"/exp/obj", body)
		req.ContentLength = int64(len(data))
		req.Header.Set("Expect", "100-continue")
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: tc.secret}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || (body.n > 0) != tc.wantSent {
			t.Errorf("%s: status %d after sending %d body bytes", tc.name, resp.StatusCode, body.n)
		}
	}
	if got, err := b.Get(ctx, "exp", "obj", 8<<20); err != nil || !bytes.Equal(got, data) {
		t.Errorf("accepted upload: %d bytes, %v", len(got), err)
	}
}
