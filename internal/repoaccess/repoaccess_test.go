package repoaccess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolution(t *testing.T) {
	tokenFile := write(t, "token", "from-file\n")
	creds := write(t, "creds.yaml", `arn:aws:codestar-connections:us-east-1:111111111111:connection/gh:
  token: inline-token
arn:aws:codestar-connections:us-east-1:111111111111:connection/bb:
  tokenFile: `+tokenFile+`
arn:aws:codestar-connections:us-east-1:111111111111:connection/named:
  username: robot
  token: named-token
`)
	a, err := New(Config{URLs: "GITHUB=https://github.com/, BITBUCKET=https://bitbucket.org", CredentialsFile: creds, Token: "fallback", DefaultAccount: "111111111111",
		PullRequestAPIs: "GITHUB=https://api.github.com"})
	if err != nil {
		t.Fatal(err)
	}
	if url, err := a.URL("GITHUB", "org/infra"); err != nil || url != "https://github.com/org/infra" {
		t.Errorf("URL = %q, %v", url, err)
	}
	if _, err := a.URL("GITHUB_ENTERPRISE", "org/infra"); err == nil || !strings.Contains(err.Error(), "GITHUB_ENTERPRISE") {
		t.Errorf("unconfigured provider: %v", err)
	}
	for _, tc := range []struct{ provider, conn, user, token string }{
		{"GITHUB", "arn:aws:codestar-connections:us-east-1:111111111111:connection/gh", "x-access-token", "inline-token"},
		{"BITBUCKET", "arn:aws:codestar-connections:us-east-1:111111111111:connection/bb", "x-token-auth", "from-file"},
		{"GITHUB", "arn:aws:codestar-connections:us-east-1:111111111111:connection/named", "robot", "named-token"},
		{"GITHUB", "arn:aws:codestar-connections:us-east-1:111111111111:connection/unlisted", "x-access-token", "fallback"},
	} {
		c := a.Credential(tc.provider, tc.conn)
		if c == nil || c.Username != tc.user || c.Token != tc.token {
			t.Errorf("Credential(%s, %s) = %+v, want %s/%s", tc.provider, tc.conn, c, tc.user, tc.token)
		}
	}
	// The fallback token is the default account's only.
	if c := a.Credential("GITHUB", "arn:aws:codestar-connections:us-east-1:222222222222:connection/other"); c != nil {
		t.Errorf("another account's connection got the fallback token: %+v", c)
	}
	api := a.PullRequests("GITHUB", "arn:aws:codestar-connections:us-east-1:111111111111:connection/gh")
	if api == nil || api.Token != "inline-token" || api.BaseURL != "https://api.github.com" {
		t.Errorf("PullRequests = %+v", api)
	}
	// Each call gets its own copy: one connection's token never leaks into another's.
	other := a.PullRequests("GITHUB", "arn:aws:codestar-connections:us-east-1:111111111111:connection/named")
	if other.Token != "named-token" || api.Token != "inline-token" {
		t.Errorf("tokens mixed: %q %q", api.Token, other.Token)
	}
	if a.PullRequests("BITBUCKET", "x") != nil {
		t.Error("a provider without an API configured has one")
	}

	none, err := New(Config{URLs: "GITHUB=/srv/git"})
	if err != nil {
		t.Fatal(err)
	}
	if c := none.Credential("GITHUB", "arn:x"); c != nil {
		t.Errorf("no credentials configured, got %+v", c)
	}
}

func TestBadConfiguration(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"unknown provider":  {Config{URLs: "GITLAB=https://gitlab.com"}, "GITLAB"},
		"no base URL":       {Config{URLs: "GITHUB="}, "GITHUB="},
		"missing file":      {Config{CredentialsFile: "/nonexistent/creds.yaml"}, "no such file"},
		"not YAML":          {Config{CredentialsFile: write(t, "c.yaml", "token: [secret-value\n")}, "not a YAML map"},
		"no token":          {Config{CredentialsFile: write(t, "c.yaml", "arn:c:\n  username: u\n")}, "has no token"},
		"token and file":    {Config{CredentialsFile: write(t, "c.yaml", "arn:c:\n  token: t\n  tokenFile: /x\n")}, "both token and tokenFile"},
		"bad pull request":  {Config{PullRequestAPIs: "GITHUB=ftp://x"}, "pull request APIs"},
		"missing tokenFile": {Config{CredentialsFile: write(t, "c.yaml", "arn:c:\n  tokenFile: /nonexistent/t\n")}, "no such file"},
		"ssh key, no hosts": {Config{CredentialsFile: write(t, "c.yaml", "arn:c:\n  sshKeyFile: /etc/hostname\n")}, "no knownHostsFile"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: the error shows the file's content: %v", name, err)
		}
	}
}
