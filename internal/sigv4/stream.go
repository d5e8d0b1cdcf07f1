package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Payload hash values S3 clients send in X-Amz-Content-Sha256.
const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// maxChunk bounds one aws-chunked chunk so a hostile size line cannot exhaust memory.
const maxChunk = 16 << 20

// VerifyStream checks an S3 request without reading its body first. It returns the body the
// handler must read instead of r.Body: the plain object bytes, checked against the signed
// hash, the chunk signatures or the trailing checksum as the client chose. A mismatch
// surfaces as an *Error from Read, so a handler that fails on read errors stores nothing.
// For aws-chunked bodies it also rewrites r's headers to describe the decoded body.
func (v *Verifier) VerifyStream(r *http.Request) (*Result, io.ReadCloser, error) {
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	res, err := v.verify(r, func(*authorization) (string, error) {
		if claimed == "" {
			return "", fail(Incomplete, "Missing required header for this request: x-amz-content-sha256")
		}
		return claimed, nil
	})
	if err != nil {
		return nil, nil, err
	}
	switch claimed {
	case unsignedPayload:
		return res, r.Body, nil
	case streamingSigned, streamingSignedTrailer, streamingUnsignedTrail:
		decoded, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || decoded < 0 {
			return nil, nil, fail(Incomplete, "aws-chunked uploads require X-Amz-Decoded-Content-Length")
		}
		body := &chunkedBody{src: bufio.NewReader(r.Body), closer: r.Body, res: res, prevSig: res.seed,
			signed: claimed != streamingUnsignedTrail, trailer: claimed != streamingSigned, remaining: decoded}
		if body.trailer {
			body.checksum = newChecksum(r.Header.Get("X-Amz-Trailer"))
		}
		// Downstream sees a plain body of the decoded length.
		r.ContentLength = decoded
		r.Header.Set("Content-Length", strconv.FormatInt(decoded, 10))
		r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		r.Header.Del("X-Amz-Decoded-Content-Length")
		if enc := strings.TrimPrefix(strings.TrimPrefix(r.Header.Get("Content-Encoding"), "aws-chunked"), ","); enc != "" {
			r.Header.Set("Content-Encoding", strings.TrimSpace(enc))
		} else {
			r.Header.Del("Content-Encoding")
		}
		return res, body, nil
	}
	want, err := hex.DecodeString(claimed)
	if err != nil || len(want) != sha256.Size {
		return nil, nil, fail(BadPayloadHash, "x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- value")
	}
	return res, &hashedBody{src: r.Body, h: sha256.New(), want: want}, nil
}

// hashedBody fails at EOF when the body's SHA-256 differs from the signed one.
type hashedBody struct {
	src  io.ReadCloser
	h    hash.Hash
	want []byte
}

func (b *hashedBody) Read(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.h.Write(p[:n])
	if errors.Is(err, io.EOF) && !bytes.Equal(b.h.Sum(nil), b.want) {
		return n, fail(BadPayloadHash, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return n, err
}

func (b *hashedBody) Close() error { return b.src.Close() }

// chunkedBody decodes aws-chunked: "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n" ...
// ending with a zero-size chunk, then (for trailer variants) header lines and a blank line.
type chunkedBody struct {
	src       *bufio.Reader
	closer    io.Closer
	res       *Result
	prevSig   string
	signed    bool
	trailer   bool
	checksum  *checksum
	remaining int64 // decoded bytes still expected
	chunk     []byte
	done      bool
	err       error
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	for len(b.chunk) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.done {
			return 0, io.EOF
		}
		b.err = b.next()
	}
	n := copy(p, b.chunk)
	b.chunk = b.chunk[n:]
	return n, nil
}

func (b *chunkedBody) Close() error { return b.closer.Close() }

func malformed(format string, a ...any) error {
	return fail(BadPayloadHash, "aws-chunked body: "+format, a...)
}

// next reads one chunk, checking its signature, and the trailer after the last one.
func (b *chunkedBody) next() error {
	line, err := b.readLine()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
	if err != nil || size < 0 || size > maxChunk {
		return malformed("bad chunk size %q", sizeHex)
	}
	if size > b.remaining {
		return malformed("chunks exceed X-Amz-Decoded-Content-Length")
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(b.src, data); err != nil {
		return malformed("truncated chunk")
	}
	if size > 0 || !b.trailer {
		if crlf, err := b.readLine(); err != nil || crlf != "" {
			return malformed("chunk not followed by CRLF")
		}
	}
	if b.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok {
			return malformed("chunk without chunk-signature")
		}
		toSign := "AWS4-HMAC-SHA256-PAYLOAD\n" + b.res.date + "\n" + b.res.scope + "\n" + b.prevSig + "\n" + emptySHA256 + "\n" + hexSHA256(data)
		want := hex.EncodeToString(hmacSHA256(b.res.key, toSign))
		if want != sig {
			return fail(BadSignature, "The chunk signature does not match the one calculated.")
		}
		b.prevSig = sig
	}
	b.remaining -= size
	if b.checksum != nil && b.checksum.h != nil {
		b.checksum.h.Write(data)
	}
	if size > 0 {
		b.chunk = data
		return nil
	}
	if b.remaining != 0 {
		return malformed("body shorter than X-Amz-Decoded-Content-Length")
	}
	if b.trailer {
		if err := b.readTrailer(); err != nil {
			return err
		}
	}
	b.done = true
	return nil
}

// readTrailer reads trailing headers up to the blank line and checks the checksum.
func (b *chunkedBody) readTrailer() error {
	for {
		line, err := b.readLine()
		if err != nil {
			return err
		}
		if line == "" {
			return nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return malformed("bad trailer line")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if b.checksum != nil && name == b.checksum.name && b.checksum.h != nil {
			got := base64.StdEncoding.EncodeToString(b.checksum.h.Sum(nil))
			if got != strings.TrimSpace(value) {
				return fail(BadPayloadHash, "The %s you specified did not match the calculated checksum.", name)
			}
		}
	}
}

// readLine reads one CRLF-terminated line of at most the reader's buffer size (4 KiB).
func (b *chunkedBody) readLine() (string, error) {
	line, err := b.src.ReadSlice('\n')
	if err != nil {
		return "", malformed("unterminated or overlong line")
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// checksum is a trailing x-amz-checksum-* the client announced in X-Amz-Trailer. h is nil
// for algorithms this server cannot compute (the trailer is then accepted unchecked).
type checksum struct {
	name string
	h    hash.Hash
}

func newChecksum(trailer string) *checksum {
	name := strings.ToLower(strings.TrimSpace(trailer))
	if name == "" {
		return nil
	}
	c := &checksum{name: name}
	switch name {
	case "x-amz-checksum-crc32":
		c.h = crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		c.h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-sha1":
		c.h = sha1.New()
	case "x-amz-checksum-sha256":
		c.h = sha256.New()
	}
	return c
}
