package auth

import (
	"testing"
	"time"
)

func TestJobKeys(t *testing.T) {
	now := time.Now()
	keys := NewJobKeys([]byte("0123456789abcdef0123456789abcdef"))
	id, secret := keys.Issue("111111111111", "0b7a6f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f", 2, now.Add(time.Hour))
	acct, dep, attempt, ok := keys.Parse(id, now)
	if !ok || acct != "111111111111" || dep != "0b7a6f0e-1d2c-4b5a-9e8f-7a6b5c4d3e2f" || attempt != 2 {
		t.Fatalf("Parse(%q) = %q, %q, %d, %v", id, acct, dep, attempt, ok)
	}
	if keys.Secret(id) != secret {
		t.Fatal("the secret of an issued id must be reproducible")
	}
	if _, _, _, ok := keys.Parse(id, now.Add(2*time.Hour)); ok {
		t.Fatal("an expired credential must not parse")
	}
	if _, _, _, ok := keys.Parse("AKIAEXAMPLE", now); ok {
		t.Fatal("an ordinary key id is not a job credential")
	}
	other := NewJobKeys([]byte("another key of thirty-two bytes!"))
	if other.Secret(id) == secret {
		t.Fatal("another server key must give another secret")
	}
	// A forged id (other deployment) has another secret.
	forged, _ := keys.Issue("111111111111", "other", 2, now.Add(time.Hour))
	if keys.Secret(forged) == secret {
		t.Fatal("secrets must differ per credential")
	}
}
