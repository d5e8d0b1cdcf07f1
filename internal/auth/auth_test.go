package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/store"
	"github.com/openproton/openproton/internal/store/sqlite"
)

func TestRoles(t *testing.T) {
	var devWrites, reads int
	for name, op := range api.Operations {
		if !RoleAdmin.Allows(op) {
			t.Errorf("admin denied %s", name)
		}
		if RoleReadOnly.Allows(op) != op.ReadOnly {
			t.Errorf("readonly and %s: allowed=%v, read-only op=%v", name, RoleReadOnly.Allows(op), op.ReadOnly)
		}
		if op.ReadOnly {
			reads++
		}
		if RoleDeveloper.Allows(op) && !op.ReadOnly {
			devWrites++
			if strings.Contains(name, "Template") || strings.Contains(name, "Environment") {
				t.Errorf("developer may change templates or environments: %s", name)
			}
		}
	}
	if devWrites != len(developerWrites) {
		t.Errorf("developer may call %d writes, want %d", devWrites, len(developerWrites))
	}
	if reads < 30 {
		t.Errorf("only %d read operations; the model marks more as readonly", reads)
	}
	if _, err := ParseRole("root"); err == nil {
		t.Errorf("ParseRole accepted an unknown role")
	}
}

func openStore(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBootstrapWritesCredentialsOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	path := filepath.Join(t.TempDir(), "credentials")
	written, err := Bootstrap(ctx, s, "000000000000", "", "", path)
	if err != nil || written != path {
		t.Fatalf("first start: %q %v", written, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", info, err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "[default]\naws_access_key_id = AKIA") {
		t.Errorf("credentials file = %q", data)
	}
	again, err := Bootstrap(ctx, s, "000000000000", "", "", path)
	if err != nil || again != "" {
		t.Errorf("second start wrote again: %q %v", again, err)
	}
	keys, _ := s.AccessKeyList(ctx)
	if len(keys) != 1 || keys[0].Role != string(RoleAdmin) {
		t.Errorf("keys = %v", keys)
	}
}

func TestBootstrapFromEnvironment(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	path := filepath.Join(t.TempDir(), "credentials")
	if w, err := Bootstrap(ctx, s, "000000000000", "AKIAROOT", "secret", path); err != nil || w != "" {
		t.Fatalf("bootstrap: %q %v", w, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a credentials file was written although the key came from the environment")
	}
	k := &Keyring{Store: s}
	key, err := k.Lookup(ctx, "AKIAROOT")
	if err != nil || key.SecretAccessKey != "secret" || key.Role != string(RoleAdmin) {
		t.Errorf("root key = %+v %v", key, err)
	}
	if _, err := Bootstrap(ctx, s, "000000000000", "AKIAROOT", "other-secret", path); err == nil {
		t.Errorf("a changed root secret was accepted silently")
	}
	if _, err := k.Lookup(ctx, "AKIANOBODY"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
}
