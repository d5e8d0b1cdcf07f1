package pullrequest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

const (
	maxBody      = 4 << 20  // a JSON answer worth decoding
	maxErrorBody = 64 << 10 // enough of a refusal to find its message
	maxMessage   = 300      // bytes of a host's message kept in an error
	maxPages     = 20       // list pages followed when looking for an earlier pull request
)

// do sends one request and decodes a 2xx JSON answer into out (nil: ignored). Refusals
// are *HTTPError.
func (a *API) do(ctx context.Context, method, rawURL string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "openproton")
	if a.Kind == GitHub {
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return nil, err // *url.Error: method, URL and cause; the token is only in a header
	}
	defer resp.Body.Close()
	where, _, _ := strings.Cut(rawURL, "?")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, &HTTPError{
			Method: method, URL: where, StatusCode: resp.StatusCode,
			// Redacted before it is cut, so no part of the token survives at the cut.
			Message: truncate(a.redact(hostMessage(b)), maxMessage),
		}
	}
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
			return nil, fmt.Errorf("%s %s: reading the answer: %w", method, where, err)
		}
	}
	return resp.Header, nil
}

// endpoint joins path segments, each escaped whole, to the base URL: a GitLab project
// path is one segment, its slashes sent as %2F.
func (a *API) endpoint(query url.Values, segments ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(a.BaseURL, "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	if len(query) > 0 {
		b.WriteByte('?')
		b.WriteString(query.Encode())
	}
	return b.String()
}

// sameOrigin reports whether a URL the host handed back (a next page) is on the API's
// own scheme and host: the token is sent nowhere else.
func (a *API) sameOrigin(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	base, err := url.Parse(a.BaseURL)
	return err == nil && u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host)
}

// nextLink finds rel="next" in a Link header (GitHub and Gitea paginate with it).
func nextLink(header string) string {
	for _, link := range strings.Split(header, ",") {
		target, params, ok := strings.Cut(link, ";")
		if !ok {
			continue
		}
		target = strings.TrimSpace(target)
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}

func (a *API) redact(s string) string {
	if a.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, a.Token, "[redacted]")
}

// hostMessage pulls the human words out of an error body: GitHub's and Gitea's
// {"message", "errors": [{"message"}]}, GitLab's "message" (a string, a list, or field
// errors) and "error", Bitbucket's {"error": {"message", "detail"}}. Anything else is
// shown as text.
func hostMessage(body []byte) string {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return strings.Join(strings.Fields(string(body)), " ")
	}
	var parts []string
	add := func(x any) {
		for _, s := range texts(x) {
			if s != "" && !slices.Contains(parts, s) {
				parts = append(parts, s)
			}
		}
	}
	add(v["message"])
	if errs, ok := v["errors"].([]any); ok {
		for _, e := range errs {
			if m, ok := e.(map[string]any); ok && m["message"] != nil {
				add(m["message"])
			} else if ok {
				add(m["code"])
			} else {
				add(e)
			}
		}
	} else {
		add(v["errors"])
	}
	switch e := v["error"].(type) {
	case map[string]any:
		add(e["message"])
		add(e["detail"])
		add(e["fields"])
	default:
		add(e)
	}
	add(v["error_description"])
	if len(parts) == 0 {
		return strings.Join(strings.Fields(string(body)), " ")
	}
	return strings.Join(strings.Fields(strings.Join(parts, ": ")), " ")
}

// texts flattens a JSON value into its strings; an object's are prefixed by their keys.
func texts(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, texts(x)...)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			if s := strings.Join(texts(v[k]), ", "); s != "" {
				out = append(out, k+" "+s)
			}
		}
		return out
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// retryable reports whether a refusal to open is one a retry meets when its pull request
// already exists (or was merged since, leaving nothing to compare).
func retryable(err error, statuses ...int) bool {
	var he *HTTPError
	return errors.As(err, &he) && slices.Contains(statuses, he.StatusCode)
}

// candidate is a pull request found from the deployment's branch.
type candidate struct {
	pr    PullRequest
	state State
}

// pick chooses what a retried Open returns: an open pull request first, else the newest.
func pick(cs []candidate) *PullRequest {
	better := func(c, than *candidate) bool {
		if (c.state == Open) != (than.state == Open) {
			return c.state == Open
		}
		return c.pr.Number > than.pr.Number
	}
	var best *candidate
	for i := range cs {
		if best == nil || better(&cs[i], best) {
			best = &cs[i]
		}
	}
	if best == nil {
		return nil
	}
	pr := best.pr
	return &pr
}

// existing looks for the pull request an earlier Open made after the host refused a new
// one with err; without one, err stands.
func existing(err error, find func() ([]candidate, error)) (*PullRequest, error) {
	cs, ferr := find()
	if ferr != nil {
		return nil, fmt.Errorf("%w (looking for an existing one: %v)", err, ferr)
	}
	if pr := pick(cs); pr != nil {
		return pr, nil
	}
	return nil, err
}
