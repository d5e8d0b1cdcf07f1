package bucket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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

func serve(t *testing.T, dir string) (*Buckets, *httptest.Server) {
	t.Helper()
	b, err := Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v := &sigv4.Verifier{Credentials: creds{keyID: secret}, Service: "s3"}
	srv := httptest.NewServer(b.Handler(func(r *http.Request) (io.ReadCloser, error) {
		_, body, err := v.VerifyStream(r)
		return body, err
	}))
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	return b, srv
}

func client(url, id, sec string) *s3.Client {
	return s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, sec, "")},
		func(o *s3.Options) {
			o.BaseEndpoint = aws.String(url)
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1
		})
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestGoSDKRoundTrip(t *testing.T) {
	ctx := context.Background()
	b, srv := serve(t, t.TempDir())
	c := client(srv.URL, keyID, secret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("templates")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	content := bytes.Repeat([]byte("bundle-"), 100000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1.tar.gz"), Body: bytes.NewReader(content)}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1.tar.gz")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	if !bytes.Equal(got, content) {
		t.Errorf("GetObject returned %d bytes, want %d", len(got), len(content))
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("templates")})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "env/v1.tar.gz" {
		t.Errorf("ListObjectsV2: %v %v", list, err)
	}
	if internal, err := b.Get(ctx, "templates", "env/v1.tar.gz", 1<<20); err != nil || !bytes.Equal(internal, content) {
		t.Errorf("internal Get: %d bytes, %v", len(internal), err)
	}
	if _, err := b.Get(ctx, "templates", "env/v1.tar.gz", 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Get over limit: %v", err)
	}
	if _, err := b.Get(ctx, "templates", "missing", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("templates"), Key: aws.String("env/v1.tar.gz")}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if _, err := b.Get(ctx, "templates", "env/v1.tar.gz", 1<<20); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after delete: %v", err)
	}

	if _, err := client(srv.URL, keyID, "wrong").ListBuckets(ctx, &s3.ListBucketsInput{}); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := client(srv.URL, "AKIANOBODY0000000000", secret).ListBuckets(ctx, &s3.ListBucketsInput{}); code(err) != "InvalidAccessKeyId" {
		t.Errorf("unknown key: %v", err)
	}
}

func TestTamperedBodyIsNotStored(t *testing.T) {
	ctx := context.Background()
	b, srv := serve(t, t.TempDir())
	c := client(srv.URL, keyID, secret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	// A proxy that alters the body after signing.
	tamper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body = bytes.ReplaceAll(body, []byte("good"), []byte("evil"))
		req, _ := http.NewRequest(r.Method, srv.URL+r.RequestURI, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		req.Host = r.Host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer tamper.Close()
	// The SDK signs (or checksums) the body; the proxy changes it on the way.
	_, err := client(tamper.URL, keyID, secret).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("good content")})
	if err == nil {
		t.Fatalf("tampered upload succeeded")
	}
	if _, err := b.Get(ctx, "bkt", "k", 1<<20); !errors.Is(err, ErrNotFound) {
		t.Errorf("tampered object stored: %v", err)
	}
}

func TestObjectsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, srv := serve(t, dir)
	c := client(srv.URL, keyID, secret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keep"), Key: aws.String("k"), Body: strings.NewReader("persisted")}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	b.Close()

	again, err := Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got, err := again.Get(ctx, "keep", "k", 100)
	if err != nil || string(got) != "persisted" {
		t.Errorf("after reopen: %q %v", got, err)
	}
}

func TestBoto3PutGet(t *testing.T) {
	if exec.Command("python3", "-c", "import boto3").Run() != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("boto3 is required in CI")
		}
		t.Skip("boto3 not available")
	}
	b, srv := serve(t, t.TempDir())
	script := `
import boto3, sys
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="pyb")
s3.put_object(Bucket="pyb", Key="bundle.tar.gz", Body=b"x" * 300000)
print(len(s3.get_object(Bucket="pyb", Key="bundle.tar.gz")["Body"].read()))
`
	cmd := exec.Command("python3", "-c", script, srv.URL)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=" + home + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/none", "AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "300000" {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	if got, err := b.Get(context.Background(), "pyb", "bundle.tar.gz", 1<<20); err != nil || len(got) != 300000 {
		t.Errorf("server reads %d bytes, %v", len(got), err)
	}
}
