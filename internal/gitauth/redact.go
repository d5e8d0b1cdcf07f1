package gitauth

import (
	"net/url"
	"sort"
	"strings"
)

// Redactor hides a remote's credentials in text: the given secrets (password, token) and
// a password in the URL, raw and URL-escaped.
type Redactor struct {
	url     string
	secrets []string // longest first, so an escaped form is not half-replaced by its raw form
}

// NewRedactor is the redactor of a remote at rawURL authenticated with secrets.
func NewRedactor(rawURL string, secrets ...string) Redactor {
	r := Redactor{url: rawURL}
	add := func(s string) {
		if s != "" {
			r.secrets = append(r.secrets, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	for _, s := range secrets {
		add(s)
	}
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// Redact replaces every secret in s with ***.
func (r Redactor) Redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

// DisplayURL is the remote's URL without a password. A URL that does not parse may hide
// one where it cannot be found, so it is not shown at all.
func (r Redactor) DisplayURL() string {
	u, err := url.Parse(r.url)
	switch {
	case err != nil && strings.Contains(r.url, "@"):
		return "the repository URL (not shown: it may hold a password)"
	case err != nil:
		return r.Redact(r.url)
	case u.User != nil:
		return r.Redact(u.Redacted())
	}
	return r.Redact(r.url)
}

// Error is a failed git operation. Its message is redacted; it unwraps to the underlying
// error only when that error's own message shows no secret.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// Fail describes err, from op, without secrets; prefix names the package ("terraform").
func (r Redactor) Fail(prefix, op string, err error) error {
	msg := err.Error()
	red := r.Redact(msg)
	e := &Error{msg: prefix + ": " + op + ": " + red}
	if red == msg {
		e.err = err
	}
	return e
}
