package sigv4

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/proton/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,=,=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if kindOf(err) != Incomplete {
				t.Fatalf("unexpected error for %q: %v", h, err)
			}
			return
		}
		if a.accessKeyID == "" || a.region == "" || a.service == "" || len(a.date) != 8 || a.signature == "" ||
			!strings.Contains(";"+a.signedHeaders+";", ";host;") {
			t.Fatalf("accepted incomplete header %q: %+v", h, a)
		}
		if !strings.Contains(h, a.accessKeyID+"/"+a.date+"/"+a.region+"/"+a.service+"/aws4_request") {
			t.Fatalf("credential %+v is not in %q", a, h)
		}
	})
}

// FuzzChunked feeds arbitrary bodies to the aws-chunked decoder: it must never panic, never
// return more bytes than the declared length, and fail with a sigv4 error unless the body
// is well formed.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), int64(5), true)
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), int64(5), true)
	f.Add([]byte("3;chunk-signature=00\r\nabc\r\n0\r\n\r\n"), int64(3), false)
	f.Add([]byte("ffffffffffffffff\r\n"), int64(1), false)
	f.Fuzz(func(t *testing.T, body []byte, decoded int64, trailer bool) {
		if decoded < 0 {
			decoded = -decoded
		}
		c := newChunkedReader(bytes.NewReader(body), nil, false, trailer, decoded%(1<<20))
		got, err := io.ReadAll(c)
		if int64(len(got)) > decoded%(1<<20) {
			t.Fatalf("decoded %d bytes, more than declared %d", len(got), decoded)
		}
		if err != nil && kindOf(err) == 0 {
			t.Fatalf("error is not a sigv4 error: %v", err)
		}
	})
}
