package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestEnvironmentThenFlags(t *testing.T) {
	t.Setenv("OPENPROTON_LISTEN", "127.0.0.1:9999")
	t.Setenv("OPENPROTON_REGION", "eu-west-1")
	t.Setenv("OPENPROTON_ROOT_ACCESS_KEY_ID", "AKIAFROMENV")
	var c Server
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse([]string{"--region", "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.Region != "us-west-2" || c.AccountID != "000000000000" || c.RootAccessKeyID != "AKIAFROMENV" {
		t.Errorf("config = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

func TestValidateNamesTheSetting(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Server)
		want   string
	}{
		{func(c *Server) { c.AccountID = "12" }, "--account-id"},
		{func(c *Server) { c.Region = "Mars" }, "--region"},
		{func(c *Server) { c.DatabaseURL = "mysql://x" }, "--database"},
		{func(c *Server) { c.DataDir = "" }, "--data-dir"},
	} {
		c := Server{DataDir: "/tmp/x", Region: "us-east-1", AccountID: "000000000000"}
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
}
