// Package bundletest builds template bundle archives for tests: from entries written in the
// test or from a folder of files (such as the shared sample bundles).
package bundletest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// File is one archive entry: a regular file unless Type says otherwise.
type File struct {
	Name, Body string
	Type       byte   // tar.TypeReg when zero
	Link       string // for links
}

// Tarball returns the gzipped tar of files, in order.
func Tarball(t testing.TB, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: 0o644, Typeflag: f.Type, Linkname: f.Link}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Under puts files under a wrapping folder, as `tar czf b.tar.gz top/` would.
func Under(top string, files []File) []File {
	out := make([]File, len(files))
	for i, f := range files {
		f.Name = top + "/" + f.Name
		out[i] = f
	}
	return out
}

// Dir reads a bundle folder's files by relative path. Hidden files (a sample's
// .compatible-envs and the like) are registration data, not part of the bundle.
func Dir(t testing.TB, dir string) []File {
	t.Helper()
	var files []File
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(filepath.Base(rel), ".") {
			return nil
		}
		body, err := os.ReadFile(path)
		files = append(files, File{Name: filepath.ToSlash(rel), Body: string(body)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
