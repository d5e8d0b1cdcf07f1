package app

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/openproton/openproton/internal/auth"
	"github.com/openproton/openproton/internal/config"
	"github.com/openproton/openproton/internal/deploy"
	"github.com/openproton/openproton/internal/store"
)

func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// newRunner builds this replica's deployment runner; its Queue and Resources are set once
// they exist.
func (s *Server) newRunner(cfg config.Server, jobKeys *auth.JobKeys) *deploy.Runner {
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return &deploy.Runner{
		Store:      s.store,
		Replica:    fmt.Sprintf("%s/%d/%x", host, os.Getpid(), suffix),
		Lease:      cfg.DeploymentLease,
		RunTimeout: cfg.DeploymentTimeout,
		Log:        s.log,
		Credential: func(d *store.Deployment, expires time.Time) map[string]string {
			id, secret := jobKeys.Issue(d.AccountID, d.ID, d.Attempt, expires)
			return map[string]string{
				"AWS_ACCESS_KEY_ID":       id,
				"AWS_SECRET_ACCESS_KEY":   secret,
				"AWS_ENDPOINT_URL_PROTON": s.publicURL(),
			}
		},
	}
}

// publicURL is where deployment commands reach this server.
func (s *Server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return s.URL()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
