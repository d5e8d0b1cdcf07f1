package gitsync

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHead(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)

	// A repository without commits has no branches.
	if got, err := Head(ctx, r.remote(), "main"); err != nil || got != "" {
		t.Fatalf("empty repository: Head = %q, %v", got, err)
	}
	first := r.commit(map[string]string{"README.md": "one\n"}, "main", "dev")
	for _, url := range []string{r.bare, "file://" + r.bare} {
		if got, err := Head(ctx, Remote{URL: url}, "main"); err != nil || got != first {
			t.Errorf("%s: Head(main) = %q, %v; want %s", url, got, err, first)
		}
	}
	if got, err := Head(ctx, r.remote(), "missing"); err != nil || got != "" {
		t.Errorf("Head(missing) = %q, %v; want no branch, no error", got, err)
	}
	second := r.commit(map[string]string{"README.md": "two\n"})
	if got, err := Head(ctx, r.remote(), "main"); err != nil || got != second || got == first {
		t.Errorf("after a push: Head(main) = %q, %v; want %s", got, err, second)
	}
	if got, err := Head(ctx, r.remote(), "dev"); err != nil || got != first {
		t.Errorf("Head(dev) = %q, %v; want the unmoved %s", got, err, first)
	}

	for _, tc := range []struct {
		name   string
		remote Remote
		branch string
		want   string
	}{
		{"invalid branch", r.remote(), "a..b", "not a valid branch name"},
		{"empty branch", r.remote(), "", "not a valid branch name"},
		{"no URL", Remote{}, "main", "no repository URL"},
		{"ssh without a key", Remote{URL: "ssh://git@example.com/org/repo.git"}, "main", "needs an SSH key"},
		{"ssh key that is not one", Remote{URL: "ssh://git@example.com/org/repo.git", SSHKey: []byte("secret-not-a-key"), KnownHostsFile: "/dev/null"}, "main", "cannot be used"},
		{"ssh key without known hosts", Remote{URL: "ssh://git@example.com/org/repo.git", SSHKey: []byte("k")}, "main", "known_hosts"},
		{"ssh key for a path", Remote{URL: r.bare, SSHKey: []byte("k")}, "main", "only be used with an ssh://"},
		{"git protocol", Remote{URL: "git://example.com/org/repo.git"}, "main", "not git"},
		{"missing repository", Remote{URL: t.TempDir() + "/nothing.git"}, "main", "listing the branches"},
		{"credentials for a path", Remote{URL: r.bare, Password: "p"}, "main", "http(s) remote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Head(ctx, tc.remote, tc.branch)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to say %q", err, tc.want)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	if _, err := Fetch(ctx, r.remote(), "main"); !errors.Is(err, ErrNoBranch) {
		t.Errorf("empty repository: err = %v; want ErrNoBranch", err)
	}
	r.commit(map[string]string{"old.txt": "history\n", "a/b.txt": "b0\n"})
	head := r.commit(map[string]string{
		"old.txt":    gone,
		"a/b.txt":    "b\n",
		"a/c/d.yaml": "d: 1\n",
		"top.md":     "top\n",
		"x/to-b":     link + "../a/b.txt",
	})
	s, err := Fetch(ctx, r.remote(), "main")
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != head || s.Branch != "main" {
		t.Errorf("snapshot of %s at %s; want main at %s", s.Branch, s.Commit, head)
	}
	for _, p := range []string{"a/b.txt", "./a/b.txt", "/a/b.txt", "a//b.txt"} {
		if got, ok := s.File(p); !ok || string(got) != "b\n" {
			t.Errorf("File(%q) = %q, %v; want the tip's content", p, got, ok)
		}
	}
	for _, p := range []string{"old.txt", "a", "a/c", "", "/", "../a/b.txt", "a/c/../b.txt", "x/to-b", "missing"} {
		if got, ok := s.File(p); ok {
			t.Errorf("File(%q) = %q; want no file", p, got)
		}
	}

	got, err := s.Dir("a")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"b.txt": []byte("b\n"), "c/d.yaml": []byte("d: 1\n")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Dir(a) (-want +got):\n%s", diff)
	}
	for _, p := range []string{"./a/", "/a"} {
		if got, err := s.Dir(p); err != nil || !cmp.Equal(want, got) {
			t.Errorf("Dir(%q) = %v, %v; want the same as Dir(a)", p, got, err)
		}
	}
	if got, err := s.Dir("a/c"); err != nil || !cmp.Equal(map[string][]byte{"d.yaml": []byte("d: 1\n")}, got) {
		t.Errorf("Dir(a/c) = %v, %v", got, err)
	}
	if _, err := s.Dir("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dir(missing): err = %v; want fs.ErrNotExist", err)
	}
	if _, err := s.Dir("a/b.txt"); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("Dir(a/b.txt): err = %v; want it to say it is a file", err)
	}
	if _, err := s.Dir("../a"); err == nil || !strings.Contains(err.Error(), "..") {
		t.Errorf("Dir(../a): err = %v", err)
	}
	// A link is neither followed nor copied: it is reported.
	for _, p := range []string{"x", "", "x/to-b"} {
		if _, err := s.Dir(p); err == nil || !strings.Contains(err.Error(), "x/to-b is a symbolic link") {
			t.Errorf("Dir(%q): err = %v; want the link reported", p, err)
		}
	}

	// Another branch is read on its own; a missing one is ErrNoBranch.
	dev := r.commit(map[string]string{"top.md": "dev\n"}, "dev")
	d, err := Fetch(ctx, r.remote(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d.File("top.md"); d.Commit != dev || string(got) != "dev\n" {
		t.Errorf("dev at %s holds top.md %q", d.Commit, got)
	}
	if m, _ := s.File("top.md"); string(m) != "top\n" {
		t.Errorf("the earlier snapshot changed: top.md = %q", m)
	}
	if _, err := Fetch(ctx, r.remote(), "missing"); !errors.Is(err, ErrNoBranch) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing branch: err = %v; want ErrNoBranch naming it", err)
	}
	if _, err := Fetch(ctx, Remote{URL: r.bare, Token: "t"}, "main"); err == nil || !strings.Contains(err.Error(), "http(s)") {
		t.Errorf("token for a local remote: err = %v", err)
	}
}

// The repository limit stops a clone that passes it.
func TestFetchSizeLimit(t *testing.T) {
	defer func(old int64) { maxRepoBytes = old }(maxRepoBytes)
	maxRepoBytes = 8 << 10
	r := newRepo(t)
	r.commit(map[string]string{"small.txt": "small\n"})
	if _, err := Fetch(context.Background(), r.remote(), "main"); err != nil {
		t.Fatalf("a repository under the limit: %v", err)
	}
	big := strings.Repeat("0123456789abcdef", 1024) // 16 KB
	r.commit(map[string]string{"big.txt": big})
	_, err := Fetch(context.Background(), r.remote(), "main")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v; want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "8192 bytes") {
		t.Errorf("the error does not state the limit: %v", err)
	}
	if got := sizeText(250 << 20); got != "250 MB" {
		t.Errorf("sizeText(250 MB) = %q", got)
	}
	// Only the tip counts: once the big file is gone, its history does not matter.
	r.commit(map[string]string{"big.txt": gone})
	if _, err := Fetch(context.Background(), r.remote(), "main"); err != nil {
		t.Errorf("after removing the big file: %v", err)
	}
}

// No password or token reaches an error message, whichever way the remote fails.
func TestCredentialsStayOutOfErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close() // nothing listens there now
	secrets := []string{"url-s3cret", "auth-t0ken", "t0ken%2F", "bearer-t0ken"}
	for _, rem := range []Remote{
		{URL: "http://deployer:url-s3cret@127.0.0.1:" + port + "/x.git", Username: "deployer", Password: "auth-t0ken/+x"},
		{URL: "http://127.0.0.1:" + port + "/x.git", Token: "bearer-t0ken"},
		{URL: "https://deployer:url-s3cret@127.0.0.1:" + port + "/x.git", Password: "auth-t0ken/+x"},
		{URL: "http://deployer:url-s3cret@127.0.0.1:" + port + "/%zz.git", Password: "auth-t0ken/+x"}, // does not parse
	} {
		_, headErr := Head(context.Background(), rem, "main")
		_, fetchErr := Fetch(context.Background(), rem, "main")
		for _, err := range []error{headErr, fetchErr} {
			if err == nil {
				t.Fatalf("%s: reached a closed port", rem.URL)
			}
			t.Log(err)
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a credential: %v", err)
				}
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				for _, s := range secrets {
					if strings.Contains(e.Error(), s) {
						t.Errorf("a wrapped error shows a credential: %v", e)
					}
				}
			}
		}
		if !strings.Contains(headErr.Error(), "127.0.0.1") && !strings.Contains(headErr.Error(), "the repository URL (not shown") {
			t.Errorf("the error does not say which remote failed: %v", headErr)
		}
	}
}
