// Package bucket is the embedded S3-compatible bucket API (path-style) that template bundles
// are uploaded to, and the readers the server uses to fetch bundles from it or from an
// external S3 endpoint.
package bucket

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"

	"github.com/openproton/openproton/internal/sigv4"
)

// ErrNotFound is returned by Get for a missing bucket or object.
var ErrNotFound = errors.New("bucket: no such bucket or key")

// ErrAccessDenied is what a Verify returns for a caller not allowed the request.
var ErrAccessDenied = errors.New("Access Denied")

// ErrTooLarge is returned by Get for an object over the caller's limit.
var ErrTooLarge = errors.New("bucket: object too large")

// Reader fetches an object whole, up to maxBytes.
type Reader interface {
	Get(ctx context.Context, bucket, key string, maxBytes int64) ([]byte, error)
}

// Buckets is the embedded store: gofakes3 over a bbolt file in the data dir, so objects
// survive restarts.
type Buckets struct {
	db      *bolt.DB
	backend *s3bolt.Backend
	faker   *gofakes3.GoFakeS3
	file    string
	log     *slog.Logger
}

var _ Reader = (*Buckets)(nil)

// Open opens (creating) the bucket store under dir.
func Open(dir string, logger *slog.Logger) (*Buckets, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bucket: %w", err)
	}
	file := filepath.Join(dir, "buckets.bolt")
	// A second server on the same data dir waits briefly for the file lock, then fails.
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("bucket: open %s: %w", file, err)
	}
	backend := s3bolt.New(db)
	faker := gofakes3.New(backend,
		gofakes3.WithLogger(slogLogger{logger}),
		// Our SigV4 check already bounds the request time.
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithoutVersioning(),
	)
	return &Buckets{db: db, backend: backend, faker: faker, file: file, log: logger}, nil
}

// Close releases the store's file.
func (b *Buckets) Close() error { return b.db.Close() }

// Verify authenticates an S3 request and returns the body to read in its place.
type Verify func(r *http.Request) (body io.ReadCloser, err error)

// Handler serves the S3 API; every request must pass verify first.
func (b *Buckets) Handler(verify Verify) http.Handler {
	inner := b.faker.Server()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := verify(r)
		if err != nil {
			writeAuthError(w, r, err, b.log)
			return
		}
		fb := &failingBody{ReadCloser: body}
		r.Body = fb
		inner.ServeHTTP(&verifiedWriter{ResponseWriter: w, r: r, body: fb, log: b.log}, r)
	})
}

// verifiedWriter answers a body that failed verification mid-stream with the S3 error for
// it, instead of whatever gofakes3 made of the read error.
type verifiedWriter struct {
	http.ResponseWriter
	r        *http.Request
	body     *failingBody
	log      *slog.Logger
	replaced bool
}

func (v *verifiedWriter) WriteHeader(status int) {
	if v.body.err != nil && !v.replaced {
		v.replaced = true
		writeAuthError(v.ResponseWriter, v.r, v.body.err, v.log)
		return
	}
	if !v.replaced {
		v.ResponseWriter.WriteHeader(status)
	}
}

func (v *verifiedWriter) Write(p []byte) (int, error) {
	if v.body.err != nil && !v.replaced {
		v.WriteHeader(http.StatusBadRequest)
	}
	if v.replaced {
		return len(p), nil
	}
	return v.ResponseWriter.Write(p)
}

// failingBody remembers a verification failure met while streaming the body, so a failed
// upload is never reported as success.
type failingBody struct {
	io.ReadCloser
	err error
}

func (f *failingBody) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		f.err = err
	}
	return n, err
}

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

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

// S3Code maps a verification failure to S3's error code and status.
func S3Code(err error) (code string, status int) {
	if errors.Is(err, ErrAccessDenied) {
		return "AccessDenied", http.StatusForbidden
	}
	var e *sigv4.Error
	if !errors.As(err, &e) {
		return "InternalError", http.StatusInternalServerError
	}
	switch e.Kind {
	case sigv4.MissingAuth:
		return "AccessDenied", http.StatusForbidden
	case sigv4.UnknownKey:
		return "InvalidAccessKeyId", http.StatusForbidden
	case sigv4.Expired:
		return "RequestTimeTooSkewed", http.StatusForbidden
	case sigv4.BadPayloadHash:
		return "XAmzContentSHA256Mismatch", http.StatusBadRequest
	case sigv4.Incomplete:
		return "AuthorizationHeaderMalformed", http.StatusBadRequest
	}
	return "SignatureDoesNotMatch", http.StatusForbidden
}

func writeAuthError(w http.ResponseWriter, r *http.Request, err error, log *slog.Logger) {
	code, status := S3Code(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "s3 authentication failed", "err", err)
		msg = "internal error"
	}
	body, _ := xml.Marshal(s3Error{Code: code, Message: msg, Resource: r.URL.Path})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// slogLogger routes gofakes3's logging to slog at debug level; it never sees credentials.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr {
		s.l.Warn("s3", "msg", fmt.Sprint(v...))
		return
	}
	s.l.Debug("s3", "msg", fmt.Sprint(v...))
}
