package e2e

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/config"
)

func (s *testServer) s3client(keyID, secret string) *s3.Client { return s3At(s.URL(), keyID, secret) }

// s3At is an S3 client for the bucket API of the server at url.
func s3At(url, keyID, secret string) *s3.Client {
	return s3.NewFromConfig(aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")},
		func(o *s3.Options) {
			o.BaseEndpoint = aws.String(url)
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1
		})
}

// Only admins may change bundles in the buckets; every key may read them.
func TestBucketWritesNeedAdmin(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	admin := srv.s3client(rootKeyID, rootSecret)
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bundles")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bundles"), Key: aws.String("a"), Body: strings.NewReader("v1")}); err != nil {
		t.Fatal(err)
	}
	devID, devSecret := srv.newKey(t, accountID, auth.RoleDeveloper)
	dev := srv.s3client(devID, devSecret)
	_, err := dev.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bundles"), Key: aws.String("a"), Body: strings.NewReader("evil")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("developer overwriting a bundle: %v, want AccessDenied", err)
	}
	_, err = dev.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bundles"), Key: aws.String("a")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("developer deleting a bundle: %v, want AccessDenied", err)
	}
	out, err := dev.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bundles"), Key: aws.String("a")})
	if err != nil {
		t.Fatalf("developer reading a bundle: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	if string(body) != "v1" {
		t.Errorf("bundle = %q, want v1", body)
	}
}

// With --s3-endpoint the server reads bundles from that endpoint (here: another openproton,
// standing in for any S3-compatible store) and serves no bucket API of its own.
func TestExternalS3Endpoint(t *testing.T) {
	ctx := context.Background()
	store := startServer(t, "")
	c := store.s3client(rootKeyID, rootSecret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("external")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("external"), Key: aws.String("k"), Body: strings.NewReader("from outside")}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", rootKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", rootSecret)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	srv := startServerWith(t, func(c *config.Server) { c.S3Endpoint = store.URL() })
	got, err := srv.Buckets().Get(ctx, "external", "k", 100)
	if err != nil || string(got) != "from outside" {
		t.Fatalf("bundle read through --s3-endpoint: %q %v", got, err)
	}
	if _, err := srv.s3client(rootKeyID, rootSecret).ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
		t.Errorf("the embedded bucket API still answers with an external endpoint configured")
	}
}
