// Package config holds the server's settings: flags, each readable from an OPENPROTON_*
// environment variable, with zero-setup defaults.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openproton/openproton/internal/repoaccess"
)

// Server is what `openproton server` runs with.
type Server struct {
	Listen      string
	DataDir     string
	DatabaseURL string // "" = embedded SQLite under DataDir; postgres://… = PostgreSQL
	Region      string
	AccountID   string
	S3Endpoint  string // "" = the embedded bucket API; otherwise an external S3-compatible endpoint
	LogLevel    string
	PublicURL   string // how deployment commands reach this server; "" = derived from Listen

	// Deployments.
	// Zero values take the flags' defaults.
	Provisioner        string        // local (run CodeBuild-style commands) or noop (tests, benchmarks)
	DeploymentWorkers  int           // deployments this replica runs at once
	DeploymentTimeout  time.Duration // a deployment still running after this fails
	DeploymentLease    time.Duration // a deployment whose replica stopped resumes elsewhere after this
	DeploymentWorkRoot string        // where deployments' private working dirs are made ("" = system temp dir)
	CloudFormationPoll time.Duration // first interval between CloudFormation status checks (backing off 1.5× to 10×)
	// RepositoryURLs maps a repository provider to the base URL its repositories
	// (owner/name) live under, as PROVIDER=URL pairs separated by commas.
	RepositoryURLs string
	// RepositoryCredentials is a YAML file mapping connection ARNs to the token their
	// repositories authenticate with; RepositoryToken serves connections not in it.
	RepositoryCredentials string
	RepositoryToken       string
	// PullRequestAPIs are PROVIDER=[KIND+]API_URL pairs: the REST APIs that open pull
	// requests for self-managed provisioning ("" = none: the pushed branch is the request).
	PullRequestAPIs string
	// PullRequestPoll is how often open pull requests are checked for being closed.
	PullRequestPoll time.Duration
	// SyncPoll is how often branches followed by template sync are checked for new commits.
	SyncPoll       time.Duration
	DeploymentPath string // PATH deployment commands run with ("" = a fixed system PATH)
	// TerraformBin is a terraform or tofu binary that applies Terraform templates which no
	// provisioning repository takes ("" = such templates are refused).
	TerraformBin string

	// Root key of the default account (OPENPROTON_ROOT_ACCESS_KEY_ID / _SECRET_ACCESS_KEY);
	// environment only, never flags, so it stays out of process listings.
	RootAccessKeyID     string
	RootSecretAccessKey string
}

// DefaultDataDir is where state lives when --data-dir is not given:
// $XDG_DATA_HOME/openproton, else ~/.local/share/openproton.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "openproton")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "openproton")
	}
	return "openproton-data"
}

// envName maps a flag to its environment variable: --data-dir → OPENPROTON_DATA_DIR.
func envName(flag string) string {
	return "OPENPROTON_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// DefaultRepositoryURLs are the public hosts of Proton's repository providers.
const DefaultRepositoryURLs = "GITHUB=https://github.com,BITBUCKET=https://bitbucket.org"

// Repositories is how the server reaches linked repositories.
func (c *Server) Repositories() (*repoaccess.Access, error) {
	urls := c.RepositoryURLs
	if urls == "" {
		urls = DefaultRepositoryURLs
	}
	return repoaccess.New(repoaccess.Config{URLs: urls, CredentialsFile: c.RepositoryCredentials, Token: c.RepositoryToken,
		DefaultAccount: c.AccountID, PullRequestAPIs: c.PullRequestAPIs})
}

// Bind registers the server flags on fs with defaults taken from the environment.
func (c *Server) Bind(fs *pflag.FlagSet) {
	str := func(p *string, name, def, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	str(&c.Listen, "listen", "127.0.0.1:8080", "address to serve the Proton and S3 APIs on")
	str(&c.DataDir, "data-dir", DefaultDataDir(), "directory for the embedded database, buckets and credentials")
	str(&c.DatabaseURL, "database", "", "postgres://… to use PostgreSQL instead of embedded SQLite")
	str(&c.Region, "region", "us-east-1", "region that appears in ARNs and that requests are signed for")
	str(&c.AccountID, "account-id", "000000000000", "account id of the default account")
	str(&c.S3Endpoint, "s3-endpoint", "", "external S3-compatible endpoint to read template bundles from instead of the embedded bucket API")
	str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	str(&c.PublicURL, "public-url", "", "URL deployment commands call this server at (default: http:// and the listen address)")
	str(&c.Provisioner, "provisioner", "local", "local runs CodeBuild-style provisioning commands on this machine; noop succeeds without running anything (tests, benchmarks)")
	str(&c.DeploymentPath, "deployment-path", "", "PATH that deployment commands run with (default /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin); the server's own environment is never passed on")
	str(&c.DeploymentWorkRoot, "deployment-work-root", "", "directory for deployments' private working directories (default: the system temp dir)")
	str(&c.TerraformBin, "terraform-bin", "", "terraform or tofu binary that applies Terraform templates directly when no provisioning repository takes them (state is kept under the data dir); unset, such templates are refused")
	str(&c.RepositoryURLs, "repository-urls", DefaultRepositoryURLs, "where each provider's repositories live, PROVIDER=BASE_URL pairs separated by commas (a repository owner/name is BASE_URL/owner/name); file:// URLs reach local repositories")
	str(&c.RepositoryCredentials, "repository-credentials", "", "YAML file mapping each repository connection ARN to {username, token | tokenFile}, what its repositories authenticate with")
	str(&c.RepositoryToken, "repository-token", "", "token that the default account's repositories whose connection is not in --repository-credentials authenticate with")
	str(&c.PullRequestAPIs, "pull-request-apis", "", "REST APIs that open pull requests for self-managed provisioning, PROVIDER=[github+|gitlab+|bitbucket+]API_URL pairs separated by commas (e.g. GITHUB=https://api.github.com); without one the pushed branch is the request")
	num := func(p *int, name string, def int, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if n, err := strconv.Atoi(v); err == nil {
				def = n
			}
		}
		fs.IntVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if d, err := time.ParseDuration(v); err == nil {
				def = d
			}
		}
		fs.DurationVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	num(&c.DeploymentWorkers, "deployment-workers", 10, "deployments this replica runs at once")
	dur(&c.DeploymentTimeout, "deployment-timeout", time.Hour, "how long a deployment may run before it fails")
	dur(&c.DeploymentLease, "deployment-lease", 15*time.Second, "how soon a deployment whose replica stopped is resumed by another (or after a restart)")
	dur(&c.SyncPoll, "sync-poll", time.Minute, "how often branches that templates sync from are checked for new commits (POST /_openproton/sync-webhook checks at once)")
	dur(&c.PullRequestPoll, "pull-request-poll", time.Minute, "how often open pull requests of self-managed deployments are checked for being closed unmerged (which cancels the deployment)")
	dur(&c.CloudFormationPoll, "cloudformation-poll", time.Second, "first interval between a CloudFormation stack's status checks; it backs off to ten times that")
	c.RootAccessKeyID = os.Getenv("OPENPROTON_ROOT_ACCESS_KEY_ID")
	c.RootSecretAccessKey = os.Getenv("OPENPROTON_ROOT_SECRET_ACCESS_KEY")
}

var (
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
)

// WithDefaults fills zero settings with the flags' defaults.
func (c Server) WithDefaults() Server {
	if c.Provisioner == "" {
		c.Provisioner = "local"
	}
	if c.DeploymentWorkers == 0 {
		c.DeploymentWorkers = 10
	}
	if c.DeploymentTimeout == 0 {
		c.DeploymentTimeout = time.Hour
	}
	if c.CloudFormationPoll == 0 {
		c.CloudFormationPoll = time.Second
	}
	if c.DeploymentLease == 0 {
		c.DeploymentLease = 15 * time.Second
	}
	if c.PullRequestPoll == 0 {
		c.PullRequestPoll = time.Minute
	}
	if c.SyncPoll == 0 {
		c.SyncPoll = time.Minute
	}
	return c
}

// Validate reports the first bad setting, naming it.
func (c *Server) Validate() error {
	if !accountPattern.MatchString(c.AccountID) {
		return fmt.Errorf("--account-id %q: must be 12 digits", c.AccountID)
	}
	if !regionPattern.MatchString(c.Region) {
		return fmt.Errorf("--region %q: not a region name like us-east-1", c.Region)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("--database: only postgres:// URLs are supported (leave it empty for embedded SQLite)")
	}
	if c.Provisioner != "" && c.Provisioner != "local" && c.Provisioner != "noop" {
		return fmt.Errorf("--provisioner %q: must be local or noop", c.Provisioner)
	}
	if c.DeploymentWorkers < 0 {
		return fmt.Errorf("--deployment-workers must be at least 1")
	}
	if c.DeploymentTimeout != 0 && c.DeploymentTimeout < time.Second {
		return fmt.Errorf("--deployment-timeout must be at least 1s")
	}
	if c.DeploymentLease != 0 && c.DeploymentLease < 3*time.Second {
		return fmt.Errorf("--deployment-lease must be at least 3s")
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if c.PullRequestPoll < 0 {
		return fmt.Errorf("--pull-request-poll must be positive")
	}
	if c.SyncPoll < 0 {
		return fmt.Errorf("--sync-poll must be positive")
	}
	if _, err := c.Repositories(); err != nil {
		return fmt.Errorf("repository settings: %w", err)
	}
	return nil
}
