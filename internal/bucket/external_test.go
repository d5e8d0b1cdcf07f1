package bucket

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The external reader is tested against another S3-compatible server: an embedded bucket
// API of our own, reached only over HTTP.
func TestExternalReader(t *testing.T) {
	ctx := context.Background()
	_, srv := serve(t, t.TempDir(), false)
	c := srv.client(keyID, secret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ext")}); err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("z"), 4096)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ext"), Key: aws.String("b.tar.gz"), Body: bytes.NewReader(content)}); err != nil {
		t.Fatal(err)
	}
	ext := newExternal(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")}, srv.URL)
	got, err := ext.Get(ctx, "ext", "b.tar.gz", 1<<20)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Get: %d bytes, %v", len(got), err)
	}
	if _, err := ext.Get(ctx, "ext", "b.tar.gz", 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over limit: %v", err)
	}
	if _, err := ext.Get(ctx, "ext", "missing", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	// Credentials from the standard chain: here, the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	chain, err := NewExternal(ctx, srv.URL, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := chain.Get(ctx, "ext", "b.tar.gz", 1<<20); err != nil || !bytes.Equal(got, content) {
		t.Errorf("Get with the default chain: %d bytes, %v", len(got), err)
	}
	bad := newExternal(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(keyID, "wrong", "")}, srv.URL)
	if _, err := bad.Get(ctx, "ext", "b.tar.gz", 1<<20); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong credentials: %v", err)
	}
}
