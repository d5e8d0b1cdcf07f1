package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// maxCachedKeys bounds the signing-key cache; past it the cache starts over, which costs
// one derivation (four HMACs) per key and day.
const maxCachedKeys = 1024

// keyID names a derived signing key. Looking a struct of strings up in a map does not
// allocate, unlike joining them into one string.
type keyID struct{ secret, date, region, service string }

// keyCache keeps derived signing keys: a key is good for a whole day, so deriving it again
// on every request is wasted work.
type keyCache struct {
	mu   sync.Mutex
	keys map[keyID][sha256.Size]byte
}

func (c *keyCache) get(secret, date, region, service string) [sha256.Size]byte {
	id := keyID{secret, date, region, service}
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = deriveKey(secret, date, region, service)
	// The scope strings are slices of the request's Authorization header: copy them so the
	// cache does not keep whole headers alive.
	id = keyID{secret, strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[keyID][sha256.Size]byte)
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}

// deriveKey is SigV4's signing key: HMAC chained over the credential scope.
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSlow([]byte("AWS4"+secret), date)
	k = hmacSlow(k, region)
	k = hmacSlow(k, service)
	k = hmacSlow(k, "aws4_request")
	return [sha256.Size]byte(k)
}

func hmacSlow(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// macer computes HMAC-SHA256 (RFC 2104) keyed by a derived signing key, reusing its buffer:
// it runs once per request and once per aws-chunked chunk, where crypto/hmac's per-call
// allocations show. A signing key is 32 bytes, shorter than SHA-256's 64-byte block, so
// it is padded, never hashed first.
type macer struct{ buf []byte }

func (m *macer) sum(key *[sha256.Size]byte, msg []byte) [sha256.Size]byte {
	const block = 64
	m.buf = m.buf[:0]
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		m.buf = append(m.buf, k^0x36)
	}
	m.buf = append(m.buf, msg...)
	inner := sha256.Sum256(m.buf)
	var outer [block + sha256.Size]byte
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		outer[i] = k ^ 0x5c
	}
	copy(outer[block:], inner[:])
	return sha256.Sum256(outer[:])
}
