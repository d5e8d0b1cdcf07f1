package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	binenc "encoding/binary"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/openproton/openproton/internal/config"
)

// sshGitHost serves the bare repositories under base over SSH as a git host does: one
// client key is let in, and git-upload-pack / git-receive-pack run on the named repository.
type sshGitHost struct {
	URL            string // ssh://git@127.0.0.1:PORT
	KeyFile        string // the client's private key (PEM)
	KnownHostsFile string // the host's key
	mu             sync.Mutex
	execs          []string
}

func newSSHGitHost(t *testing.T, base string) *sshGitHost {
	t.Helper()
	dir := t.TempDir()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientPriv, "openproton test")
	if err != nil {
		t.Fatal(err)
	}
	h := &sshGitHost{KeyFile: filepath.Join(dir, "id_ed25519"), KnownHostsFile: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(h.KeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	allowed, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(key.Marshal(), allowed.Marshal()) {
			return nil, nil
		}
		return nil, fmt.Errorf("unknown key")
	}}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h.URL = "ssh://git@" + ln.Addr().String()
	line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, hostSigner.PublicKey())
	if err := os.WriteFile(h.KnownHostsFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go h.serve(conn, cfg, base)
		}
	}()
	return h
}

func (h *sshGitHost) serve(conn net.Conn, cfg *ssh.ServerConfig, base string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				if req.Type != "exec" || len(req.Payload) < 4 {
					_ = req.Reply(false, nil)
					continue
				}
				command := string(req.Payload[4:])
				_ = req.Reply(true, nil)
				h.mu.Lock()
				h.execs = append(h.execs, command)
				h.mu.Unlock()
				name, arg, _ := strings.Cut(command, " ")
				repo := filepath.Join(base, filepath.FromSlash(strings.Trim(arg, "'/")))
				status := uint32(1)
				if name == "git-upload-pack" || name == "git-receive-pack" {
					cmd := exec.Command("git", strings.TrimPrefix(name, "git-"), repo)
					cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
					if cmd.Run() == nil {
						status = 0
					}
				}
				payload := make([]byte, 4)
				binenc.BigEndian.PutUint32(payload, status)
				_, _ = ch.SendRequest("exit-status", false, payload)
				return
			}
		}()
	}
}

// TestSSHRepositories: a repository reached over SSH with the key registered for its
// connection (and its host checked against known_hosts) takes self-managed deployments'
// branches and syncs templates; a host whose key is not known is refused.
func TestSSHRepositories(t *testing.T) {
	needTool(t, "git", "--version")
	base := t.TempDir()
	infra := bareRepo(t, base, "org/infra")
	host := newSSHGitHost(t, base)
	creds := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := os.WriteFile(creds, []byte(testConnection+":\n  sshKeyFile: "+host.KeyFile+"\n  knownHostsFile: "+host.KnownHostsFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServerWith(t, func(c *config.Server) {
		c.RepositoryURLs, c.RepositoryCredentials, c.SyncPoll = "GITHUB="+host.URL, creds, 100*time.Millisecond
	})
	c := srv.admin()
	ctx := context.Background()
	publishEnv(t, srv, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	linkRepo(t, c, types.RepositoryProviderGithub, "org/infra")
	created, err := c.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("prod"), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")}})
	if err != nil {
		t.Fatal(err)
	}
	branch := "proton--proton-environment-" + aws.ToString(created.Environment.LastAttemptedDeploymentId)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if out, _ := exec.Command("git", "-C", infra, "branch", "--list", branch).Output(); strings.TrimSpace(string(out)) != "" {
			break
		}
		if time.Now().After(deadline) {
			d, _ := c.GetDeployment(ctx, &proton.GetDeploymentInput{Id: created.Environment.LastAttemptedDeploymentId})
			t.Fatalf("branch %s never pushed over SSH: %+v", branch, d)
		}
	}
	host.mu.Lock()
	execs := strings.Join(host.execs, "\n")
	host.mu.Unlock()
	if !strings.Contains(execs, "git-receive-pack") || !strings.Contains(execs, "org/infra") {
		t.Errorf("the host ran %q", execs)
	}

	// A host presenting another key is refused: the deployment fails, nothing is pushed.
	if err := os.WriteFile(host.KnownHostsFile, []byte(knownhosts.Line([]string{"[127.0.0.1]:1"}, mustSigner(t).PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv2 := startServerWith(t, func(c *config.Server) { c.RepositoryURLs, c.RepositoryCredentials = "GITHUB="+host.URL, creds })
	c2 := srv2.admin()
	publishEnv(t, srv2, "tf", "", []file{{Name: "schema/schema.yaml", Body: envSchema}, {Name: "infrastructure/manifest.yaml", Body: tfManifest},
		{Name: "infrastructure/main.tf", Body: tfMain}}, "")
	linkRepo(t, c2, types.RepositoryProviderGithub, "org/infra")
	if _, err := c2.CreateEnvironment(ctx, &proton.CreateEnvironmentInput{Name: aws.String("other"), TemplateName: aws.String("tf"), TemplateMajorVersion: aws.String("1"),
		Spec: spec("  team: web\n"), ProvisioningRepository: &types.RepositoryBranchInput{Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")}}); err != nil {
		t.Fatal(err)
	}
	env := waitEnvStatus(t, c2, "other", types.DeploymentStatusFailed)
	if msg := aws.ToString(env.DeploymentStatusMessage); !strings.Contains(msg, "key") {
		t.Errorf("unknown host key: %q", msg)
	}
}

func mustSigner(t *testing.T) ssh.Signer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
