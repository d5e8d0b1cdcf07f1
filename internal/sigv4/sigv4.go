// Package sigv4 verifies AWS Signature Version 4 (header form) on incoming requests, for the
// Proton JSON API and for the S3 bucket API, including S3's aws-chunked streaming bodies.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind classifies a verification failure; callers map kinds to their protocol's codes.
type Kind int

const (
	MissingAuth    Kind = iota // no Authorization header or no date
	Incomplete                 // malformed Authorization header or credential scope
	UnknownKey                 // the access key id is not known
	BadSignature               // the signature does not match
	Expired                    // the request time is outside the allowed skew
	BadPayloadHash             // the body does not match its signed hash
)

// Error is a verification failure. Messages never contain secrets.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// ErrUnknownKey is what Credentials returns for an access key id it does not know.
var ErrUnknownKey = errors.New("sigv4: unknown access key")

// Credentials looks up the secret of an access key.
type Credentials interface {
	SecretFor(ctx context.Context, accessKeyID string) (string, error)
}

// Verifier checks signatures for one service's signing name.
type Verifier struct {
	Credentials Credentials
	Service     string           // "proton" or "s3": the credential scope's service must match
	Now         func() time.Time // nil = time.Now
	MaxSkew     time.Duration    // 0 = 15 minutes

	keys signingKeyCache
}

const (
	algorithm   = "AWS4-HMAC-SHA256"
	amzDateForm = "20060102T150405Z"
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Result is a verified request's identity and signing context.
type Result struct {
	AccessKeyID string
	Region      string
	// for chunk signatures
	date, scope, seed string
	key               []byte
}

// authorization is a parsed Authorization header.
type authorization struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

func parseAuthorization(h string) (*authorization, error) {
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return nil, fail(Incomplete, "Authorization header must use %s", algorithm)
	}
	a := &authorization{}
	var credential, signed string
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fail(Incomplete, "Authorization header is malformed")
		}
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.signature = v
		}
	}
	if credential == "" || signed == "" || a.signature == "" {
		return nil, fail(Incomplete, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return nil, fail(Incomplete, "Credential must have the form <key>/<date>/<region>/<service>/aws4_request")
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	a.signedHeaders = strings.Split(signed, ";")
	if !sort.StringsAreSorted(a.signedHeaders) || !contains(a.signedHeaders, "host") {
		return nil, fail(Incomplete, "SignedHeaders must be sorted and include host")
	}
	return a, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// verify checks everything but the body: scope, time, key and signature over the canonical
// request built with payloadHash.
func (v *Verifier) verify(r *http.Request, payloadHash func(a *authorization) (string, error)) (*Result, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, fail(MissingAuth, "Missing Authentication Token")
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	if a.service != v.Service {
		return nil, fail(Incomplete, "Credential should be scoped to correct service: '%s'.", v.Service)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, fail(MissingAuth, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	at, err := time.Parse(amzDateForm, amzDate)
	if err != nil {
		return nil, fail(Incomplete, "X-Amz-Date %q is not in the form 20060102T150405Z", amzDate)
	}
	if a.date != amzDate[:8] {
		return nil, fail(BadSignature, "Credential should be scoped to a valid date: '%s'.", amzDate[:8])
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = 15 * time.Minute
	}
	t := now().UTC()
	if at.Before(t.Add(-skew)) {
		return nil, fail(Expired, "Signature expired: %s is now earlier than %s (%s - %d min.)",
			amzDate, t.Add(-skew).Format(amzDateForm), t.Format(amzDateForm), int(skew.Minutes()))
	}
	if at.After(t.Add(skew)) {
		return nil, fail(Expired, "Signature not yet current: %s is still later than %s (%s + %d min.)",
			amzDate, t.Add(skew).Format(amzDateForm), t.Format(amzDateForm), int(skew.Minutes()))
	}
	secret, err := v.Credentials.SecretFor(r.Context(), a.accessKeyID)
	if errors.Is(err, ErrUnknownKey) {
		return nil, fail(UnknownKey, "The security token included in the request is invalid.")
	}
	if err != nil {
		return nil, fmt.Errorf("sigv4: look up key: %w", err)
	}
	ph, err := payloadHash(a)
	if err != nil {
		return nil, err
	}
	canonical := canonicalRequest(r, a.signedHeaders, ph, v.Service == "s3")
	scope := a.date + "/" + a.region + "/" + a.service + "/aws4_request"
	toSign := algorithm + "\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canonical))
	key := v.keys.get(secret, a.date, a.region, a.service)
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return nil, fail(BadSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return &Result{AccessKeyID: a.accessKeyID, Region: a.region, date: amzDate, scope: scope, seed: a.signature, key: key}, nil
}

// Verify checks a request whose whole body is in memory (the Proton JSON API). The
// payload hash is computed from body; a X-Amz-Content-Sha256 header must agree with it.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Result, error) {
	return v.verify(r, func(*authorization) (string, error) {
		sum := hexSHA256(body)
		if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != sum {
			return "", fail(BadPayloadHash, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		return sum, nil
	})
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest builds SigV4's canonical request. S3 signs the path as sent; every other
// service signs it URI-encoded once more.
func canonicalRequest(r *http.Request, signed []string, payloadHash string, s3 bool) string {
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	if rawPath == "" || !strings.HasPrefix(rawPath, "/") {
		rawPath = r.URL.EscapedPath()
		rawQuery = r.URL.RawQuery
	}
	path := rawPath
	if !s3 {
		path = escape(rawPath, false)
	}
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(rawQuery))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	case "transfer-encoding":
		return strings.Join(r.TransferEncoding, ",")
	}
	values := r.Header.Values(name)
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(strings.ReplaceAll(k, "+", "%2B"))
		dv, err2 := url.QueryUnescape(strings.ReplaceAll(v, "+", "%2B"))
		if err1 != nil || err2 != nil {
			dk, dv = k, v
		}
		pairs = append(pairs, pair{escape(dk, true), escape(dv, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// escape URI-encodes s as SigV4 requires: unreserved characters stay, everything else is
// %XX; '/' stays unless encodeSlash.
func escape(s string, encodeSlash bool) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// signingKeyCache keeps derived signing keys: deriving one costs four HMACs, and a key is
// good for a whole day.
type signingKeyCache struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func (c *signingKeyCache) get(secret, date, region, service string) []byte {
	id := secret + "/" + date + "/" + region + "/" + service
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[id]; ok {
		return k
	}
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	if c.keys == nil || len(c.keys) >= 1024 {
		c.keys = map[string][]byte{}
	}
	c.keys[id] = k
	return k
}
