package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Proton's quotas.
const (
	maxBundleBytes   = 5 << 20
	maxManifestBytes = 50 << 10
	maxSchemaBytes   = 50 << 10
	maxFileBytes     = 200 << 10
	maxTemplateFiles = 10
	// maxUnpackedBytes bounds decompression, whatever the archive claims: ten times the
	// bundle quota is far more than any honest bundle unpacks to.
	maxUnpackedBytes = 50 << 20
)

// sectionDirs are the folders a bundle is made of; finding one at the top of the archive
// means the archive is not wrapped in a folder.
var sectionDirs = []string{"schema", "infrastructure", "instance_infrastructure", "pipeline_infrastructure"}

// readArchive unpacks a gzipped tar into its regular files by cleaned path, with the one
// folder that usually wraps a bundle removed.
func readArchive(data []byte) (map[string][]byte, error) {
	if len(data) > maxBundleBytes {
		return nil, bad("the bundle is %d bytes; the limit is %d bytes (5 MB)", len(data), maxBundleBytes)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, bad("the bundle is not a gzip-compressed tar archive (%v)", err)
	}
	tr := tar.NewReader(&limitedReader{r: gz, left: maxUnpackedBytes})
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readError(err)
		}
		name, skip, err := entryName(hdr)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		// The header's size is checked before reading, and reading is bounded anyway, so a
		// lying header costs nothing.
		if hdr.Size > maxFileBytes {
			return nil, bad("%s is %d bytes; the limit for a file is %d bytes (200 KB)", show(hdr.Name), hdr.Size, maxFileBytes)
		}
		body, err := io.ReadAll(io.LimitReader(tr, maxFileBytes+1))
		if err != nil {
			return nil, readError(err)
		}
		if len(body) > maxFileBytes {
			return nil, bad("%s is over the limit of %d bytes (200 KB) for a file", show(hdr.Name), maxFileBytes)
		}
		if _, dup := files[name]; dup {
			return nil, bad("%s appears twice in the archive", show(name))
		}
		files[name] = body
	}
	if len(files) == 0 {
		return nil, bad("the bundle archive holds no files")
	}
	if err := fileFolderClash(files); err != nil {
		return nil, err
	}
	return unwrap(files)
}

func readError(err error) error {
	if errors.Is(err, errUnpackedTooLarge) {
		return bad("the bundle unpacks to more than %d bytes (50 MB); is it really a template bundle?", maxUnpackedBytes)
	}
	return bad("the bundle is not a valid gzip-compressed tar archive (%v)", err)
}

// entryName checks one tar entry and returns its cleaned path; skip is true for entries
// that carry no bundle file (folders, pax metadata, macOS Finder leftovers).
func entryName(hdr *tar.Header) (name string, skip bool, err error) {
	raw := hdr.Name
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader: // pax metadata; its name means nothing
		return "", true, nil
	case tar.TypeReg, tar.TypeDir: // archive/tar reports the old '\x00' type as TypeReg
	case tar.TypeSymlink, tar.TypeLink:
		return "", false, bad("%s is a link (to %s); bundles may only hold regular files and folders", show(raw), show(hdr.Linkname))
	default:
		return "", false, bad("%s is not a regular file (%s); bundles may only hold regular files and folders", show(raw), entryKind(hdr.Typeflag))
	}
	if strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, `\`) || isDrivePath(raw) {
		return "", false, bad("%s is an absolute path; bundle paths must be relative", show(raw))
	}
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", false, bad("%s leaves the bundle (..); bundle paths must stay inside it", show(raw))
		}
	}
	name = path.Clean(raw)
	if hdr.Typeflag == tar.TypeDir {
		return "", true, nil // folders come from the files' paths
	}
	if name == "." {
		return "", false, bad("the archive has a file with an empty name")
	}
	base := path.Base(name)
	if strings.HasPrefix(base, "._") || base == ".DS_Store" {
		return "", true, nil
	}
	return name, false, nil
}

func isDrivePath(p string) bool {
	return len(p) >= 3 && p[1] == ':' && (p[2] == '/' || p[2] == '\\') &&
		('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

func entryKind(flag byte) string {
	switch flag {
	case tar.TypeChar:
		return "a character device"
	case tar.TypeBlock:
		return "a block device"
	case tar.TypeFifo:
		return "a named pipe"
	case tar.TypeGNUSparse:
		return "a sparse file"
	}
	return "tar entry type " + strconv.QuoteRune(rune(flag))
}

// show prints a name from the archive as is, or quoted when it holds characters that
// would garble the message; pax headers allow names of any length, so long ones are cut.
func show(name string) string {
	if len(name) > 200 {
		name = strings.ToValidUTF8(name[:200], "") + "…"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return strconv.Quote(name)
		}
	}
	return name
}

// fileFolderClash rejects "a/b" as a file next to "a/b/c": no folder could hold both.
func fileFolderClash(files map[string][]byte) error {
	for name := range files {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := files[dir]; ok {
				return bad("%s is both a file and a folder in the archive", show(dir))
			}
		}
	}
	return nil
}

// unwrap removes the one folder that wraps everything, as `tar czf b.tar.gz my-template/`
// produces, unless the bundle's folders are already at the top. Loose files beside the
// wrapping folder are outside the bundle and dropped.
func unwrap(files map[string][]byte) (map[string][]byte, error) {
	tops := map[string]bool{}
	for name := range files {
		if dir, _, ok := strings.Cut(name, "/"); ok {
			tops[dir] = true
		}
	}
	for _, d := range sectionDirs {
		if tops[d] {
			return files, nil
		}
	}
	switch len(tops) {
	case 0:
		return files, nil // only loose files: reported as a missing schema
	case 1:
	default:
		return nil, bad("the archive has %d top-level folders (%s) and no schema/ at its top; "+
			"a bundle is one folder holding schema/ and the infrastructure folders", len(tops), listDirs(tops))
	}
	var top string
	for d := range tops {
		top = d
	}
	out := make(map[string][]byte, len(files))
	for name, body := range files {
		if rest, ok := strings.CutPrefix(name, top+"/"); ok {
			out[rest] = body
		}
	}
	return out, nil
}

func listDirs(dirs map[string]bool) string {
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, show(d)+"/")
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(names, ", ")
}

var errUnpackedTooLarge = errors.New("unpacked size limit reached")

// limitedReader fails, rather than ending quietly as io.LimitReader does, once the limit is
// passed, so an archive that unpacks to far more than it weighs is reported, not truncated.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errUnpackedTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
