package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
)

const (
	// maxChunk bounds one chunk, which is held whole until its signature is checked, so a
	// hostile size line cannot exhaust memory. Clients send 8 KiB to 1 MiB.
	maxChunk = 16 << 20
	// maxTrailers bounds the trailer section; clients send one checksum.
	maxTrailers = 16
)

// chunkedReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//
// then, in the trailer variants, "name:value\r\n" lines (in the signed one ending with
// x-amz-trailer-signature:<sig>), and in every variant an empty line. Signed chunks chain
// from the request's signature, each over the one before. A chunk is returned only once
// its signature has been checked.
type chunkedReader struct {
	src       *bufio.Reader
	res       *Result // the request's signing context; nil when chunks are unsigned
	scope     string
	trailer   bool // a trailer section follows the last chunk
	prevSig   string
	remaining int64 // decoded bytes still to come, from X-Amz-Decoded-Content-Length
	buf       []byte
	chunk     []byte // the current chunk's bytes not yet returned
	trailers  map[string]string
	sts       []byte // string-to-sign scratch
	mac       macer
	err       error // sticky; io.EOF once the body has been read and checked
}

func newChunkedReader(src io.Reader, res *Result, signed, trailer bool, decodedLength int64) *chunkedReader {
	c := &chunkedReader{src: bufio.NewReader(src), trailer: trailer, remaining: decodedLength}
	if signed {
		c.res, c.prevSig = res, res.seed
		c.scope = string(appendScope(nil, res.date, res.Region, res.service))
	}
	return c
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for len(c.chunk) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.err = c.next()
	}
	n := copy(p, c.chunk)
	c.chunk = c.chunk[n:]
	return n, nil
}

func malformed(format string, a ...any) error {
	return fail(BadBody, "aws-chunked body: "+format, a...)
}

// next reads one chunk into c.chunk, or, after the last one, the trailer; it returns
// io.EOF when the body is complete.
func (c *chunkedReader) next() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, ok := parseChunkSize(sizeHex)
	if !ok {
		return malformed("bad chunk size")
	}
	if size > maxChunk {
		return malformed("chunk of %d bytes exceeds the %d byte limit", size, maxChunk)
	}
	if size > c.remaining {
		return malformed("longer than X-Amz-Decoded-Content-Length")
	}
	if int64(cap(c.buf)) < size {
		c.buf = make([]byte, size)
	}
	data := c.buf[:size]
	if _, err := io.ReadFull(c.src, data); err != nil {
		return truncated(err)
	}
	if size > 0 || !c.trailer {
		if end, err := c.readLine(); err != nil || end != "" {
			return malformed("chunk data not followed by CRLF")
		}
	}
	if c.res != nil {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok {
			return malformed("chunk without chunk-signature")
		}
		c.sts = c.stringToSign(c.sts[:0], "AWS4-HMAC-SHA256-PAYLOAD", emptySHA256+"\n", data)
		if !signatureMatches(c.mac.sum(&c.res.key, c.sts), sig) {
			return fail(BadSignature, "The chunk signature we calculated does not match the signature you provided.")
		}
		c.prevSig = sig
	}
	c.remaining -= size
	if size > 0 {
		c.chunk = data
		return nil
	}
	if c.remaining != 0 {
		return malformed("shorter than X-Amz-Decoded-Content-Length")
	}
	if c.trailer {
		if err := c.readTrailer(); err != nil {
			return err
		}
	}
	return io.EOF
}

// stringToSign is what a chunk or the trailer is signed over: the scope, the previous
// signature, then (for chunks) the empty-string hash, and the SHA-256 of the data.
func (c *chunkedReader) stringToSign(b []byte, alg, extra string, data []byte) []byte {
	b = append(b, alg...)
	b = append(b, '\n')
	b = append(b, c.res.amzDate...)
	b = append(b, '\n')
	b = append(b, c.scope...)
	b = append(b, '\n')
	b = append(b, c.prevSig...)
	b = append(b, '\n')
	b = append(b, extra...)
	sum := sha256.Sum256(data)
	return hex.AppendEncode(b, sum[:])
}

// readTrailer reads the trailer lines up to the empty one and, for signed bodies, checks
// the trailer signature over them.
func (c *chunkedReader) readTrailer() error {
	c.trailers = map[string]string{}
	var signature string
	signed := false
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" || signed || len(c.trailers) >= maxTrailers {
			return malformed("bad trailer")
		}
		if name == "x-amz-trailer-signature" {
			signature, signed = strings.TrimSpace(value), true
			continue
		}
		c.trailers[name] = strings.TrimSpace(value)
	}
	if c.res == nil {
		return nil
	}
	if !signed {
		return malformed("trailer without x-amz-trailer-signature")
	}
	// The signed form: each trailer "name:value\n", sorted by name.
	var canonical []byte
	for _, name := range slices.Sorted(maps.Keys(c.trailers)) {
		canonical = append(canonical, name...)
		canonical = append(canonical, ':')
		canonical = append(canonical, c.trailers[name]...)
		canonical = append(canonical, '\n')
	}
	c.sts = c.stringToSign(c.sts[:0], "AWS4-HMAC-SHA256-TRAILER", "", canonical)
	if !signatureMatches(c.mac.sum(&c.res.key, c.sts), signature) {
		return fail(BadSignature, "The trailer signature we calculated does not match the signature you provided.")
	}
	return nil
}

// readLine reads one line, without its CRLF, of at most the reader's buffer size (4 KiB).
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.src.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", malformed("line too long")
	case err != nil:
		return "", truncated(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// truncated reports a body that ended early as malformed; other read errors (a broken
// connection) pass through unchanged.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("truncated")
	}
	return err
}

// parseChunkSize parses a chunk's hex size: digits only, no sign, at most 15 of them so it
// cannot overflow.
func parseChunkSize(s string) (int64, bool) {
	if s == "" || len(s) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		var d byte
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
