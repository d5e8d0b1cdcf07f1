package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openproton/openproton/internal/store"
)

// ErrUnknownKey is returned for an access key id that does not exist.
var ErrUnknownKey = errors.New("auth: unknown access key")

// NewKey makes a fresh access key for an account and role. Ids look like AWS's (20
// upper-case characters starting with AKIA) so tools that check the shape accept them.
func NewKey(accountID string, role Role, description string) (*store.AccessKey, error) {
	id, err := randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	if err != nil {
		return nil, err
	}
	secret, err := randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	if err != nil {
		return nil, err
	}
	return &store.AccessKey{
		AccessKeyID:     "AKIA" + id,
		SecretAccessKey: secret,
		AccountID:       accountID,
		Role:            string(role),
		Description:     description,
		CreatedAt:       time.Now().UTC(),
	}, nil
}

func randomString(n int, alphabet string) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	for i, b := range buf {
		buf[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(buf), nil
}

// Keyring looks keys up in the store with a short-lived cache: every request needs its key,
// and a deleted key stops working within cacheTTL on every replica.
type Keyring struct {
	Store store.Queries

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	key     *store.AccessKey
	expires time.Time
}

const cacheTTL = 5 * time.Second

// Lookup returns the key with the given id, or ErrUnknownKey.
func (k *Keyring) Lookup(ctx context.Context, accessKeyID string) (*store.AccessKey, error) {
	now := time.Now()
	k.mu.Lock()
	if c, ok := k.cache[accessKeyID]; ok && now.Before(c.expires) {
		k.mu.Unlock()
		if c.key == nil {
			return nil, ErrUnknownKey
		}
		return c.key, nil
	}
	k.mu.Unlock()

	key, err := k.Store.AccessKeyGet(ctx, accessKeyID)
	if errors.Is(err, store.ErrNotFound) {
		key, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up access key: %w", err)
	}
	k.mu.Lock()
	if k.cache == nil || len(k.cache) > 10000 {
		k.cache = map[string]cachedKey{}
	}
	k.cache[accessKeyID] = cachedKey{key: key, expires: now.Add(cacheTTL)}
	k.mu.Unlock()
	if key == nil {
		return nil, ErrUnknownKey
	}
	return key, nil
}

// Bootstrap makes sure the default account has an admin key. With rootID and rootSecret set
// (OPENPROTON_ROOT_ACCESS_KEY_ID / _SECRET_ACCESS_KEY) that key is the admin key. Otherwise, on
// the first start, a key is created and written to credentialsPath as an AWS
// shared-credentials file; the returned path is non-empty when that file was written.
func Bootstrap(ctx context.Context, s store.Queries, accountID, rootID, rootSecret, credentialsPath string) (written string, err error) {
	if rootID != "" || rootSecret != "" {
		if rootID == "" || rootSecret == "" {
			return "", errors.New("OPENPROTON_ROOT_ACCESS_KEY_ID and OPENPROTON_ROOT_SECRET_ACCESS_KEY must be set together")
		}
		existing, err := s.AccessKeyGet(ctx, rootID)
		switch {
		case err == nil:
			if existing.SecretAccessKey != rootSecret || existing.Role != string(RoleAdmin) || existing.AccountID != accountID {
				return "", fmt.Errorf("access key %s already exists with other settings; delete it first", rootID)
			}
			return "", nil
		case !errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("bootstrap root key: %w", err)
		}
		key := &store.AccessKey{AccessKeyID: rootID, SecretAccessKey: rootSecret, AccountID: accountID,
			Role: string(RoleAdmin), Description: "root (from environment)", CreatedAt: time.Now().UTC()}
		if err := s.AccessKeyCreate(ctx, key); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return "", fmt.Errorf("bootstrap root key: %w", err)
		}
		return "", nil
	}

	keys, err := s.AccessKeyList(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	for _, k := range keys {
		if k.AccountID == accountID && k.Role == string(RoleAdmin) {
			return "", nil
		}
	}
	key, err := NewKey(accountID, RoleAdmin, "root (created on first start)")
	if err != nil {
		return "", err
	}
	if err := WriteCredentialsFile(credentialsPath, "default", key); err != nil {
		return "", err
	}
	if err := s.AccessKeyCreate(ctx, key); err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	return credentialsPath, nil
}

// WriteCredentialsFile writes key as profile in an AWS shared-credentials file readable only
// by its owner, replacing the file.
func WriteCredentialsFile(path, profile string, key *store.AccessKey) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", profile, key.AccessKeyID, key.SecretAccessKey)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}
