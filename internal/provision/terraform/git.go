package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/openproton/openproton/internal/gitauth"
)

// Commit commits a deployment to a new branch of req.Remote and pushes the branch.
//
// The repository is cloned into memory (the base branch's tip only) and the commit is
// built from git objects: nothing is written to the local filesystem, so no template
// path or symbolic link in the repository can make it write outside the tree. A call
// retried after its push succeeded finds the branch with its commit and returns it
// (Result.Existing); a branch holding anything else is ErrBranchExists. Error messages
// never contain the remote's credentials.
func Commit(ctx context.Context, req *Request) (*Result, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	if err := req.validateRemote(); err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	files, err := renderFiles(req)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	rem := &req.Remote
	auth, err := rem.authMethod()
	if err != nil {
		return nil, err
	}
	base := req.baseBranch()
	branch := BranchName(req.Kind, req.DeploymentID)
	branchRef := plumbing.NewBranchReferenceName(branch)
	message := CommitMessage(req.Kind, req.name())

	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: rem.URL, Auth: auth, RemoteName: "origin",
		ReferenceName: plumbing.NewBranchReferenceName(base), SingleBranch: true,
		Depth: 1, Tags: git.NoTags,
	})
	if err != nil {
		return nil, rem.fail(fmt.Sprintf("cloning branch %s of %s", base, rem.displayURL()), err)
	}
	baseRef, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", base), true)
	if err != nil {
		return nil, rem.fail("finding the base branch "+base, err)
	}
	baseCommit, err := repo.CommitObject(baseRef.Hash())
	if err != nil {
		return nil, rem.fail("reading the base commit", err)
	}
	root, err := baseCommit.Tree()
	if err != nil {
		return nil, rem.fail("reading the base tree", err)
	}
	folder := resourceFolder(req, root)
	res := &Result{Branch: branch, Base: baseCommit.Hash.String(), Folder: folder}

	// The branch is named by the deployment: if it exists, this call is a retry.
	if existing, err := remoteBranch(ctx, repo, auth, branchRef); err != nil {
		return nil, rem.fail("listing the remote's branches", err)
	} else if !existing.IsZero() {
		if err := fetchBranch(ctx, repo, auth, branch); err != nil {
			return nil, rem.fail("fetching the existing branch "+branch, err)
		}
		ok, err := isDeploymentCommit(repo, existing, message, folder+"/"+metadataFile, files[metadataFile])
		if err != nil {
			return nil, rem.fail("reading the existing branch "+branch, err)
		}
		if !ok {
			return nil, fmt.Errorf("terraform: branch %s: %w", branch, ErrBranchExists)
		}
		res.Commit, res.Existing = existing.String(), true
		if c, err := repo.CommitObject(existing); err == nil && len(c.ParentHashes) > 0 {
			res.Base = c.ParentHashes[0].String()
		}
		return res, nil
	}

	s := repo.Storer
	edits := map[string]plumbing.Hash{}
	for rel, data := range files {
		h, err := storeBlob(s, data)
		if err != nil {
			return nil, fmt.Errorf("terraform: storing %s: %w", rel, err)
		}
		edits[folder+"/"+rel] = h
	}
	if !req.Deleted {
		stale, err := staleFiles(root, folder, ManagedHeader(req.ResourceARN), files)
		if err != nil {
			return nil, rem.fail("reading the resource's folder", err)
		}
		for _, rel := range stale {
			edits[folder+"/"+rel] = plumbing.ZeroHash
		}
	}
	tree, _, err := writeTree(s, root, edits, "")
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	when := req.Time
	if when.IsZero() {
		when = time.Now()
	}
	sig := object.Signature{Name: req.Author.Name, Email: req.Author.Email, When: when}
	if sig.Name == "" {
		sig.Name = DefaultAuthor.Name
	}
	if sig.Email == "" {
		sig.Email = DefaultAuthor.Email
	}
	commit := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree,
		ParentHashes: []plumbing.Hash{baseCommit.Hash}}
	obj := s.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return nil, fmt.Errorf("terraform: encoding the commit: %w", err)
	}
	hash, err := s.SetEncodedObject(obj)
	if err != nil {
		return nil, fmt.Errorf("terraform: storing the commit: %w", err)
	}
	if err := s.SetReference(plumbing.NewHashReference(branchRef, hash)); err != nil {
		return nil, fmt.Errorf("terraform: creating the branch: %w", err)
	}
	// Without "+" the push fails rather than replace a branch created meanwhile.
	err = repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", Auth: auth,
		RefSpecs: []config.RefSpec{config.RefSpec(branchRef + ":" + branchRef)}})
	if err != nil {
		return nil, rem.fail("pushing branch "+branch+" to "+rem.displayURL(), err)
	}
	res.Commit = hash.String()
	return res, nil
}

// resourceFolder is where the resource's files go: <env>/, <env>/<service>-<instance>/
// and <env>/<component>/, under environments/ when the repository has that folder (or
// already holds the environment there); pipeline/<service>/ for pipelines.
func resourceFolder(r *Request, root *object.Tree) string {
	if r.Kind == ServicePipeline {
		return "pipeline/" + r.ServiceName
	}
	isDir := func(p string) bool { _, err := root.Tree(p); return err == nil }
	env := r.EnvironmentName
	switch {
	case isDir("environments/" + env):
		env = "environments/" + env
	case isDir(env):
	case isDir("environments"):
		env = "environments/" + env
	}
	switch r.Kind {
	case ServiceInstance:
		return env + "/" + r.ServiceName + "-" + r.ServiceInstanceName
	case Component:
		return env + "/" + r.ComponentName
	}
	return env
}

// staleFiles lists the files under folder (relative to it) that a previous deployment of
// the same resource wrote, as their header shows, and that files no longer has.
func staleFiles(root *object.Tree, folder, header string, files map[string][]byte) ([]string, error) {
	t, err := root.Tree(folder)
	if err != nil {
		return nil, nil // no folder yet (or not a folder: writeTree reports the conflict)
	}
	var stale []string
	err = t.Files().ForEach(func(f *object.File) error {
		if _, keep := files[f.Name]; keep || !f.Mode.IsFile() || f.Size < int64(len(header)) {
			return nil
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		head := make([]byte, len(header))
		if _, err := io.ReadFull(r, head); err != nil {
			return err
		}
		if string(head) == header {
			stale = append(stale, f.Name)
		}
		return nil
	})
	return stale, err
}

func storeBlob(s storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// writeTree stores base with edits applied and returns its hash and whether it is
// empty. edits maps slash-separated paths to the blob to write there, or to the zero
// hash to remove the file. A path running into a file, a link or a submodule where a
// folder is needed (or the reverse) is an error. dir is base's path, for messages.
func writeTree(s storer.EncodedObjectStorer, base *object.Tree, edits map[string]plumbing.Hash, dir string) (plumbing.Hash, bool, error) {
	var entries []object.TreeEntry
	if base != nil {
		entries = slices.Clone(base.Entries)
	}
	index := func(name string) int {
		return slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == name })
	}
	remove := func(i int) { entries = slices.Delete(entries, i, i+1) }
	nested := map[string]map[string]plumbing.Hash{}
	for _, p := range slices.Sorted(maps.Keys(edits)) {
		h := edits[p]
		if sub, rest, ok := strings.Cut(p, "/"); ok {
			if nested[sub] == nil {
				nested[sub] = map[string]plumbing.Hash{}
			}
			nested[sub][rest] = h
			continue
		}
		i := index(p)
		switch {
		case i >= 0 && entries[i].Mode == filemode.Dir:
			if !h.IsZero() {
				return plumbing.ZeroHash, false, fmt.Errorf("cannot write file %s%s: the repository has a folder there", dir, p)
			}
		case h.IsZero():
			if i >= 0 {
				remove(i)
			}
		case i >= 0:
			entries[i] = object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: h}
		default:
			entries = append(entries, object.TreeEntry{Name: p, Mode: filemode.Regular, Hash: h})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nested)) {
		sub := nested[name]
		if h, ok := edits[name]; ok && !h.IsZero() {
			return plumbing.ZeroHash, false, fmt.Errorf("%s%s would be both a file and a folder", dir, name)
		}
		i := index(name)
		var subtree *object.Tree
		if i >= 0 {
			if entries[i].Mode != filemode.Dir {
				if onlyRemovals(sub) {
					continue
				}
				return plumbing.ZeroHash, false, fmt.Errorf("cannot create folder %s%s: the repository has a file, link or submodule there", dir, name)
			}
			t, err := object.GetTree(s, entries[i].Hash)
			if err != nil {
				return plumbing.ZeroHash, false, err
			}
			subtree = t
		} else if onlyRemovals(sub) {
			continue
		}
		h, empty, err := writeTree(s, subtree, sub, dir+name+"/")
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		switch {
		case empty && i >= 0:
			remove(i)
		case empty:
		case i >= 0:
			entries[i].Hash = h
		default:
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
	}
	sort.Sort(object.TreeEntrySorter(entries))
	obj := s.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, err := s.SetEncodedObject(obj)
	return h, len(entries) == 0, err
}

func onlyRemovals(edits map[string]plumbing.Hash) bool {
	for _, h := range edits {
		if !h.IsZero() {
			return false
		}
	}
	return true
}

// remoteBranch is the remote's commit for ref, zero when the remote has no such branch.
func remoteBranch(ctx context.Context, repo *git.Repository, auth transport.AuthMethod, ref plumbing.ReferenceName) (plumbing.Hash, error) {
	remote, err := repo.Remote("origin")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, r := range refs {
		if r.Name() == ref && r.Type() == plumbing.HashReference {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

func fetchBranch(ctx context.Context, repo *git.Repository, auth transport.AuthMethod, branch string) error {
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(branch) + ":" + plumbing.NewRemoteReferenceName("origin", branch))
	err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Depth: 1, Tags: git.NoTags,
		RefSpecs: []config.RefSpec{spec}})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// isDeploymentCommit reports whether commit is this deployment's: its message and its
// deployment metadata are the ones this call would write.
func isDeploymentCommit(repo *git.Repository, hash plumbing.Hash, message, metadataPath string, metadata []byte) (bool, error) {
	c, err := repo.CommitObject(hash)
	if err != nil {
		return false, err
	}
	if c.Message != message {
		return false, nil
	}
	f, err := c.File(metadataPath)
	if errors.Is(err, object.ErrFileNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	got, err := f.Contents()
	if err != nil {
		return false, err
	}
	return got == string(metadata), nil
}

func (r *Remote) authMethod() (transport.AuthMethod, error) {
	a := r.Auth
	switch {
	case a == nil:
		return nil, nil
	case a.SSHKey != nil:
		auth, err := gitauth.SSH(a.Username, a.SSHKey, a.KnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("terraform: %w", err)
		}
		return auth, nil
	case a.Token != "":
		return &githttp.TokenAuth{Token: a.Token}, nil
	case a.Username != "" || a.Password != "":
		return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
	}
	return nil, nil
}

// redactor hides the remote's credentials in messages.
func (r *Remote) redactor() gitauth.Redactor {
	if a := r.Auth; a != nil {
		return gitauth.NewRedactor(r.URL, a.Password, a.Token)
	}
	return gitauth.NewRedactor(r.URL)
}

func (r *Remote) redact(s string) string { return r.redactor().Redact(s) }

func (r *Remote) displayURL() string { return r.redactor().DisplayURL() }

func (r *Remote) fail(op string, err error) error { return r.redactor().Fail("terraform", op, err) }

// Files are the files a deployment would commit into its resource's folder, by relative
// path: the template's .tf files behind Proton's header, proton.<kind>.variables.tf,
// proton.auto.tfvars.json and .proton/deployment-metadata.json. Req's Remote and Author are
// not used. Direct apply runs terraform on exactly these.
func Files(req *Request) (map[string][]byte, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	files, err := renderFiles(req)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	return files, nil
}

// DeleteBranch removes a deployment's branch from the remote: Proton's pull request is
// closed. Only a branch still at commit is removed (deleted reports it); one that is gone
// already, or that someone moved on, is left alone.
func DeleteBranch(ctx context.Context, rem Remote, branch, commit string) (deleted bool, err error) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return false, fmt.Errorf("terraform: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{rem.URL}}); err != nil {
		return false, fmt.Errorf("terraform: %w", err)
	}
	auth, err := rem.authMethod()
	if err != nil {
		return false, err
	}
	ref := plumbing.NewBranchReferenceName(branch)
	tip, err := remoteBranch(ctx, repo, auth, ref)
	if err != nil {
		return false, rem.fail("listing the remote's branches", err)
	}
	if tip.IsZero() || tip.String() != commit {
		return false, nil
	}
	// RequireRemoteRefs makes the deletion conditional on the tip, as --force-with-lease.
	err = repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", Auth: auth,
		RefSpecs:          []config.RefSpec{config.RefSpec(":" + ref)},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(commit + ":" + ref.String())}})
	if err != nil {
		return false, rem.fail("deleting branch "+branch+" of "+rem.displayURL(), err)
	}
	return true, nil
}

// mergedDepth bounds how much of the base branch's history Merged reads.
const mergedDepth = 1000

// Merged reports whether commit is in the history of the remote's branch (within its last
// mergedDepth commits): the deployment's branch was merged. A squash or rebase merge makes
// new commits and is not recognised.
func Merged(ctx context.Context, rem Remote, branch, commit string) (bool, error) {
	auth, err := rem.authMethod()
	if err != nil {
		return false, err
	}
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: rem.URL, Auth: auth, RemoteName: "origin", ReferenceName: plumbing.NewBranchReferenceName(branch),
		SingleBranch: true, Depth: mergedDepth, Tags: git.NoTags, NoCheckout: true,
	})
	if err != nil {
		return false, rem.fail(fmt.Sprintf("cloning branch %s of %s", branch, rem.displayURL()), err)
	}
	want := plumbing.NewHash(commit)
	if _, err := repo.CommitObject(want); err == nil {
		return true, nil // shallow clones hold only the branch's history
	}
	return false, nil
}
