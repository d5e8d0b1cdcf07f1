package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return out.String() + errb.String(), code
}

func TestKeysCreateListDelete(t *testing.T) {
	dir := t.TempDir()
	out, code := run(t, "keys", "create", "--role", "readonly", "--account", "111111111111", "--description", "ci bot", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("create: %d %s", code, out)
	}
	m := regexp.MustCompile(`aws_access_key_id = (AKIA[A-Z2-7]{16})\naws_secret_access_key = (\S{40})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q", out)
	}
	id, secret := m[1], m[2]

	out, code = run(t, "keys", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "111111111111") || !strings.Contains(out, "ci bot") {
		t.Errorf("list: %d %s", code, out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("list shows the secret")
	}
	if out, code = run(t, "keys", "delete", id, "--data-dir", dir); code != 0 {
		t.Errorf("delete: %d %s", code, out)
	}
	if out, _ = run(t, "keys", "list", "--data-dir", dir); strings.Contains(out, id) {
		t.Errorf("deleted key still listed: %s", out)
	}
	if out, code = run(t, "keys", "delete", id, "--data-dir", dir); code == 0 {
		t.Errorf("deleting a missing key succeeded: %s", out)
	}
	if out, code = run(t, "keys", "create", "--role", "superuser", "--data-dir", dir); code == 0 || !strings.Contains(out, "unknown role") {
		t.Errorf("bad role: %d %s", code, out)
	}
}
