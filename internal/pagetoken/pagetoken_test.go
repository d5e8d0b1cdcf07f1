package pagetoken

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Seal("acct/tags/arn1", "key-41")
	got, err := s.Open("acct/tags/arn1", tok)
	if err != nil || got != "key-41" {
		t.Fatalf("Open = %q, %v; want key-41", got, err)
	}

	other, _ := New(bytes.Repeat([]byte{8}, 32))
	raw := []byte(tok)
	raw[2] ^= 1
	for name, try := range map[string]func() (string, error){
		"other scope":  func() (string, error) { return s.Open("acct/tags/arn2", tok) },
		"other key":    func() (string, error) { return other.Open("acct/tags/arn1", tok) },
		"altered":      func() (string, error) { return s.Open("acct/tags/arn1", string(raw)) },
		"not base64":   func() (string, error) { return s.Open("acct/tags/arn1", "!!!") },
		"too short":    func() (string, error) { return s.Open("acct/tags/arn1", "AAAA") },
		"forged plain": func() (string, error) { return s.Open("acct/tags/arn1", "a2V5LTQx") },
	} {
		if _, err := try(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
