package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"path"
	"strings"
)

// Proton's quotas.
const (
	maxBundleBytes   = 5 << 20
	maxManifestBytes = 50 << 10
	maxSchemaBytes   = 50 << 10
	maxFileBytes     = 200 << 10
	maxTemplateFiles = 10
	// maxUnpackedBytes bounds decompression, whatever the archive claims.
	maxUnpackedBytes = 50 << 20
)

// readArchive unpacks a gzipped tar into regular files by cleaned path, with the single
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
			if errors.Is(err, errUnpackedTooLarge) {
				return nil, bad("the bundle unpacks to more than %d bytes", maxUnpackedBytes)
			}
			return nil, bad("the bundle is not a valid tar archive (%v)", err)
		}
		name, skip, err := entryName(hdr)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		limit := int64(maxFileBytes)
		switch path.Base(name) {
		case "manifest.yaml":
			limit = maxManifestBytes
		case "schema.yaml":
			limit = maxSchemaBytes
		}
		if hdr.Size > limit {
			return nil, bad("%s is %d bytes; the limit for this file is %d bytes", name, hdr.Size, limit)
		}
		body, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			if errors.Is(err, errUnpackedTooLarge) {
				return nil, bad("the bundle unpacks to more than %d bytes", maxUnpackedBytes)
			}
			return nil, bad("%s: cannot read it from the archive (%v)", name, err)
		}
		if int64(len(body)) > limit {
			return nil, bad("%s is over the limit of %d bytes for this file", name, limit)
		}
		if _, dup := files[name]; dup {
			return nil, bad("%s appears twice in the archive", name)
		}
		files[name] = body
	}
	if len(files) == 0 {
		return nil, bad("the bundle archive holds no files")
	}
	return unwrap(files), nil
}

// entryName checks one tar entry and returns its cleaned path; skip is true for entries
// that carry nothing (folders, metadata, macOS resource forks).
func entryName(hdr *tar.Header) (name string, skip bool, err error) {
	raw := hdr.Name
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader:
		return "", true, nil
	case tar.TypeSymlink, tar.TypeLink:
		return "", false, bad("%s is a link; bundles may only hold regular files and folders", raw)
	case tar.TypeReg, tar.TypeRegA:
	default:
		return "", false, bad("%s is not a regular file (tar type %q); bundles may only hold regular files and folders", raw, string(hdr.Typeflag))
	}
	if strings.HasPrefix(raw, "/") || (len(raw) > 1 && raw[1] == ':') {
		return "", false, bad("%s is an absolute path; bundle paths must be relative", raw)
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", false, bad("%s leaves the bundle (..); bundle paths must stay inside it", raw)
		}
	}
	name = path.Clean(strings.TrimPrefix(raw, "./"))
	base := path.Base(name)
	if strings.HasPrefix(base, "._") || base == ".DS_Store" {
		return "", true, nil
	}
	return name, false, nil
}

// unwrap removes the one folder that wraps everything, as `tar czf b.tar.gz my-template/`
// produces, unless the bundle's folders are already at the top.
func unwrap(files map[string][]byte) map[string][]byte {
	top := ""
	for name := range files {
		dir, _, ok := strings.Cut(name, "/")
		if !ok || dir == "schema" {
			return files
		}
		if top == "" {
			top = dir
		} else if dir != top {
			return files
		}
	}
	out := make(map[string][]byte, len(files))
	for name, body := range files {
		out[strings.TrimPrefix(name, top+"/")] = body
	}
	return out
}

var errUnpackedTooLarge = errors.New("unpacked size limit reached")

// limitedReader fails, rather than ending quietly, once the limit is passed, so an archive
// that unpacks to far more than it weighs is reported instead of truncated.
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
