package sigv4

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// CRC-64/NVME's polynomial 0xAD93D23594C93659, bit-reversed as crc64.MakeTable wants it.
	nvme = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

// checksumAlgorithm is an x-amz-checksum-* algorithm this server can compute; one not
// listed in checksumAlgorithms is accepted unchecked.
type checksumAlgorithm struct {
	header string // lowercase header name
	name   string // as S3 names it in messages
	new    func() hash.Hash
}

var checksumAlgorithms = []checksumAlgorithm{
	{"x-amz-checksum-crc32", "CRC32", func() hash.Hash { return crc32.NewIEEE() }},
	{"x-amz-checksum-crc32c", "CRC32C", func() hash.Hash { return crc32.New(castagnoli) }},
	{"x-amz-checksum-crc64nvme", "CRC64NVME", func() hash.Hash { return crc64.New(nvme) }},
	{"x-amz-checksum-sha1", "SHA1", sha1.New},
	{"x-amz-checksum-sha256", "SHA256", sha256.New},
	{"x-amz-checksum-sha512", "SHA512", sha512.New},
	{"x-amz-checksum-md5", "MD5", md5.New},
}

func lookupChecksum(header string) (checksumAlgorithm, bool) {
	for _, a := range checksumAlgorithms {
		if a.header == header {
			return a, true
		}
	}
	return checksumAlgorithm{}, false
}

// checksum checks the body against one x-amz-checksum-* value: a request header's, or a
// trailer's once the aws-chunked body has been read.
type checksum struct {
	header  string // lowercase header name
	name    string
	h       hash.Hash
	want    string // the request header's value, unless trailer
	trailer bool   // the value comes in the aws-chunked trailer
}

func (c *checksum) verify(trailers map[string]string) error {
	want := c.want
	if c.trailer {
		var ok bool
		if want, ok = trailers[c.header]; !ok {
			return fail(BadBody, "The trailer %s announced in X-Amz-Trailer was not sent.", c.header)
		}
	}
	if base64.StdEncoding.EncodeToString(c.h.Sum(nil)) != strings.TrimSpace(want) {
		return fail(BadChecksum, "The %s you specified did not match the calculated checksum.", c.name)
	}
	return nil
}

// trailerChecksums are the checksums an aws-chunked body announces in X-Amz-Trailer.
func trailerChecksums(r *http.Request) []*checksum {
	var out []*checksum
	for _, list := range r.Header.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(list, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if alg, ok := lookupChecksum(name); ok {
				out = append(out, &checksum{header: name, name: alg.name, h: alg.new(), trailer: true})
			}
		}
	}
	return out
}

// headerChecksums are the checksums an upload states in request headers. Only PUT bodies
// are object data (PutObject, UploadPart): elsewhere, as in CompleteMultipartUpload, the
// header describes the object, not the request body.
func headerChecksums(r *http.Request) []*checksum {
	if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") != "" {
		return nil
	}
	var out []*checksum
	for _, alg := range checksumAlgorithms {
		if v := headerValues(r.Header, alg.header); len(v) > 0 {
			out = append(out, &checksum{header: alg.header, name: alg.name, h: alg.new(), want: v[0]})
		}
	}
	return out
}
