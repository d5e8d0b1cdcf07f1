// Package gitauth builds the SSH authentication go-git uses for ssh:// remotes: a private
// key, and the host keys the remote must present (never "accept any host key").
package gitauth

import (
	"errors"
	"fmt"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSH authenticates as user (default "git") with an unencrypted PEM private key, accepting
// only host keys listed in the known_hosts file knownHostsFile.
func SSH(user string, key []byte, knownHostsFile string) (*gitssh.PublicKeys, error) {
	if knownHostsFile == "" {
		return nil, errors.New("an SSH key needs a known_hosts file to check the host's key against")
	}
	if user == "" {
		user = "git"
	}
	auth, err := gitssh.NewPublicKeys(user, key, "")
	if err != nil {
		// The parse error says what is wrong with the key, never its content.
		return nil, fmt.Errorf("the SSH private key cannot be used: %w", err)
	}
	check, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", knownHostsFile, err)
	}
	auth.HostKeyCallback = check
	return auth, nil
}
