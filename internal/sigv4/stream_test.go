package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// s3Request is an S3 request as the server receives it, its headers signed by the SDK with
// payloadHash and its body sent as is.
func s3Request(t testing.TB, method, target, payloadHash string, header http.Header, body []byte) *http.Request {
	t.Helper()
	client, _ := http.NewRequest(method, "http://127.0.0.1:8080"+target, nil)
	for k, v := range header {
		client.Header[k] = v
	}
	client.Header.Set("X-Amz-Content-Sha256", payloadHash)
	client.ContentLength = int64(len(body))
	sdkSign(t, client, "s3", payloadHash, now)
	server := httptest.NewRequest(method, target, bytes.NewReader(body))
	server.Host = "127.0.0.1:8080"
	server.Header = client.Header.Clone()
	server.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return server
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readStream runs VerifyStream and reads the body it returns to EOF.
func readStream(t *testing.T, r *http.Request) ([]byte, error) {
	t.Helper()
	_, body, err := verifier("s3").VerifyStream(r)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

func TestStreamSignedPayloadHash(t *testing.T) {
	data := []byte("object bytes")
	got, err := readStream(t, s3Request(t, "PUT", "/b/k", hexSHA256(data), nil, data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %q, %v", got, err)
	}
	tampered := s3Request(t, "PUT", "/b/k", hexSHA256(data), nil, data)
	tampered.Body = io.NopCloser(strings.NewReader("object bytez"))
	_, err = readStream(t, tampered)
	wantKind(t, err, BadPayloadHash)

	// A GET's empty body has a hash too.
	if _, err := readStream(t, s3Request(t, "GET", "/b/k", emptySHA256, nil, nil)); err != nil {
		t.Errorf("GET: %v", err)
	}
}

func TestStreamPayloadHashHeader(t *testing.T) {
	for _, tc := range []struct {
		name, hash string
		want       Kind
	}{
		{"missing", "", Incomplete},
		{"not hex", strings.Repeat("z", 64), Incomplete},
		{"too long", strings.Repeat("a", 66), Incomplete},
		{"unknown streaming value", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", Incomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s3Request(t, "PUT", "/b/k", emptySHA256, nil, nil)
			if tc.hash == "" {
				r.Header.Del("X-Amz-Content-Sha256")
			} else {
				r.Header.Set("X-Amz-Content-Sha256", tc.hash)
			}
			_, _, err := verifier("s3").VerifyStream(r)
			wantKind(t, err, tc.want)
		})
	}
	// Streaming without the decoded length.
	r := s3Request(t, "PUT", "/b/k", streamingUnsignedTrail, http.Header{"Content-Encoding": {"aws-chunked"}}, []byte("0\r\n\r\n"))
	_, _, err := verifier("s3").VerifyStream(r)
	wantKind(t, err, Incomplete)
}

func TestStreamUnsignedPayloadPassesThrough(t *testing.T) {
	r := s3Request(t, "PUT", "/b/k", unsignedPayload, nil, []byte("anything"))
	_, body, err := verifier("s3").VerifyStream(r)
	if err != nil {
		t.Fatal(err)
	}
	if body != r.Body {
		t.Errorf("UNSIGNED-PAYLOAD without checksums should pass r.Body through")
	}
}

func TestStreamHeaderChecksums(t *testing.T) {
	data := []byte("hello checksum")
	crc := crc32.ChecksumIEEE(data)
	good := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	md := md5.Sum(data)
	goodMD5 := base64.StdEncoding.EncodeToString(md[:])
	for _, tc := range []struct {
		name, method, header, value string
		want                        Kind
	}{
		{"crc32", "PUT", "X-Amz-Checksum-Crc32", good, 0},
		{"crc32 wrong", "PUT", "X-Amz-Checksum-Crc32", "AAAAAA==", BadChecksum},
		{"md5", "PUT", "X-Amz-Checksum-Md5", goodMD5, 0},
		{"unknown algorithm unchecked", "PUT", "X-Amz-Checksum-Xxhash64", "AAAAAAAAAAA=", 0},
		// CompleteMultipartUpload's checksum header describes the object, not the XML body.
		{"not a PUT", "POST", "X-Amz-Checksum-Crc32", "AAAAAA==", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s3Request(t, tc.method, "/b/k", unsignedPayload, http.Header{tc.header: {tc.value}}, data)
			got, err := readStream(t, r)
			wantKind(t, err, tc.want)
			if err == nil && !bytes.Equal(got, data) {
				t.Errorf("read %q", got)
			}
		})
	}
}

func TestStreamDecodedRequestHeaders(t *testing.T) {
	data := []byte("hello")
	body := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(data), data)
	r := s3Request(t, "PUT", "/b/k", streamingUnsignedTrail, http.Header{
		"Content-Encoding":             {"aws-chunked,gzip"},
		"X-Amz-Decoded-Content-Length": {"5"},
	}, []byte(body))
	got, err := readStream(t, r)
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	if r.ContentLength != 5 || r.Header.Get("Content-Length") != "5" || r.Header.Get("Content-Encoding") != "gzip" ||
		r.Header.Get("X-Amz-Decoded-Content-Length") != "" || r.Header.Get("X-Amz-Content-Sha256") != unsignedPayload {
		t.Errorf("downstream request not rewritten: length %d, header %v", r.ContentLength, r.Header)
	}
}

// The AWS documentation's signed streaming upload ("Transferring payload in multiple
// chunks"): 66560 bytes of 'a' as a 64 KiB chunk, a 1 KiB chunk and the final one, with the
// signatures AWS publishes. Passing means the chaining matches AWS, not merely itself.
const (
	docKeyID     = "AKIAIOSFODNN7EXAMPLE"
	docSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	docSeed      = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	docChunk1    = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	docChunk2    = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	docChunkLast = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
	// The trailer "first:1st", "second:2nd", "third:3rd" signed after docChunkLast, from the
	// AWS Common Runtime's signer tests.
	docTrailer = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"
)

var docTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func docVerifier() *Verifier {
	return &Verifier{Credentials: creds{docKeyID: docSecret}, Service: "s3", Now: func() time.Time { return docTime }}
}

func docRequest(corrupt bool) *http.Request {
	var body bytes.Buffer
	for _, c := range []struct {
		size int
		sig  string
	}{{65536, docChunk1}, {1024, docChunk2}, {0, docChunkLast}} {
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", c.size, c.sig)
		data := bytes.Repeat([]byte("a"), c.size)
		if corrupt && c.size == 1024 {
			data[10] = 'b'
		}
		body.Write(data)
		body.WriteString("\r\n")
	}
	r := httptest.NewRequest("PUT", "/examplebucket/chunkObject.txt", &body)
	r.Host = "s3.amazonaws.com"
	r.Header = http.Header{
		"X-Amz-Date":                   {"20130524T000000Z"},
		"X-Amz-Storage-Class":          {"REDUCED_REDUNDANCY"},
		"X-Amz-Content-Sha256":         {streamingSigned},
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Decoded-Content-Length": {"66560"},
		"Content-Length":               {"66824"},
		"Authorization": {"AWS4-HMAC-SHA256 Credential=" + docKeyID + "/20130524/us-east-1/s3/aws4_request," +
			"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
			"Signature=" + docSeed},
	}
	return r
}

func TestStreamAWSDocumentedChunks(t *testing.T) {
	r := docRequest(false)
	if r.ContentLength != 66824 {
		t.Fatalf("example body is %d bytes, AWS says 66824", r.ContentLength)
	}
	_, body, err := docVerifier().VerifyStream(r)
	if err != nil {
		t.Fatalf("seed signature: %v", err)
	}
	got, err := io.ReadAll(body)
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
	if r.ContentLength != 66560 || r.Header.Get("Content-Encoding") != "" {
		t.Errorf("downstream request: length %d, headers %v", r.ContentLength, r.Header)
	}

	// A corrupted second chunk is refused before any of it is returned.
	_, body, err = docVerifier().VerifyStream(docRequest(true))
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(body)
	wantKind(t, err, BadSignature)
	if len(got) != 65536 {
		t.Errorf("returned %d bytes, want only the first, verified chunk", len(got))
	}
}

func TestStreamAWSDocumentedTrailerSignature(t *testing.T) {
	res, _, err := docVerifier().VerifyStream(docRequest(false))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig  string
		want Kind
	}{{docTrailer, 0}, {docChunkLast, BadSignature}} {
		trailer := "first:1st\r\nsecond:2nd\r\nthird:3rd\r\nx-amz-trailer-signature:" + tc.sig + "\r\n\r\n"
		c := newChunkedReader(strings.NewReader(trailer), res, true, true, 0)
		c.prevSig = docChunkLast
		wantKind(t, c.readTrailer(), tc.want)
	}
}

// chunkSigner signs aws-chunked bodies the way clients do, with crypto/hmac, independently
// of the code under test (whose chaining TestStreamAWSDocumentedChunks checks against AWS).
type chunkSigner struct {
	key            []byte
	amzDate, scope string
	prev           string
}

func newChunkSigner(seed string) *chunkSigner {
	k := []byte("AWS4" + testSecret)
	for _, s := range []string{now.Format("20060102"), "us-east-1", "s3", "aws4_request"} {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(s))
		k = m.Sum(nil)
	}
	return &chunkSigner{key: k, amzDate: now.Format(amzDateLayout), scope: now.Format("20060102") + "/us-east-1/s3/aws4_request", prev: seed}
}

func (s *chunkSigner) sign(alg, extra string, data []byte) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s%s", alg, s.amzDate, s.scope, s.prev, extra, hexSHA256(data))
	s.prev = hex.EncodeToString(m.Sum(nil))
	return s.prev
}

// signedTrailerRequest builds a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER upload with a
// crc32c trailer; mutate may alter the body text before it is sent.
func signedTrailerRequest(t *testing.T, data []byte, mutate func(string) string) *http.Request {
	crc := crc32.Checksum(data, castagnoli)
	sum := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	r := s3Request(t, "PUT", "/b/k", streamingSignedTrailer, http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Trailer":                {"x-amz-checksum-crc32c"},
		"X-Amz-Decoded-Content-Length": {strconv.Itoa(len(data))},
	}, nil)
	a := r.Header.Get("Authorization")
	s := newChunkSigner(a[strings.LastIndex(a, "=")+1:])
	var b strings.Builder
	for _, chunk := range [][]byte{data[:len(data)/2], data[len(data)/2:], nil} {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(chunk), s.sign("AWS4-HMAC-SHA256-PAYLOAD", emptySHA256+"\n", chunk))
		if len(chunk) > 0 {
			b.Write(chunk)
			b.WriteString("\r\n")
		}
	}
	trailer := "x-amz-checksum-crc32c:" + sum + "\n"
	fmt.Fprintf(&b, "x-amz-checksum-crc32c:%s\r\nx-amz-trailer-signature:%s\r\n\r\n", sum, s.sign("AWS4-HMAC-SHA256-TRAILER", "", []byte(trailer)))
	text := b.String()
	if mutate != nil {
		text = mutate(text)
	}
	r.Body = io.NopCloser(strings.NewReader(text))
	r.Header.Set("Content-Length", strconv.Itoa(len(text)))
	return r
}

func TestStreamSignedTrailer(t *testing.T) {
	data := []byte("signed chunks, then a signed trailer")
	for _, tc := range []struct {
		name   string
		mutate func(string) string
		want   Kind
	}{
		{"valid", nil, 0},
		{"data changed", func(s string) string { return strings.Replace(s, "signed chunks", "signed chunkz", 1) }, BadSignature},
		{"checksum changed", func(s string) string {
			i := strings.Index(s, "crc32c:") + len("crc32c:")
			return s[:i] + "AAAA" + s[i+4:]
		}, BadSignature},
		{"trailer signature dropped", func(s string) string { return s[:strings.Index(s, "x-amz-trailer-signature")] + "\r\n" }, BadBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readStream(t, signedTrailerRequest(t, data, tc.mutate))
			wantKind(t, err, tc.want)
			if err == nil && !bytes.Equal(got, data) {
				t.Errorf("read %q", got)
			}
		})
	}
}

func TestStreamMalformedChunks(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		decoded    int
		want       Kind
	}{
		{"valid", "5\r\nhello\r\n0\r\n\r\n", 5, 0},
		{"valid with trailer", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", 5, 0},
		{"bad checksum trailer", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", 5, BadChecksum},
		{"announced trailer missing", "5\r\nhello\r\n0\r\n\r\n", 5, BadBody},
		{"size not hex", "zz\r\nhello\r\n0\r\n\r\n", 5, BadBody},
		{"signed size", "+5\r\nhello\r\n0\r\n\r\n", 5, BadBody},
		{"negative size", "-5\r\nhello\r\n0\r\n\r\n", 5, BadBody},
		{"huge size", "7fffffffffffffff\r\nhello\r\n0\r\n\r\n", 5, BadBody},
		{"over decoded length", "6\r\nhello!\r\n0\r\n\r\n", 5, BadBody},
		{"under decoded length", "4\r\nhell\r\n0\r\n\r\n", 5, BadBody},
		{"no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", 5, BadBody},
		{"truncated data", "5\r\nhel", 5, BadBody},
		{"truncated before last chunk", "5\r\nhello\r\n", 5, BadBody},
		{"no final line", "5\r\nhello\r\n0\r\n", 5, BadBody},
		{"overlong line", strings.Repeat("0", 5000) + "5\r\nhello\r\n0\r\n\r\n", 5, BadBody},
		{"trailer without colon", "5\r\nhello\r\n0\r\nnonsense\r\n\r\n", 5, BadBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Encoding": {"aws-chunked"}, "X-Amz-Decoded-Content-Length": {strconv.Itoa(tc.decoded)}}
			if strings.Contains(tc.name, "trailer") {
				h.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
			}
			got, err := readStream(t, s3Request(t, "PUT", "/b/k", streamingUnsignedTrail, h, []byte(tc.body)))
			wantKind(t, err, tc.want)
			if err == nil && string(got) != "hello" {
				t.Errorf("read %q", got)
			}
		})
	}
	// Signed chunks must carry their signature.
	r := s3Request(t, "PUT", "/b/k", streamingSigned, http.Header{"Content-Encoding": {"aws-chunked"}, "X-Amz-Decoded-Content-Length": {"5"}},
		[]byte("5\r\nhello\r\n0\r\n\r\n"))
	_, err := readStream(t, r)
	wantKind(t, err, BadBody)
}
