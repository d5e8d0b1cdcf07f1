// Package bucket is the embedded S3-compatible bucket API (path-style) that template bundles
// are uploaded to, and the readers the server fetches bundles with, from it or from an
// external S3 endpoint.
package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned by Get for a missing bucket or object.
var ErrNotFound = errors.New("bucket: no such bucket or key")

// ErrTooLarge is returned by Get for an object over the caller's limit.
var ErrTooLarge = errors.New("bucket: object too large")

// Reader fetches an object whole, up to maxBytes.
type Reader interface {
	Get(ctx context.Context, bucket, key string, maxBytes int64) ([]byte, error)
}

// Buckets is the embedded store: gofakes3 over a bbolt file in the data dir. bbolt commits
// every object durably, keeps keys such as "a" and "a/b" apart (a directory tree cannot),
// and holds objects of many megabytes; gofakes3 buffers each object whole either way.
// Multipart uploads in progress live in memory until completed and do not survive a restart.
type Buckets struct {
	db      *bolt.DB
	backend *s3bolt.Backend
	faker   *gofakes3.GoFakeS3
	log     *slog.Logger
}

var _ Reader = (*Buckets)(nil)

// lockTimeout is how long Open waits for another process to release the store.
var lockTimeout = 5 * time.Second

// Open opens the store under dir, creating it if needed.
func Open(dir string, logger *slog.Logger) (*Buckets, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bucket: %w", err)
	}
	file := filepath.Join(dir, "buckets.bolt")
	// A second server on the same data dir waits briefly for the file lock, then fails.
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("bucket: open %s: %w", file, err)
	}
	backend := s3bolt.New(db)
	faker := gofakes3.New(backend,
		gofakes3.WithLogger(slogLogger{logger}),
		gofakes3.WithTimeSkewLimit(0), // the SigV4 check in front already bounds request time
		gofakes3.WithoutVersioning(),
	)
	return &Buckets{db: db, backend: backend, faker: faker, log: logger}, nil
}

// Close releases the store's file.
func (b *Buckets) Close() error { return b.db.Close() }

// Get reads a whole object, refusing ones over maxBytes.
func (b *Buckets) Get(_ context.Context, bucket, key string, maxBytes int64) ([]byte, error) {
	obj, err := b.backend.GetObject(bucket, key, nil)
	if err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) || gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrNotFound)
		}
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Contents.Close()
	return readObject(obj.Contents, obj.Size, bucket, key, maxBytes)
}

// readObject reads an object's body whole, refusing more than maxBytes whatever its
// declared size (size < 0: unknown).
func readObject(body io.Reader, size int64, bucket, key string, maxBytes int64) ([]byte, error) {
	if size > maxBytes {
		return nil, fmt.Errorf("s3://%s/%s is %d bytes, over the %d byte limit: %w", bucket, key, size, maxBytes, ErrTooLarge)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(body, maxBytes+1)); err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	if int64(buf.Len()) > maxBytes {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrTooLarge)
	}
	return buf.Bytes(), nil
}
