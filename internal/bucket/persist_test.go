package bucket

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestObjectsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, srv := serve(t, dir, false)
	content := bytes.Repeat([]byte("persisted "), 600_000) // 6 MB
	c := srv.client(keyID, secret)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keep"), Key: aws.String("k"), Body: bytes.NewReader(content)}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// The same directory, opened again, served again.
	again, srv2 := serve(t, dir, false)
	if got, err := again.Get(ctx, "keep", "k", 8<<20); err != nil || !bytes.Equal(got, content) {
		t.Errorf("Get after reopen: %d bytes, %v", len(got), err)
	}
	c2 := srv2.client(keyID, secret)
	out, err := c2.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keep"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, content) {
		t.Errorf("GetObject after reopen: %d bytes", len(got))
	}
	list, err := c2.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(list.Buckets) != 1 || aws.ToString(list.Buckets[0].Name) != "keep" {
		t.Errorf("ListBuckets after reopen: %v, %v", list, err)
	}
}

// A second Open of a directory in use fails instead of corrupting it.
func TestOpenLocks(t *testing.T) {
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 50 * time.Millisecond
	dir := t.TempDir()
	b, err := Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if second, err := Open(dir, quiet); err == nil {
		second.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
}
