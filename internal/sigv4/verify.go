// Package sigv4 verifies AWS Signature Version 4 (header form) on incoming requests: for
// the Proton JSON API, whose body is read first, and for the S3 bucket API, whose body
// streams, including S3's aws-chunked bodies with chunk signatures and trailing checksums.
package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Credentials looks up the secret of an access key; it returns ErrUnknownKey for a key it
// does not know.
type Credentials interface {
	SecretFor(ctx context.Context, accessKeyID string) (secret string, err error)
}

// Verifier checks signatures for one service's signing name. It is safe for concurrent use.
type Verifier struct {
	Credentials Credentials
	Service     string           // "proton" or "s3": the credential scope's service must equal it
	Now         func() time.Time // nil = time.Now
	MaxSkew     time.Duration    // 0 = 15 minutes

	keys keyCache
}

// Result is a verified request's identity.
type Result struct {
	AccessKeyID string
	Region      string // the credential scope's region

	// What aws-chunked chunk and trailer signatures are chained from.
	amzDate, date, service string
	seed                   string // the request's signature
	key                    [sha256.Size]byte
}

const (
	amzDateLayout = "20060102T150405Z"
	emptySHA256   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// scratch holds the buffers one verification builds its canonical request and MAC in.
type scratch struct {
	buf []byte
	mac macer
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 1024)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	// A request with huge signed headers should not pin its buffer forever.
	if cap(s.buf) <= 64<<10 && cap(s.mac.buf) <= 64<<10 {
		scratchPool.Put(s)
	}
}

// Verify checks a request whose whole body is in memory (the Proton JSON API). The payload
// hash is computed from body; an X-Amz-Content-Sha256 header must agree with it.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Result, error) {
	sum := sha256.Sum256(body)
	var hash [2 * sha256.Size]byte
	hex.Encode(hash[:], sum[:])
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != string(hash[:]) {
		return nil, fail(BadPayloadHash, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return v.verify(r, string(hash[:]))
}

// verify checks everything but the body: the scope, the time, the key, and the signature
// over the canonical request built with payloadHash.
func (v *Verifier) verify(r *http.Request, payloadHash string) (*Result, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, fail(MissingAuth, "Missing Authentication Token")
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return nil, err
	}
	if a.service != v.Service {
		return nil, fail(BadSignature, "Credential should be scoped to correct service: '%s'.", v.Service)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, fail(MissingAuth, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	at, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, fail(Incomplete, "X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'.")
	}
	if a.date != amzDate[:8] {
		return nil, fail(BadSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			a.date, amzDate[:8], amzDate)
	}
	if err := v.checkTime(at, amzDate); err != nil {
		return nil, err
	}
	secret, err := v.Credentials.SecretFor(r.Context(), a.accessKeyID)
	if errors.Is(err, ErrUnknownKey) {
		return nil, fail(UnknownKey, "The security token included in the request is invalid.")
	}
	if err != nil {
		return nil, fmt.Errorf("sigv4: look up access key: %w", err)
	}
	key := v.keys.get(secret, a.date, a.region, a.service)

	s := getScratch()
	defer putScratch(s)
	s.buf = appendCanonicalRequest(s.buf[:0], r, a.signedHeaders, payloadHash, v.Service == "s3")
	canonical := sha256.Sum256(s.buf)
	s.buf = append(s.buf[:0], algorithm+"\n"...)
	s.buf = append(s.buf, amzDate...)
	s.buf = append(s.buf, '\n')
	s.buf = appendScope(s.buf, a.date, a.region, a.service)
	s.buf = append(s.buf, '\n')
	s.buf = hex.AppendEncode(s.buf, canonical[:])
	if !signatureMatches(s.mac.sum(&key, s.buf), a.signature) {
		return nil, fail(BadSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return &Result{
		AccessKeyID: a.accessKeyID,
		Region:      a.region,
		amzDate:     amzDate,
		date:        a.date,
		service:     a.service,
		seed:        a.signature,
		key:         key,
	}, nil
}

func appendScope(b []byte, date, region, service string) []byte {
	b = append(b, date...)
	b = append(b, '/')
	b = append(b, region...)
	b = append(b, '/')
	b = append(b, service...)
	return append(b, "/aws4_request"...)
}

// checkTime rejects a request time outside now ± MaxSkew, in the words AWS uses.
func (v *Verifier) checkTime(at time.Time, amzDate string) error {
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
		return fail(Expired, "Signature expired: %s is now earlier than %s (%s - %s.)",
			amzDate, t.Add(-skew).Format(amzDateLayout), t.Format(amzDateLayout), skewText(skew))
	}
	if at.After(t.Add(skew)) {
		return fail(Expired, "Signature not yet current: %s is still later than %s (%s + %s.)",
			amzDate, t.Add(skew).Format(amzDateLayout), t.Format(amzDateLayout), skewText(skew))
	}
	return nil
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return d.String()
}

// signatureMatches compares a computed MAC with the client's hex signature in constant
// time.
func signatureMatches(want [sha256.Size]byte, got string) bool {
	var g [sha256.Size]byte
	if len(got) != hex.EncodedLen(len(g)) || !decodeHex(g[:], got) {
		return false
	}
	return subtle.ConstantTimeCompare(want[:], g[:]) == 1
}

// decodeHex decodes the lowercase hex s into dst, which is exactly half as long, without
// the allocation of converting s to a byte slice.
func decodeHex(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// fromHex decodes a lowercase hex digit, the only case SigV4 signatures use.
func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
