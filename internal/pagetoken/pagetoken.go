// Package pagetoken seals list positions into opaque nextToken strings. A token is bound to
// the listing it came from (its scope), so a forged, altered or transplanted token is
// rejected instead of being trusted as a database position. Tokens use standard base64,
// the alphabet the model's NextToken pattern allows.
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// ErrInvalid is returned for a token that was not sealed by this key for this scope.
var ErrInvalid = errors.New("invalid pagination token")

const macLen = 16

// Sealer seals and opens tokens with one secret key shared by every replica.
type Sealer struct {
	key []byte
}

// New returns a Sealer using key (at least 32 bytes).
func New(key []byte) (*Sealer, error) {
	if len(key) < 32 {
		return nil, errors.New("pagetoken: key must be at least 32 bytes")
	}
	return &Sealer{key: key}, nil
}

// Seal returns the token for position within scope.
func (s *Sealer) Seal(scope, position string) string {
	buf := make([]byte, 0, len(position)+macLen)
	buf = append(buf, position...)
	buf = append(buf, s.mac(scope, position)...)
	return base64.StdEncoding.EncodeToString(buf)
}

// Open returns the position sealed in token, or ErrInvalid.
func (s *Sealer) Open(scope, token string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(raw) < macLen {
		return "", ErrInvalid
	}
	position, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(mac, s.mac(scope, string(position))) {
		return "", ErrInvalid
	}
	return string(position), nil
}

func (s *Sealer) mac(scope, position string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(position))
	return h.Sum(nil)[:macLen]
}
