package gitsync

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openproton/openproton/internal/bundle"
)

// Major is one v<N> folder of a synced template.
type Major struct {
	Major int
	Dir   string // repository path of the v<N> folder
	// Bundle is the folder's files, without the registration files (nor macOS Finder
	// leftovers, which bundle.Load skips anyway), as a gzipped tar of one folder "v<N>/"
	// wrapping them (the layout Proton's sample bundles have, which bundle.Load unwraps).
	// It is byte-for-byte the same for the same files: sorted paths, fixed mode, time and
	// owner.
	Bundle []byte
	// Digest is a hex sha256 over the bundle's paths and contents (framed as
	// bundle.Bundle.Digest, so for an environment template the two are equal) and, for a
	// service template, its Registration: equal digests, nothing to sync.
	Digest string
	// Registration is a service template's .template-registration.yaml, or its legacy
	// .compatible-envs; nil for an environment template.
	Registration *Registration
	// Err is what keeps this major from syncing: a registration file that is missing or
	// wrong, a symbolic link in the folder. Bundle and Digest are empty then. The other
	// majors are not affected, as Proton syncs each major on its own.
	Err error
}

// epoch is every bundle entry's modification time: the bundle is content, not a checkout.
var epoch = time.Unix(0, 0).UTC()

// TemplateMajors finds the template's folder in the snapshot and returns its majors,
// sorted: the folders v<N> directly in it, N a positive integer without leading zeros
// ("v01", "v0" and "V1" are not majors). The template's folder is <subdirectory>/
// <templateName>, or else the shallowest folder named templateName under subdirectory
// that holds a major ("" or "/" search the whole repository; the subdirectory may itself
// be the template's folder). No such folder: no majors, no error.
//
// kind says whether the template is a service template, whose majors need a
// registration file; an environment template's registration files are left out of its
// bundle and otherwise ignored.
func TemplateMajors(s *Snapshot, kind bundle.Kind, subdirectory, templateName string) ([]Major, error) {
	if !validName(templateName) {
		return nil, fmt.Errorf("gitsync: %q is not a template name", templateName)
	}
	root, err := cleanPath(subdirectory)
	if err != nil {
		return nil, fmt.Errorf("gitsync: subdirectory: %w", err)
	}
	dir, ok := templateDir(s, root, templateName)
	if !ok {
		return nil, nil
	}
	type content struct {
		files map[string][]byte
		links []string
	}
	found := map[int]*content{}
	for _, p := range s.paths() {
		rest, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			continue
		}
		vdir, rel, ok := strings.Cut(rest, "/")
		n, isMajor := majorNumber(vdir)
		if !ok || !isMajor {
			continue
		}
		c := found[n]
		if c == nil {
			c = &content{files: map[string][]byte{}}
			found[n] = c
		}
		if s.links[p] {
			c.links = append(c.links, rel)
		} else {
			c.files[rel] = s.files[p]
		}
	}
	majors := make([]Major, 0, len(found))
	for n, c := range found {
		m := Major{Major: n, Dir: path.Join(dir, "v"+strconv.Itoa(n))}
		m.Err = m.read(kind, c.files, c.links)
		majors = append(majors, m)
	}
	sort.Slice(majors, func(i, j int) bool { return majors[i].Major < majors[j].Major })
	return majors, nil
}

// read fills in the major's bundle, digest and registration from its folder's files.
func (m *Major) read(kind bundle.Kind, files map[string][]byte, links []string) error {
	isRegistration := func(rel string) bool { return rel == RegistrationFile || rel == CompatibleEnvsFile }
	for _, l := range links {
		if !isRegistration(l) || kind == bundle.Service {
			return fmt.Errorf("%s/%s is a symbolic link; a template bundle holds only regular files", m.Dir, l)
		}
	}
	if kind == bundle.Service {
		var err error
		if data, ok := files[RegistrationFile]; ok {
			m.Registration, err = ParseRegistration(data)
		} else if data, ok := files[CompatibleEnvsFile]; ok {
			m.Registration, err = ParseCompatibleEnvs(data)
		} else {
			return fmt.Errorf("%s has no %s: a service template version needs its compatible environments", m.Dir, RegistrationFile)
		}
		if err != nil {
			m.Registration = nil
			return fmt.Errorf("%s/%w", m.Dir, err) // the error starts with the file's name
		}
	}
	content := make(map[string][]byte, len(files))
	for rel, data := range files {
		if !isRegistration(rel) && !isFinderLeftover(rel) {
			content[rel] = data
		}
	}
	tgz, err := tarball("v"+strconv.Itoa(m.Major), content)
	if err != nil {
		m.Registration = nil
		return fmt.Errorf("gitsync: packing %s: %w", m.Dir, err)
	}
	m.Bundle, m.Digest = tgz, digest(content, m.Registration)
	return nil
}

// isFinderLeftover reports the macOS files bundle.Load skips: leaving them out keeps
// Digest equal to the loaded bundle's.
func isFinderLeftover(rel string) bool {
	base := path.Base(rel)
	return base == ".DS_Store" || strings.HasPrefix(base, "._")
}

// templateDir finds the template's folder: root/name, else the shallowest folder named
// name at or under root that holds a major (root itself counts), first in path order.
func templateDir(s *Snapshot, root, name string) (string, bool) {
	best, bestDepth := "", -1
	consider := func(dir string, depth int) {
		if bestDepth < 0 || depth < bestDepth || (depth == bestDepth && dir < best) {
			best, bestDepth = dir, depth
		}
	}
	for _, p := range s.paths() {
		rel := p
		if root != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(p, root+"/"); !ok {
				continue
			}
		}
		parts := strings.Split(rel, "/")
		// parts[i] is the template's folder when parts[i+1] is a major folder (it has
		// something in it: parts[i+2]).
		if root != "" && path.Base(root) == name && len(parts) >= 2 {
			if _, ok := majorNumber(parts[0]); ok {
				consider(root, 0)
			}
		}
		for i := 0; i+2 < len(parts); i++ {
			if _, ok := majorNumber(parts[i+1]); ok && parts[i] == name {
				consider(path.Join(root, strings.Join(parts[:i+1], "/")), i+1)
			}
		}
	}
	return best, bestDepth >= 0
}

// majorNumber reads a major folder's name: "v" and a positive integer without leading
// zeros.
func majorNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "v")
	if !ok || !majorRe.MatchString(digits) {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// tarball packs files under one folder, the same bytes for the same files.
func tarball(top string, files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf) // no name, no time: a fixed header
	tw := tar.NewWriter(gz)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: top + "/" + name, Mode: 0o644,
			Size: int64(len(data)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// digest fingerprints a bundle's files as bundle.Load's digest does (sorted paths; NUL
// and the length end each path and content), then the registration, if any, in an
// order-free form: after a file's content comes either another path, which is never
// empty, or the registration's marker, which starts with NUL.
func digest(files map[string][]byte, reg *Registration) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
	}
	if reg != nil {
		envs := make([]string, 0, len(reg.CompatibleEnvironments))
		for _, c := range reg.CompatibleEnvironments {
			envs = append(envs, c.String())
		}
		sort.Strings(envs)
		envs = slices.Compact(envs)
		sources := slices.Compact(slices.Sorted(slices.Values(reg.SupportedComponentSources)))
		fmt.Fprintf(h, "\x00registration\x00%s\x00%s\x00", strings.Join(envs, "\n"), strings.Join(sources, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
