package gitsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/openproton/openproton/internal/gitauth"
)

// maxRepoBytes is Proton's repository limit (250 MB); a variable so tests can lower it.
var maxRepoBytes int64 = 250 << 20

var (
	// ErrNoBranch: the remote has no such branch (or no commits at all).
	ErrNoBranch = errors.New("no such branch")
	// ErrTooLarge: the branch's tree is larger than Proton syncs.
	ErrTooLarge = errors.New("repository too large")
)

// Remote is the repository to read.
type Remote struct {
	// URL is a local path, a file:// URL or an http(s):// URL.
	URL string
	// Username and Password are sent as basic authentication; Token, if set, as a bearer
	// token instead. Only for http(s) remotes. For a GitHub or GitLab access token, send
	// it as Password (any Username, e.g. "x-access-token" or "oauth2"): their git
	// endpoints want basic authentication.
	Username, Password string
	Token              string
	// SSHKey is an unencrypted PEM private key for ssh:// remotes (Username defaults to
	// "git"); KnownHostsFile lists the host keys such a remote may present.
	SSHKey         []byte
	KnownHostsFile string
}

// Head returns the commit branch points at on the remote, or "" (and no error) when the
// remote has no such branch. It lists the remote's references without cloning, so a sync
// can poll cheaply and fetch only when the commit changed.
func Head(ctx context.Context, r Remote, branch string) (string, error) {
	ref, err := r.check(branch)
	if err != nil {
		return "", err
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth()})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return "", nil
	}
	if err != nil {
		return "", r.fail("listing the branches of "+r.displayURL(), err)
	}
	for _, x := range refs {
		if x.Name() == ref && x.Type() == plumbing.HashReference {
			return x.Hash().String(), nil
		}
	}
	return "", nil
}

// Heads are the commits every branch of the remote points at, by branch name (none for an
// empty repository): one ls-remote.
func Heads(ctx context.Context, r Remote) (map[string]string, error) {
	if _, err := r.check("main"); err != nil {
		return nil, err
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth()})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, r.fail("listing the branches of "+r.displayURL(), err)
	}
	out := map[string]string{}
	for _, x := range refs {
		if x.Name().IsBranch() && x.Type() == plumbing.HashReference {
			out[x.Name().Short()] = x.Hash().String()
		}
	}
	return out, nil
}

// Snapshot is a branch's tree at one commit, read into memory. It is not modified after
// Fetch returns, so it may be read concurrently; callers must not modify returned slices.
type Snapshot struct {
	Commit string // the commit's hash
	Branch string

	files map[string][]byte // regular and executable files by slash path from the root
	links map[string]bool   // symbolic links: neither files nor folders
}

// Fetch reads branch's tip into memory: a shallow (depth 1) clone of that branch only,
// refused with ErrTooLarge once the objects pass Proton's 250 MB repository limit. A
// branch the remote does not have is ErrNoBranch. Submodules are left out.
func Fetch(ctx context.Context, r Remote, branch string) (*Snapshot, error) {
	ref, err := r.check(branch)
	if err != nil {
		return nil, err
	}
	where := "branch " + branch + " of " + r.displayURL()
	st := &boundedStorage{Storage: memory.NewStorage(), left: maxRepoBytes}
	repo, err := git.CloneContext(ctx, st, nil, &git.CloneOptions{
		URL: r.URL, Auth: r.auth(), RemoteName: "origin", ReferenceName: ref,
		SingleBranch: true, Depth: 1, Tags: git.NoTags,
	})
	switch {
	case errors.Is(err, errOverLimit) || st.left < 0:
		return nil, fmt.Errorf("gitsync: %s holds more than %s; Proton syncs repositories of at most %[2]s: %w",
			where, sizeText(maxRepoBytes), ErrTooLarge)
	case errors.Is(err, transport.ErrEmptyRemoteRepository), isNoMatchingRef(err):
		return nil, fmt.Errorf("gitsync: %s: %w", where, ErrNoBranch)
	case err != nil:
		return nil, r.fail("cloning "+where, err)
	}
	tip, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", branch), true)
	if err != nil {
		return nil, r.fail("finding "+where, err)
	}
	commit, err := repo.CommitObject(tip.Hash())
	if err != nil {
		return nil, r.fail("reading the commit of "+where, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, r.fail("reading the tree of "+where, err)
	}
	s := &Snapshot{Commit: commit.Hash.String(), Branch: branch, files: map[string][]byte{}, links: map[string]bool{}}
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode == filemode.Symlink {
			s.links[f.Name] = true
			return nil
		}
		if !f.Mode.IsFile() {
			return nil
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		data, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		s.files[f.Name] = data
		return nil
	})
	if err != nil {
		return nil, r.fail("reading the files of "+where, err)
	}
	return s, nil
}

// isNoMatchingRef reports go-git's error for a clone of a branch the remote lacks.
func isNoMatchingRef(err error) bool {
	var e git.NoMatchingRefSpecError
	return errors.As(err, &e) || errors.Is(err, plumbing.ErrReferenceNotFound)
}

// File returns the file at p, a slash path from the repository's root ("./" and a
// leading "/" are tolerated). Folders and symbolic links are not files.
func (s *Snapshot) File(p string) ([]byte, bool) {
	p, err := cleanPath(p)
	if err != nil || p == "" {
		return nil, false
	}
	data, ok := s.files[p]
	return data, ok
}

// Dir returns every file under the folder p ("" or "/" for the root), by path relative
// to it. A folder that does not exist is an error wrapping fs.ErrNotExist; a symbolic
// link inside it is an error too, as no bundle or spec may be one.
func (s *Snapshot) Dir(p string) (map[string][]byte, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if p != "" {
		prefix = p + "/"
	}
	for l := range s.links {
		if strings.HasPrefix(l, prefix) || l == p {
			return nil, fmt.Errorf("%s is a symbolic link; only regular files can be synced", l)
		}
	}
	out := map[string][]byte{}
	for name, data := range s.files {
		if rel, ok := strings.CutPrefix(name, prefix); ok {
			out[rel] = data
		}
	}
	if len(out) == 0 {
		if _, isFile := s.files[p]; isFile {
			return nil, fmt.Errorf("%s is a file, not a folder", p)
		}
		if p != "" {
			return nil, fmt.Errorf("no folder %s at commit %s: %w", p, s.Commit, fs.ErrNotExist)
		}
	}
	return out, nil
}

// paths lists every path the snapshot holds, files and links, sorted.
func (s *Snapshot) paths() []string {
	out := make([]string, 0, len(s.files)+len(s.links))
	for p := range s.files {
		out = append(out, p)
	}
	for p := range s.links {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// cleanPath turns a repository path as people write it ("./a/b", "/a/b/", "a//b") into
// the snapshot's form ("a/b"; "" for the root). ".." is refused rather than resolved: a
// path that climbs is a mistake, whatever it would resolve to.
func cleanPath(p string) (string, error) {
	raw := p
	p = strings.Trim(strings.TrimSpace(p), "/")
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q climbs out of its folder (..)", raw)
		}
	}
	p = path.Clean(p)
	if p == "." {
		p = ""
	}
	return p, nil
}

// check validates the remote and the branch and returns the branch's reference name.
func (r *Remote) check(branch string) (plumbing.ReferenceName, error) {
	if r.URL == "" {
		return "", errors.New("gitsync: no repository URL")
	}
	ep, err := transport.NewEndpoint(r.URL)
	if err != nil {
		// The parse error may quote the URL with its password: name it safely.
		return "", fmt.Errorf("gitsync: %s is not a valid URL", r.displayURL())
	}
	switch ep.Protocol {
	case "file", "http", "https":
		if r.SSHKey != nil {
			return "", fmt.Errorf("gitsync: %s: an SSH key can only be used with an ssh:// remote", r.displayURL())
		}
	case "ssh":
		if r.SSHKey == nil {
			return "", fmt.Errorf("gitsync: %s: an ssh:// remote needs an SSH key", r.displayURL())
		}
	default:
		return "", fmt.Errorf("gitsync: %s: only local, file://, http(s):// and ssh:// repositories are supported, not %s", r.displayURL(), ep.Protocol)
	}
	if (r.Username != "" || r.Password != "" || r.Token != "") && ep.Protocol == "file" {
		return "", fmt.Errorf("gitsync: %s: credentials can only be sent to an http(s) remote", r.displayURL())
	}
	if r.SSHKey != nil {
		if _, err := gitauth.SSH(r.Username, r.SSHKey, r.KnownHostsFile); err != nil {
			return "", fmt.Errorf("gitsync: %s: %w", r.displayURL(), err)
		}
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if branch == "" || ref.Validate() != nil {
		return "", fmt.Errorf("gitsync: %q is not a valid branch name", branch)
	}
	return ref, nil
}

func (r *Remote) auth() transport.AuthMethod {
	switch {
	case r.SSHKey != nil:
		auth, err := gitauth.SSH(r.Username, r.SSHKey, r.KnownHostsFile)
		if err != nil {
			return nil // check refused it already
		}
		return auth
	case r.Token != "":
		return &githttp.TokenAuth{Token: r.Token}
	case r.Username != "" || r.Password != "":
		return &githttp.BasicAuth{Username: r.Username, Password: r.Password}
	}
	return nil
}

// redactor hides the remote's credentials in messages.
func (r *Remote) redactor() gitauth.Redactor { return gitauth.NewRedactor(r.URL, r.Password, r.Token) }

func (r *Remote) redact(s string) string { return r.redactor().Redact(s) }

func (r *Remote) displayURL() string { return r.redactor().DisplayURL() }

func (r *Remote) fail(op string, err error) error { return r.redactor().Fail("gitsync", op, err) }

var errOverLimit = errors.New("over the repository size limit")

// boundedStorage is a memory storage that refuses objects once their total size passes
// a limit, so a huge repository stops the clone rather than filling memory. (Each object
// is counted once it is read; one object may overshoot.)
type boundedStorage struct {
	*memory.Storage
	left int64
}

func (s *boundedStorage) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	if s.left -= obj.Size(); s.left < 0 {
		return plumbing.ZeroHash, errOverLimit
	}
	return s.Storage.SetEncodedObject(obj)
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
