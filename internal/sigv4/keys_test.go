package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestMacerIsHMACSHA256(t *testing.T) {
	var m macer
	for n := range 300 {
		var key [sha256.Size]byte
		for i := range key {
			key[i] = byte(n*7 + i)
		}
		msg := bytes.Repeat([]byte{byte(n)}, n)
		want := hmac.New(sha256.New, key[:])
		want.Write(msg)
		if got := m.sum(&key, msg); !bytes.Equal(got[:], want.Sum(nil)) {
			t.Fatalf("message of %d bytes: %x, want %x", n, got, want.Sum(nil))
		}
	}
}

// The AWS documentation's signing key example.
func TestDeriveKey(t *testing.T) {
	k := deriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
	if got, want := fmt.Sprintf("%x", k), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"; got != want {
		t.Errorf("signing key %s, want %s", got, want)
	}
}

func TestKeyCacheIsBounded(t *testing.T) {
	var c keyCache
	for i := range maxCachedKeys + 10 {
		c.get(fmt.Sprint("secret", i), "20261128", "us-east-1", "s3")
	}
	if n := len(c.keys); n > maxCachedKeys {
		t.Errorf("cache holds %d keys, bound is %d", n, maxCachedKeys)
	}
	if c.get("s", "20261128", "us-east-1", "s3") != deriveKey("s", "20261128", "us-east-1", "s3") {
		t.Errorf("cached key differs from derived")
	}
}
