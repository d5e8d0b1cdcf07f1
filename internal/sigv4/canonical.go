package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// appendCanonicalRequest appends SigV4's canonical request for r to b. S3 signs the path
// exactly as sent; every other service signs it URI-encoded once more. Neither is
// normalised: the AWS SDKs do not normalise before signing either.
func appendCanonicalRequest(b []byte, r *http.Request, signedHeaders, payloadHash string, s3 bool) []byte {
	path, query := requestTarget(r)
	b = append(b, r.Method...)
	b = append(b, '\n')
	if s3 {
		b = append(b, path...)
	} else {
		b = appendEscaped(b, path, false)
	}
	b = append(b, '\n')
	b = appendCanonicalQuery(b, query)
	b = append(b, '\n')
	for list, more := signedHeaders, true; more; {
		var name string
		name, list, more = strings.Cut(list, ";")
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, signedHeaders...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b
}

// requestTarget is the escaped path and raw query as the client sent them.
func requestTarget(r *http.Request) (path, query string) {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, query, _ = strings.Cut(r.RequestURI, "?")
	} else {
		// Absolute-form targets ("http://host/p?q"), and requests built in-process.
		path, query = r.URL.EscapedPath(), r.URL.RawQuery
	}
	if path == "" {
		path = "/"
	}
	return path, query
}

// appendHeaderValue appends a header's canonical value: every value the client sent,
// trimmed, runs of spaces collapsed, joined with commas.
func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		return appendTrimmed(b, r.Host)
	case "content-length":
		// net/http keeps the header, but requests built in-process may only have the field.
		if len(headerValues(r.Header, name)) == 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
	case "transfer-encoding":
		// net/http moves it out of the header map.
		return append(b, strings.Join(r.TransferEncoding, ",")...)
	}
	for i, v := range headerValues(r.Header, name) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// headerValues looks a lowercase header name up in h. Building the canonical key in a
// stack buffer and indexing with string(key) does not allocate; http.Header.Values would.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	key := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		key[i] = c
		upper = c == '-'
	}
	return h[string(key)]
}

// appendTrimmed appends v without leading and trailing whitespace and with each run of
// spaces collapsed to one, as the AWS SDK signer does.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b = append(b, c)
	}
	return b
}

// appendCanonicalQuery appends the canonical query string: every parameter decoded as
// url.ParseQuery decodes it ('+' is a space; a pair with a ';' or a bad escape is dropped,
// as the handler behind us never sees it either), re-encoded, sorted by key then value
// after encoding.
func appendCanonicalQuery(b []byte, raw string) []byte {
	if raw == "" {
		return b
	}
	type param struct{ k, v string }
	var params []param
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" || strings.Contains(part, ";") {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		params = append(params, param{string(appendEscaped(nil, dk, true)), string(appendEscaped(nil, dv, true))})
	}
	slices.SortFunc(params, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

// appendEscaped URI-encodes s as SigV4 requires: unreserved characters (A-Z a-z 0-9 - _ . ~)
// stay, every other byte becomes %XX with uppercase hex; '/' stays unless encodeSlash.
func appendEscaped(b []byte, s string, encodeSlash bool) []byte {
	const hexdigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexdigits[c>>4], hexdigits[c&15])
	}
	return b
}
