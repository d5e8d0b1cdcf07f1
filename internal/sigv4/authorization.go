package sigv4

import "strings"

const algorithm = "AWS4-HMAC-SHA256"

// authorization is a parsed Authorization header. Its strings are slices of the header.
type authorization struct {
	accessKeyID, date, region, service string
	signedHeaders                      string // "host;x-amz-date", as sent: sorted, lowercase
	signature                          string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
// SignedHeaders=<h1>;<h2>, Signature=<hex>". Components may come in any order, with or without
// spaces after the commas; each must come once.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(h, algorithm)
	if !ok || rest == "" || rest[0] != ' ' {
		return a, fail(Incomplete, "Unsupported Authorization Type: the Authorization header must use %s.", algorithm)
	}
	var credential string
	var seen [3]bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, fail(Incomplete, "Authorization header is malformed: every component must be key=value.")
		}
		var i int
		switch k {
		case "Credential":
			i, credential = 0, v
		case "SignedHeaders":
			i, a.signedHeaders = 1, v
		case "Signature":
			i, a.signature = 2, v
		default:
			return a, fail(Incomplete, "Authorization header is malformed: unknown component.")
		}
		if seen[i] {
			return a, fail(Incomplete, "Authorization header is malformed: %s appears twice.", k)
		}
		seen[i] = true
	}
	switch {
	case credential == "":
		return a, fail(Incomplete, "Authorization header requires 'Credential' parameter.")
	case a.signedHeaders == "":
		return a, fail(Incomplete, "Authorization header requires 'SignedHeaders' parameter.")
	case a.signature == "":
		return a, fail(Incomplete, "Authorization header requires 'Signature' parameter.")
	}
	if err := a.parseCredential(credential); err != nil {
		return a, err
	}
	if !validSignedHeaders(a.signedHeaders) {
		return a, fail(Incomplete, "SignedHeaders must be lowercase header names, sorted, separated by ';', and include host.")
	}
	return a, nil
}

// parseCredential splits <key>/<date>/<region>/<service>/aws4_request.
func (a *authorization) parseCredential(c string) error {
	bad := func() error {
		return fail(Incomplete, "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request.")
	}
	var parts [5]string
	for i := range parts {
		var ok bool
		if i == len(parts)-1 {
			parts[i], ok = c, !strings.Contains(c, "/")
		} else {
			parts[i], c, ok = strings.Cut(c, "/")
		}
		if !ok || parts[i] == "" {
			return bad()
		}
	}
	if parts[4] != "aws4_request" || !isDate(parts[1]) {
		return bad()
	}
	a.accessKeyID, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validSignedHeaders checks the list is strictly increasing lowercase token names that
// include host. Lowercase names are what lets headerValues find them without allocating.
func validSignedHeaders(list string) bool {
	prev, host := "", false
	for more := true; more; {
		var name string
		name, list, more = strings.Cut(list, ";")
		if name == "" || name <= prev {
			return false
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
		host = host || name == "host"
		prev = name
	}
	return host
}
