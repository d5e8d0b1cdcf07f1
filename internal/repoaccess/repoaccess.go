// Package repoaccess is how the server reaches the git repositories linked with
// CreateRepository: where each provider's repositories live, the credentials registered
// for each connection ARN (Proton's CodeStar connection, here an operator-provided token),
// and the REST API, if any, that opens pull requests for a provider.
package repoaccess

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/openproton/openproton/internal/provision/pullrequest"
)

// Credential authenticates git over HTTPS (basic authentication, the token as password)
// and the provider's API (the token as bearer), or git over SSH (SSHKey, checking the
// host against KnownHostsFile).
type Credential struct {
	Username       string
	Token          string
	SSHKey         []byte // an unencrypted PEM private key
	KnownHostsFile string
}

// Access resolves linked repositories. The zero value reaches nothing.
type Access struct {
	urls        map[string]string // provider → base URL
	credentials map[string]Credential
	fallback    string                      // token for the default account's connections not listed
	account     string                      // the default account
	apis        map[string]*pullrequest.API // provider → API, without a token
}

// Config is what the server's flags say.
type Config struct {
	// URLs are PROVIDER=BASE_URL pairs separated by commas; a repository owner/name lives
	// at BASE_URL/owner/name.
	URLs string
	// CredentialsFile is a YAML file mapping connection ARNs to {username, token |
	// tokenFile, sshKeyFile, knownHostsFile}; "" = none.
	CredentialsFile string
	// Token authenticates repositories whose connection is not in CredentialsFile, when the
	// connection is DefaultAccount's: other accounts' links never borrow it.
	Token          string
	DefaultAccount string
	// PullRequestAPIs are PROVIDER=[KIND+]URL pairs (pullrequest.ParseAPIs); "" = none,
	// and the pushed branch is the request.
	PullRequestAPIs string
}

var providers = map[string]bool{"GITHUB": true, "GITHUB_ENTERPRISE": true, "BITBUCKET": true}

// New checks and loads a configuration.
func New(c Config) (*Access, error) {
	a := &Access{urls: map[string]string{}, credentials: map[string]Credential{}, fallback: c.Token, account: c.DefaultAccount}
	for _, pair := range strings.Split(c.URLs, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		p, base, ok := strings.Cut(pair, "=")
		if !ok || base == "" || !providers[p] {
			return nil, fmt.Errorf("repository URLs: %q is not PROVIDER=BASE_URL with PROVIDER one of GITHUB, GITHUB_ENTERPRISE, BITBUCKET", pair)
		}
		a.urls[p] = strings.TrimSuffix(base, "/")
	}
	if c.CredentialsFile != "" {
		if err := a.loadCredentials(c.CredentialsFile); err != nil {
			return nil, err
		}
	}
	apis, err := pullrequest.ParseAPIs(c.PullRequestAPIs)
	if err != nil {
		return nil, fmt.Errorf("pull request APIs: %w", err)
	}
	a.apis = apis
	return a, nil
}

// credentialEntry is one connection in the credentials file.
type credentialEntry struct {
	Username       string `yaml:"username"`
	Token          string `yaml:"token"`
	TokenFile      string `yaml:"tokenFile"`
	SSHKeyFile     string `yaml:"sshKeyFile"`
	KnownHostsFile string `yaml:"knownHostsFile"`
}

func (a *Access) loadCredentials(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("repository credentials: %w", err)
	}
	var entries map[string]credentialEntry
	if err := yaml.Unmarshal(raw, &entries); err != nil {
		// yaml's messages quote no values, but keep the token out in any case: name the file only.
		return fmt.Errorf("repository credentials %s: not a YAML map of connection ARN → {username, token | tokenFile}", path)
	}
	for arn, e := range entries {
		token := e.Token
		if e.TokenFile != "" {
			if token != "" {
				return fmt.Errorf("repository credentials %s: connection %s has both token and tokenFile", path, arn)
			}
			b, err := os.ReadFile(e.TokenFile)
			if err != nil {
				return fmt.Errorf("repository credentials %s: connection %s: %w", path, arn, err)
			}
			token = strings.TrimSpace(string(b))
		}
		c := Credential{Username: e.Username, Token: token, KnownHostsFile: e.KnownHostsFile}
		if e.SSHKeyFile != "" {
			if e.KnownHostsFile == "" {
				return fmt.Errorf("repository credentials %s: connection %s has an sshKeyFile but no knownHostsFile to check hosts against", path, arn)
			}
			if c.SSHKey, err = os.ReadFile(e.SSHKeyFile); err != nil {
				return fmt.Errorf("repository credentials %s: connection %s: %w", path, arn, err)
			}
		}
		if token == "" && c.SSHKey == nil {
			return fmt.Errorf("repository credentials %s: connection %s has no token or sshKeyFile", path, arn)
		}
		a.credentials[arn] = c
	}
	return nil
}

// URL is the git remote of a provider's repository owner/name.
func (a *Access) URL(provider, name string) (string, error) {
	base, ok := a.urls[provider]
	if !ok {
		return "", fmt.Errorf("no base URL for repository provider %s (--repository-urls)", provider)
	}
	return base + "/" + name, nil
}

// Credential is what a repository linked with connectionARN authenticates with; nil when
// none is registered.
func (a *Access) Credential(provider, connectionARN string) *Credential {
	c, ok := a.credentials[connectionARN]
	if !ok {
		if a.fallback == "" || accountOf(connectionARN) != a.account {
			return nil
		}
		c = Credential{Token: a.fallback}
	}
	if c.Username == "" && c.Token != "" {
		// What each host's git endpoint expects with an access token as the password.
		c.Username = "x-access-token"
		if provider == "BITBUCKET" {
			c.Username = "x-token-auth"
		}
	}
	return &c
}

// PullRequests is the API that opens pull requests in a provider's repositories, with the
// connection's token; nil when none is configured (the pushed branch is the request).
func (a *Access) PullRequests(provider, connectionARN string) *pullrequest.API {
	shared, ok := a.apis[provider]
	if !ok {
		return nil
	}
	api := *shared
	if c := a.Credential(provider, connectionARN); c != nil && c.Token != "" {
		api.Token = c.Token
	}
	return &api
}

// accountOf is the account field of an ARN ("" when it is not one).
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}
