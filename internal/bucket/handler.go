package bucket

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/openproton/openproton/internal/sigv4"
)

// Verify authenticates an S3 request and returns the body to read in place of r.Body (the
// server passes sigv4.Verifier.VerifyStream, plus its own permission checks).
type Verify func(r *http.Request) (body io.ReadCloser, err error)

// Handler serves the S3 API. Every request must pass verify first; a failure, up front or
// while the body streams, is answered as S3 answers it, and an upload whose body fails
// verification is not stored.
func (b *Buckets) Handler(verify Verify) http.Handler {
	inner := b.faker.Server()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Body
		body, err := verify(r)
		if err != nil {
			drain(w, r, raw, false)
			writeError(w, r, err, b.log)
			return
		}
		stripTransportHeaders(r.Header)
		fb := &failingBody{ReadCloser: body}
		r.Body = fb
		inner.ServeHTTP(&verifiedWriter{ResponseWriter: w, r: r, raw: raw, body: fb, log: b.log}, r)
	})
}

// stripTransportHeaders drops the headers that describe how a request was signed and
// sent rather than the object: gofakes3 stores every X-Amz-* request header as object
// metadata and returns it on GET, which would echo signing headers (and any session
// token) back to every reader, and it would decode an aws-chunked body a second time.
func stripTransportHeaders(h http.Header) {
	for k := range h {
		switch k {
		case "Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer",
			"X-Amz-Security-Token", "X-Amz-User-Agent", "X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Expected-Bucket-Owner",
			"X-Amz-Request-Payer":
			delete(h, k)
		default:
			// Checked by the verifier already; a stored whole-object checksum would also be
			// wrong for range reads.
			if strings.HasPrefix(k, "X-Amz-Checksum-") {
				delete(h, k)
			}
		}
	}
}

// Draining bounds: enough for the uploads bundles are, short of letting an unauthenticated
// client keep a handler busy.
const (
	drainBytes   = 32 << 20
	drainTimeout = 5 * time.Second
)

// drain reads and discards the unread rest of a request body before an answer that did
// not need all of it goes out. A client that is sending its body sends all of it whatever
// we answer; net/http would discard at most 256 KiB and then close the connection under
// the upload, turning the answer into a connection reset. A client that asked Expect:
// 100-continue and has not been told to continue (nothing was read yet) is left alone:
// reading would tell it to, and it waits for the answer instead. HTTP/2 resets just the
// stream.
func drain(w http.ResponseWriter, r *http.Request, body io.Reader, started bool) {
	if r.ProtoMajor != 1 || r.ContentLength == 0 || body == nil || body == http.NoBody ||
		!started && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(drainTimeout))
	_, _ = io.CopyN(io.Discard, body, drainBytes)
}

// failingBody remembers how far the verified body was read, and a verification failure
// met on the way.
type failingBody struct {
	io.ReadCloser
	started, ended bool // ended: read to its end, without error
	err            error
}

func (f *failingBody) Read(p []byte) (int, error) {
	f.started = true
	n, err := f.ReadCloser.Read(p)
	if err == io.EOF {
		f.ended = true
	}
	var e *sigv4.Error
	if errors.As(err, &e) {
		f.err = err
	}
	return n, err
}

// verifiedWriter answers a request whose body failed verification with the S3 error for
// that failure, in place of whatever gofakes3 made of the read error, so a failed upload
// is never reported as anything else; and it drains a body gofakes3 answered without
// reading (NoSuchBucket, say) before the answer goes out.
type verifiedWriter struct {
	http.ResponseWriter
	r         *http.Request
	raw       io.Reader // the request body as received
	body      *failingBody
	log       *slog.Logger
	wroteHead bool
	replaced  bool
}

func (v *verifiedWriter) WriteHeader(status int) {
	if v.wroteHead {
		return
	}
	v.wroteHead = true
	if !v.body.ended {
		drain(v.ResponseWriter, v.r, v.raw, v.body.started)
	}
	if v.body.err != nil {
		v.replaced = true
		for k := range v.Header() {
			delete(v.Header(), k)
		}
		writeError(v.ResponseWriter, v.r, v.body.err, v.log)
		return
	}
	v.ResponseWriter.WriteHeader(status)
}

func (v *verifiedWriter) Write(p []byte) (int, error) {
	if !v.wroteHead {
		v.WriteHeader(http.StatusOK)
	}
	if v.replaced {
		return len(p), nil
	}
	return v.ResponseWriter.Write(p)
}
