package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// sdkCase is one request shape: signed by the AWS SDK's signer, sent over a real
// connection, verified by the server as net/http parsed it.
type sdkCase struct {
	name   string
	method string
	target string // path and query as the client sends them
	host   string // Host header to send; "" = the listener's host:port
	header http.Header
	body   string
}

var sdkCases = []sdkCase{
	{name: "root", method: "POST", target: "/", body: `{"maxResults":10}`},
	{name: "space", method: "PUT", target: "/bucket/a%20b/c%20d.txt", body: "x"},
	{name: "unicode", method: "PUT", target: "/bucket/caf%C3%A9/%E2%9C%93", body: "x"},
	{name: "raw unicode", method: "PUT", target: "/bucket/naïve", body: "x"},
	{name: "encoded plus", method: "PUT", target: "/bucket/a%2Bb", body: "x"},
	{name: "literal plus", method: "PUT", target: "/bucket/a+b", body: "x"},
	{name: "encoded slash", method: "GET", target: "/bucket/dir%2Fslash"},
	{name: "reserved", method: "GET", target: "/bucket/%21%27%28%29%2A%40%3D%26%24"},
	{name: "unnormalised", method: "GET", target: "/bucket//double/./dot/../key"},
	{name: "query sorted", method: "GET", target: "/bucket?b=2&a=1&a=0"},
	{name: "query empty and flag", method: "GET", target: "/bucket?empty=&flag&uploads"},
	{name: "query escapes", method: "GET", target: "/bucket?x=%2F%20%2B&y=%C3%A9&z=~._-"},
	{name: "query plus is space", method: "GET", target: "/bucket?prefix=a+b"},
	{name: "query sorted after encoding", method: "GET", target: "/bucket?v=a-b&v=a/b&a-b=1&a/b=2"},
	{name: "list objects", method: "GET", target: "/bucket?list-type=2&prefix=dir%2Fa%20b&delimiter=%2F&encoding-type=url"},
	{name: "query semicolon dropped", method: "GET", target: "/bucket?a=1;b=2&c=3"},
	{name: "host with port", method: "GET", target: "/bucket/k", host: "example.com:8443"},
	{name: "host default port", method: "GET", target: "/bucket/k", host: "example.com:80"},
	{name: "headers", method: "PUT", target: "/bucket/k", body: "data", header: http.Header{
		"X-Amz-Meta-Multi": {"one", "  two   spaced  ", "three"},
		"X-Amz-Meta-Tab":   {"a\tb"},
		"Content-Type":     {"text/plain;  charset=utf-8"},
		"X-Amz-Target":     {"AwsProton20200720.ListEnvironments"},
	}},
}

func TestVerifyAgreesWithSDKSigner(t *testing.T) {
	for _, service := range []string{"proton", "s3"} {
		for _, tc := range sdkCases {
			t.Run(service+"/"+tc.name, func(t *testing.T) { checkSDKCase(t, service, tc) })
		}
	}
}

func checkSDKCase(t *testing.T, service string, tc sdkCase) {
	type outcome struct {
		err       error
		canonical string
	}
	got := make(chan outcome, 1)
	v := verifier(service)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o outcome
		hash := r.Header.Get("X-Amz-Content-Sha256")
		o.canonical = ourCanonical(r, service, hash)
		if service == "s3" {
			_, body, err := v.VerifyStream(r)
			if o.err = err; err == nil {
				_, o.err = io.ReadAll(body)
			}
		} else {
			body, _ := io.ReadAll(r.Body)
			_, o.err = v.Verify(r, body)
		}
		got <- o
	}))
	defer srv.Close()

	req, err := http.NewRequest(tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if tc.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, vs := range tc.header {
		req.Header[k] = vs
	}
	if tc.host != "" {
		req.Host = tc.host
	}
	sum := sha256.Sum256([]byte(tc.body))
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	rawQuery := req.URL.RawQuery
	sdkCanonical := sdkSign(t, req, service, hash, now)

	// The SDK rewrites the query into canonical form after signing; send it both ways, since
	// other clients send it as they built it.
	for _, query := range []string{rawQuery, req.URL.RawQuery} {
		send := req.Clone(req.Context())
		send.URL.RawQuery = query
		send.Body = io.NopCloser(strings.NewReader(tc.body))
		resp, err := srv.Client().Do(send)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		o := <-got
		if o.err != nil {
			t.Errorf("query %q: SDK-signed request rejected: %v", query, o.err)
		}
		if o.canonical != sdkCanonical {
			t.Errorf("query %q: canonical request differs\nours:\n%s\nSDK:\n%s", query, o.canonical, sdkCanonical)
		}
	}
}

// A request signed for one service's path encoding fails the other's whenever the path
// needs escaping.
func TestPathEncodingIsPerService(t *testing.T) {
	body := []byte("x")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:8080/bucket/a%20b", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	sdkSign(t, req, "proton", hash, now) // double-encoded path
	srv := httptest.NewRequest("PUT", "/bucket/a%20b", bytes.NewReader(body))
	srv.Host = "127.0.0.1:8080"
	srv.Header = req.Header.Clone()
	if _, err := verifier("proton").Verify(srv, body); err != nil {
		t.Fatalf("proton: %v", err)
	}
	// The same bytes under S3's single encoding.
	if got, want := ourCanonical(srv, "s3", hash), "PUT\n/bucket/a%20b\n"; !strings.HasPrefix(got, want) {
		t.Errorf("s3 canonical request starts %q, want %q", got, want)
	}
	if got, want := ourCanonical(srv, "proton", hash), "PUT\n/bucket/a%2520b\n"; !strings.HasPrefix(got, want) {
		t.Errorf("proton canonical request starts %q, want %q", got, want)
	}
}
