package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Payload hash values S3 clients send in X-Amz-Content-Sha256 besides a hex SHA-256.
const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// VerifyStream checks an S3 request without reading its body first, and returns the body
// the handler must read instead of r.Body: the plain object bytes, checked against the
// signed payload hash, the chunk and trailer signatures, and any x-amz-checksum-* header
// or trailer, as the client chose. UNSIGNED-PAYLOAD without a checksum passes r.Body
// through. A mismatch surfaces as an *Error from Read, at the latest at EOF, so a handler
// that reads the body to EOF before storing it and fails on read errors stores nothing
// unverified.
//
// For aws-chunked bodies it rewrites r to describe the decoded body: Content-Length (and
// r.ContentLength) become X-Amz-Decoded-Content-Length, aws-chunked leaves
// Content-Encoding, X-Amz-Decoded-Content-Length goes, and X-Amz-Content-Sha256 becomes
// UNSIGNED-PAYLOAD so nothing downstream decodes the body a second time.
func (v *Verifier) VerifyStream(r *http.Request) (*Result, io.ReadCloser, error) {
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	var want [sha256.Size]byte
	switch claimed {
	case unsignedPayload, streamingSigned, streamingSignedTrailer, streamingUnsignedTrail:
	case "":
		return nil, nil, fail(Incomplete, "Missing required header for this request: x-amz-content-sha256")
	default:
		if len(claimed) != hex.EncodedLen(len(want)) || !decodeHex(want[:], claimed) {
			return nil, nil, fail(Incomplete, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
		}
	}
	res, err := v.verify(r, claimed)
	if err != nil {
		return nil, nil, err
	}

	b := &body{src: r.Body, closer: r.Body, checks: headerChecksums(r)}
	switch claimed {
	case unsignedPayload:
	case streamingSigned, streamingSignedTrailer, streamingUnsignedTrail:
		decoded, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || decoded < 0 {
			return nil, nil, fail(Incomplete, "aws-chunked uploads require a valid X-Amz-Decoded-Content-Length header.")
		}
		trailer := claimed != streamingSigned
		b.chunked = newChunkedReader(r.Body, res, claimed != streamingUnsignedTrail, trailer, decoded)
		b.src = b.chunked
		if trailer {
			b.checks = append(b.checks, trailerChecksums(r)...)
		}
		presentDecoded(r, decoded)
	default:
		b.sha, b.want = sha256.New(), want
	}
	if b.sha == nil && b.chunked == nil && len(b.checks) == 0 {
		return res, r.Body, nil
	}
	return res, b, nil
}

// presentDecoded makes r describe the decoded body of an aws-chunked request.
func presentDecoded(r *http.Request, decoded int64) {
	r.ContentLength = decoded
	r.Header.Set("Content-Length", strconv.FormatInt(decoded, 10))
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	var rest []string
	for _, list := range r.Header.Values("Content-Encoding") {
		for enc := range strings.SplitSeq(list, ",") {
			if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, "aws-chunked") {
				rest = append(rest, enc)
			}
		}
	}
	if len(rest) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(rest, ","))
	}
}

// body is the verified body VerifyStream returns: it feeds every byte it returns to the
// hashes, and at EOF fails unless they all match.
type body struct {
	src     io.Reader // the request body, or an aws-chunked decoder over it
	closer  io.Closer
	chunked *chunkedReader // nil unless aws-chunked: the source of trailer values
	sha     hash.Hash      // nil unless the payload hash is a hex SHA-256
	want    [sha256.Size]byte
	checks  []*checksum
	err     error // sticky once the source has ended
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.src.Read(p)
	if n > 0 {
		if b.sha != nil {
			b.sha.Write(p[:n])
		}
		for _, c := range b.checks {
			c.h.Write(p[:n])
		}
	}
	if err == io.EOF { // as io.Reader documents it: never wrapped
		if b.err = b.finish(); b.err == nil {
			b.err = io.EOF
		}
		return n, b.err
	}
	return n, err
}

func (b *body) finish() error {
	if b.sha != nil && [sha256.Size]byte(b.sha.Sum(nil)) != b.want {
		return fail(BadPayloadHash, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	var trailers map[string]string
	if b.chunked != nil {
		trailers = b.chunked.trailers
	}
	for _, c := range b.checks {
		if err := c.verify(trailers); err != nil {
			return err
		}
	}
	return nil
}

func (b *body) Close() error { return b.closer.Close() }
