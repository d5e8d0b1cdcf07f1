// Package config holds the server's settings: flags, each readable from an OPENPROTON_*
// environment variable, with zero-setup defaults.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
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
	c.RootAccessKeyID = os.Getenv("OPENPROTON_ROOT_ACCESS_KEY_ID")
	c.RootSecretAccessKey = os.Getenv("OPENPROTON_ROOT_SECRET_ACCESS_KEY")
}

var (
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
)

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
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	return nil
}
