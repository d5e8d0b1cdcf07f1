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
	_, srv := serve(t, t.TempDir())
	c := client(srv.URL, keyID, secret)
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
	bad := newExternal(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(keyID, "wrong", "")}, srv.URL)
	if _, err := bad.Get(ctx, "ext", "b.tar.gz", 1<<20); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong credentials: %v", err)
	}
}
