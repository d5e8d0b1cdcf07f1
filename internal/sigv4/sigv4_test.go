package sigv4

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

type creds map[string]string

func (c creds) SecretFor(_ context.Context, id string) (string, error) {
	if s, ok := c[id]; ok {
		return s, nil
	}
	return "", ErrUnknownKey
}

var (
	testCreds = creds{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	now       = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
)

// signed builds a server-side request as a client would send it, signed by the AWS SDK's
// own signer (the oracle).
func signed(t testing.TB, service, method, target string, body []byte, at time.Time, mutate func(*http.Request)) *http.Request {
	t.Helper()
	client, err := http.NewRequest(method, "http://127.0.0.1:8080"+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	client.Header.Set("X-Amz-Target", "AwsProton20200720.ListEnvironments")
	client.Header.Add("X-Custom", "  a   b  ")
	client.Header.Add("X-Custom", "c")
	if mutate != nil {
		mutate(client)
	}
	hash := hexSHA256(body)
	client.Header.Set("X-Amz-Content-Sha256", hash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: testCreds["AKIDEXAMPLE"]},
		client, hash, service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	// Re-create the request as the server would see it: RequestURI is what was sent.
	server := httptest.NewRequest(method, client.URL.RequestURI(), bytes.NewReader(body))
	server.Host = client.URL.Host
	server.Header = client.Header.Clone()
	return server
}

func verifier(service string) *Verifier {
	return &Verifier{Credentials: testCreds, Service: service, Now: func() time.Time { return now }}
}

func TestVerifyAgreesWithSDKSigner(t *testing.T) {
	body := []byte(`{"maxResults":10}`)
	for _, target := range []string{
		"/",
		"/a/b%20c/d",
		"/bucket/key%2Bplus/%C3%A9t%C3%A9",
		"/bucket/dir%2Fslash",
		"/?b=2&a=1&a=0",
		"/?empty=&flag&x=%2F%20%2B",
		"/bucket?list-type=2&prefix=a%20b&delimiter=%2F",
	} {
		for _, service := range []string{"proton", "s3"} {
			t.Run(service+target, func(t *testing.T) {
				r := signed(t, service, http.MethodPost, target, body, now, nil)
				var err error
				if service == "s3" {
					_, _, err = verifier(service).VerifyStream(r)
				} else {
					_, err = verifier(service).Verify(r, body)
				}
				if err != nil {
					t.Fatalf("SDK-signed request rejected: %v", err)
				}
			})
		}
	}
}

func kindOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return fmt.Sprint(e.Kind)
	}
	return "not a sigv4 error: " + fmt.Sprint(err)
}

func TestVerifyRejects(t *testing.T) {
	body := []byte(`{}`)
	v := verifier("proton")
	for _, tc := range []struct {
		name string
		req  func() (*http.Request, []byte)
		want Kind
	}{
		{"no authorization", func() (*http.Request, []byte) {
			r := signed(t, "proton", "POST", "/", body, now, nil)
			r.Header.Del("Authorization")
			return r, body
		}, MissingAuth},
		{"garbage authorization", func() (*http.Request, []byte) {
			r := signed(t, "proton", "POST", "/", body, now, nil)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense")
			return r, body
		}, Incomplete},
		{"unknown key", func() (*http.Request, []byte) {
			r := signed(t, "proton", "POST", "/", body, now, nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDEXAMPLE", "AKIDOTHER", 1))
			return r, body
		}, UnknownKey},
		{"tampered header", func() (*http.Request, []byte) {
			r := signed(t, "proton", "POST", "/", body, now, nil)
			r.Header.Set("X-Amz-Target", "AwsProton20200720.DeleteEnvironment")
			return r, body
		}, BadSignature},
		{"tampered body", func() (*http.Request, []byte) {
			return signed(t, "proton", "POST", "/", body, now, nil), []byte(`{"x":1}`)
		}, BadPayloadHash},
		{"tampered body without hash header", func() (*http.Request, []byte) {
			r := signed(t, "proton", "POST", "/", body, now, nil)
			r.Header.Del("X-Amz-Content-Sha256")
			return r, []byte(`{"x":1}`)
		}, BadSignature},
		{"expired", func() (*http.Request, []byte) {
			return signed(t, "proton", "POST", "/", body, now.Add(-16*time.Minute), nil), body
		}, Expired},
		{"future", func() (*http.Request, []byte) {
			return signed(t, "proton", "POST", "/", body, now.Add(16*time.Minute), nil), body
		}, Expired},
		{"wrong service", func() (*http.Request, []byte) {
			return signed(t, "s3", "POST", "/", body, now, nil), body
		}, Incomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, b := tc.req()
			_, err := v.Verify(r, b)
			if got := kindOf(err); got != fmt.Sprint(tc.want) {
				t.Errorf("err = %v (kind %s), want kind %d", err, got, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testCreds["AKIDEXAMPLE"]) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
	// Within the skew window is fine.
	if _, err := v.Verify(signed(t, "proton", "POST", "/", body, now.Add(-14*time.Minute), nil), body); err != nil {
		t.Errorf("14 minutes old: %v", err)
	}
}

func TestStreamSignedPayloadHash(t *testing.T) {
	body := []byte("object bytes")
	r := signed(t, "s3", http.MethodPut, "/b/k", body, now, nil)
	_, rc, err := verifier("s3").VerifyStream(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rc); err != nil || string(got) != string(body) {
		t.Fatalf("read %q, %v", got, err)
	}

	r = signed(t, "s3", http.MethodPut, "/b/k", body, now, nil)
	r.Body = io.NopCloser(strings.NewReader("other bytes!"))
	_, rc, err = verifier("s3").VerifyStream(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); kindOf(err) != fmt.Sprint(BadPayloadHash) {
		t.Errorf("tampered body read err = %v, want BadPayloadHash", err)
	}
}

// chunkedRequest builds a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload the way the AWS CLI
// does: a seed signature over the headers, then one signature per chunk chained from it.
func chunkedRequest(t *testing.T, chunks [][]byte, corrupt int) *http.Request {
	total := 0
	for _, c := range chunks {
		total += len(c)
	}
	client, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:8080/b/k", nil)
	client.Header.Set("X-Amz-Content-Sha256", streamingSigned)
	client.Header.Set("Content-Encoding", "aws-chunked")
	client.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(total))
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	secret := testCreds["AKIDEXAMPLE"]
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret},
		client, streamingSigned, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	auth := client.Header.Get("Authorization")
	prev := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	var c signingKeyCache
	key := c.get(secret, now.Format("20060102"), "us-east-1", "s3")
	scope := now.Format("20060102") + "/us-east-1/s3/aws4_request"
	var body bytes.Buffer
	for i, data := range append(chunks, nil) {
		sig := fmt.Sprintf("%x", hmacSHA256(key, "AWS4-HMAC-SHA256-PAYLOAD\n"+now.Format(amzDateForm)+"\n"+scope+"\n"+prev+"\n"+emptySHA256+"\n"+hexSHA256(data)))
		prev = sig
		if i == corrupt {
			data = append([]byte{'X'}, data[1:]...)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", len(data), sig)
		body.Write(data)
		body.WriteString("\r\n")
	}
	server := httptest.NewRequest(http.MethodPut, "/b/k", bytes.NewReader(body.Bytes()))
	server.Host = "127.0.0.1:8080"
	server.Header = client.Header.Clone()
	return server
}

func TestStreamChunkSignatures(t *testing.T) {
	chunks := [][]byte{bytes.Repeat([]byte("a"), 8192), []byte("tail")}
	r := chunkedRequest(t, chunks, -1)
	_, rc, err := verifier("s3").VerifyStream(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || len(got) != 8196 || string(got[8192:]) != "tail" {
		t.Fatalf("decoded %d bytes, err %v", len(got), err)
	}
	if r.Header.Get("Content-Encoding") != "" || r.ContentLength != 8196 {
		t.Errorf("downstream headers not rewritten: %v %d", r.Header, r.ContentLength)
	}

	r = chunkedRequest(t, chunks, 1)
	_, rc, err = verifier("s3").VerifyStream(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); kindOf(err) != fmt.Sprint(BadSignature) {
		t.Errorf("corrupted chunk: err %v, want BadSignature", err)
	}
}

func TestStreamUnsignedTrailerChecksum(t *testing.T) {
	data := []byte("hello trailer")
	build := func(checksum string) *http.Request {
		client, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:8080/b/k", nil)
		client.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrail)
		client.Header.Set("Content-Encoding", "aws-chunked")
		client.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		client.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		_ = signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: testCreds["AKIDEXAMPLE"]},
			client, streamingUnsignedTrail, "s3", "us-east-1", now)
		body := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(data), data, checksum)
		r := httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader(body))
		r.Host = "127.0.0.1:8080"
		r.Header = client.Header.Clone()
		return r
	}
	// crc32("hello trailer") in base64, as the AWS SDKs send it.
	good := crc32Base64(data)
	_, rc, err := verifier("s3").VerifyStream(build(good))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rc); err != nil || string(got) != string(data) {
		t.Fatalf("read %q %v", got, err)
	}
	_, rc, _ = verifier("s3").VerifyStream(build("AAAAAA=="))
	if _, err := io.ReadAll(rc); kindOf(err) != fmt.Sprint(BadPayloadHash) {
		t.Errorf("bad checksum: err %v", err)
	}
}

func crc32Base64(b []byte) string {
	c := newChecksum("x-amz-checksum-crc32")
	c.h.Write(b)
	return base64.StdEncoding.EncodeToString(c.h.Sum(nil))
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment-template/load"}`)
	r := signed(b, "proton", http.MethodPost, "/", body, now, nil)
	v := verifier("proton")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/proton/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,=,=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err == nil && (a.accessKeyID == "" || a.signature == "" || len(a.signedHeaders) == 0) {
			t.Fatalf("accepted incomplete header %q: %+v", h, a)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != Incomplete {
				t.Fatalf("unexpected error for %q: %v", h, err)
			}
		}
	})
}
