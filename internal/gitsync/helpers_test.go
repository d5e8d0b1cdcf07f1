package gitsync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gone, as a file's content in commit, removes the file.
const gone = "\x00gone"

// link, as a prefix of a file's content in commit, makes a symbolic link to the rest.
const link = "\x00link:"

// testRepo is a bare repository (the remote) and a working repository that pushes to it.
type testRepo struct {
	t    *testing.T
	bare string
	work string
	repo *git.Repository
	when time.Time
}

// newRepo creates an empty bare repository and a working repository pushing to it.
func newRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	bare := filepath.Join(dir, "remote.git")
	if _, err := git.PlainInitWithOptions(bare, &git.PlainInitOptions{Bare: true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}}); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	repo, err := git.PlainInitWithOptions(work, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, bare: bare, work: work, repo: repo, when: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// remote is the bare repository as a Remote.
func (r *testRepo) remote() Remote { return Remote{URL: r.bare} }

// commit writes files (gone removes one; link+target makes a link) on main, commits,
// pushes main to each of branches (main when none) and returns the commit's hash.
func (r *testRepo) commit(files map[string]string, branches ...string) string {
	t := r.t
	t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		content := files[p]
		full := filepath.Join(r.work, filepath.FromSlash(p))
		if content == gone {
			if _, err := wt.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(full)
		if target, ok := cutLink(content); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	r.when = r.when.Add(time.Minute)
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: r.when}
	h, err := wt.Commit("change", &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(branches) == 0 {
		branches = []string{"main"}
	}
	for _, b := range branches {
		spec := config.RefSpec("+refs/heads/main:refs/heads/" + b)
		if err := r.repo.Push(&git.PushOptions{RefSpecs: []config.RefSpec{spec}}); err != nil {
			t.Fatal(err)
		}
	}
	return h.String()
}

func cutLink(content string) (string, bool) {
	if len(content) > len(link) && content[:len(link)] == link {
		return content[len(link):], true
	}
	return "", false
}

// fetch reads main.
func (r *testRepo) fetch() *Snapshot {
	r.t.Helper()
	s, err := Fetch(context.Background(), r.remote(), "main")
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}
