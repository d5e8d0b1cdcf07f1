package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// signedRequest is a request as the server receives it, signed by the SDK at time at.
func signedRequest(t testing.TB, service, target string, body []byte, at time.Time) *http.Request {
	t.Helper()
	client, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	client.Header.Set("Content-Type", "application/x-amz-json-1.0")
	client.Header.Set("X-Amz-Target", "AwsProton20200720.ListEnvironments")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if service == "s3" {
		client.Header.Set("X-Amz-Content-Sha256", hash)
	}
	sdkSign(t, client, service, hash, at)
	server := httptest.NewRequest(http.MethodPost, client.URL.RequestURI(), bytes.NewReader(body))
	server.Host = client.Host
	if server.Host == "" {
		server.Host = client.URL.Host
	}
	server.Header = client.Header.Clone()
	return server
}

func TestVerifyRejects(t *testing.T) {
	body := []byte(`{}`)
	sign := func() *http.Request { return signedRequest(t, "proton", "/", body, now) }
	setAuth := func(r *http.Request, old, new string) *http.Request {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		return r
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		body []byte
		want Kind
	}{
		{"no authorization", func() *http.Request { r := sign(); r.Header.Del("Authorization"); return r }(), body, MissingAuth},
		{"no date", func() *http.Request { r := sign(); r.Header.Del("X-Amz-Date"); return r }(), body, MissingAuth},
		{"bad date", func() *http.Request { r := sign(); r.Header.Set("X-Amz-Date", "2026-11-28T12:00:00Z"); return r }(), body, Incomplete},
		{"other algorithm", setAuth(sign(), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), body, Incomplete},
		{"garbage", func() *http.Request {
			r := sign()
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense")
			return r
		}(), body, Incomplete},
		{"short credential", setAuth(sign(), "/aws4_request", ""), body, Incomplete},
		{"unsorted signed headers", setAuth(sign(), "SignedHeaders=content-length;content-type;host", "SignedHeaders=host;content-length;content-type"), body, Incomplete},
		{"host not signed", setAuth(sign(), "content-type;host;", "content-type;"), body, Incomplete},
		{"unknown key", setAuth(sign(), testKeyID, "AKIDOTHER"), body, UnknownKey},
		{"wrong service", signedRequest(t, "s3", "/", body, now), body, BadSignature},
		{"scope date differs", func() *http.Request {
			r := sign()
			r.Header.Set("X-Amz-Date", now.Add(24*time.Hour).Format(amzDateLayout))
			return r
		}(), body, BadSignature},
		{"tampered header", func() *http.Request {
			r := sign()
			r.Header.Set("X-Amz-Target", "AwsProton20200720.DeleteEnvironment")
			return r
		}(), body, BadSignature},
		{"tampered signature", func() *http.Request {
			r := sign()
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(repl))
			return r
		}(), body, BadSignature},
		{"uppercase signature", func() *http.Request {
			r := sign()
			a := r.Header.Get("Authorization")
			i := strings.LastIndex(a, "=") + 1
			r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
			return r
		}(), body, BadSignature},
		{"tampered body", sign(), []byte(`{"x":1}`), BadSignature},
		{"tampered body against hash header", func() *http.Request {
			r := sign()
			sum := sha256.Sum256(body)
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			return r
		}(), []byte(`{"x":1}`), BadPayloadHash},
		{"expired", signedRequest(t, "proton", "/", body, now.Add(-16*time.Minute)), body, Expired},
		{"not yet current", signedRequest(t, "proton", "/", body, now.Add(16*time.Minute)), body, Expired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier("proton").Verify(tc.req, tc.body)
			wantKind(t, err, tc.want)
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	body := []byte(`{"environmentName":"prod"}`)
	v := verifier("proton")
	for _, at := range []time.Time{now, now.Add(-15 * time.Minute), now.Add(15 * time.Minute)} {
		res, err := v.Verify(signedRequest(t, "proton", "/", body, at), body)
		if err != nil {
			t.Fatalf("signed at %v: %v", at, err)
		}
		if res.AccessKeyID != testKeyID || res.Region != "us-east-1" {
			t.Errorf("result = %+v", res)
		}
	}
	// A matching X-Amz-Content-Sha256 is fine for Proton too.
	r := signedRequest(t, "proton", "/", body, now)
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if _, err := v.Verify(r, body); err != nil {
		t.Errorf("with hash header: %v", err)
	}
}

func TestExpiredMessages(t *testing.T) {
	body := []byte(`{}`)
	v := &Verifier{Credentials: testCreds, Service: "proton", Now: func() time.Time {
		return time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	}}
	if _, err := v.Verify(signedRequest(t, "proton", "/", body, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), body); err != nil {
		t.Errorf("exactly 15 minutes old: %v", err)
	}
	_, err := v.Verify(signedRequest(t, "proton", "/", body, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-5*time.Minute)), body)
	wantKind(t, err, Expired)
	if want := "Signature expired: 20251231T235500Z is now earlier than 20260101T000000Z (20260101T001500Z - 15 min.)"; err == nil || err.Error() != want {
		t.Errorf("message = %v\nwant      %s", err, want)
	}
	v.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	v.MaxSkew = 5 * time.Minute
	_, err = v.Verify(signedRequest(t, "proton", "/", body, time.Date(2026, 1, 1, 0, 6, 0, 0, time.UTC)), body)
	if want := "Signature not yet current: 20260101T000600Z is still later than 20260101T000500Z (20260101T000000Z + 5 min.)"; err == nil || err.Error() != want {
		t.Errorf("message = %v\nwant      %s", err, want)
	}
}

type failingCreds struct{}

func (failingCreds) SecretFor(context.Context, string) (string, error) {
	return "", errors.New("database is down")
}

// A credential store failure is the server's problem, not a client error.
func TestCredentialLookupFailure(t *testing.T) {
	body := []byte(`{}`)
	v := &Verifier{Credentials: failingCreds{}, Service: "proton", Now: func() time.Time { return now }}
	_, err := v.Verify(signedRequest(t, "proton", "/", body, now), body)
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("err = %v, want the wrapped lookup error", err)
	}
}

func TestKindString(t *testing.T) {
	if MissingAuth.String() != "MissingAuth" || BadBody.String() != "BadBody" || Kind(99).String() != "Kind(99)" {
		t.Errorf("Kind names: %v %v %v", MissingAuth, BadBody, Kind(99))
	}
}
