package tfapply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// StatePath is where the state of the resource arn lives when the template configures no
// backend of its own: StateDir/<name>/terraform.tfstate, the name being the ARN's
// resource part made safe for a file name, then a hash of the whole ARN that keeps
// resources apart however their names sanitize.
func (p *Provisioner) StatePath(arn string) string {
	return filepath.Join(p.StateDir, stateName(arn), stateFile)
}

func stateName(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	readable := arn
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		readable = parts[5] // environment/prod, service/api/service-instance/east…
	}
	readable = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, readable)
	readable = strings.TrimLeft(readable[:min(len(readable), 64)], ".-")
	if readable == "" {
		readable = "resource"
	}
	return readable + "-" + hex.EncodeToString(sum[:16])
}

// writeFiles lays out the template's files in dir, private to the owner. A name that is
// not a plain relative path inside dir is refused; os.Root keeps every write inside dir.
func writeFiles(dir string, files map[string][]byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("tfapply: %w", err)
	}
	defer root.Close()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		rel := filepath.FromSlash(name)
		if !filepath.IsLocal(rel) || strings.Contains(name, `\`) {
			return fmt.Errorf("tfapply: file %q leaves the work dir", name)
		}
		if d := filepath.Dir(rel); d != "." {
			if err := root.MkdirAll(d, 0o700); err != nil {
				return fmt.Errorf("tfapply: %w", err)
			}
		}
		if err := root.WriteFile(rel, files[name], 0o600); err != nil {
			return fmt.Errorf("tfapply: %w", err)
		}
	}
	return nil
}

// declaredBackend is the backend the root module's files configure: a backend block's
// type, "cloud" for a cloud block, "" for none. Only files at the top of the bundle count:
// Terraform ignores backends in modules. Files that do not parse count as declaring none;
// terraform reports them.
func declaredBackend(files map[string][]byte) string {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.Contains(name, "/") {
			continue
		}
		var b string
		switch ext := path.Ext(strings.TrimSuffix(name, ".json")); {
		case ext != ".tf" && ext != ".tofu":
			continue
		case strings.HasSuffix(name, ".json"):
			b = jsonBackend(files[name])
		default:
			b = hclBackend(files[name])
		}
		if b != "" {
			return b
		}
	}
	return ""
}

// jsonBackend finds a backend in a file of Terraform's JSON syntax, where the terraform
// block and its backend may each be an object or a list of objects.
func jsonBackend(src []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(src, &top) != nil {
		return ""
	}
	for _, block := range jsonObjects(top["terraform"]) {
		for _, backend := range jsonObjects(block["backend"]) {
			for _, typ := range slices.Sorted(maps.Keys(backend)) {
				if typ != "//" {
					return typ
				}
			}
		}
		if _, ok := block["cloud"]; ok {
			return "cloud"
		}
	}
	return ""
}

func jsonObjects(raw json.RawMessage) []map[string]json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		return []map[string]json.RawMessage{obj}
	}
	var list []map[string]json.RawMessage
	_ = json.Unmarshal(raw, &list)
	return list
}

// hclBackend finds a backend in a file of Terraform's native syntax. It is not a parser,
// only a scanner that knows comments, strings (with their templates) and heredocs well
// enough to follow the braces, and recognises `backend "type" {` and `cloud {` directly
// inside a top-level `terraform {` block.
func hclBackend(src []byte) string {
	s := &hclScanner{src: src}
	var open []bool // the braces open, and whether each is a terraform block
	var stmt []string
	for {
		tok, ok := s.next()
		if !ok {
			return ""
		}
		switch tok {
		case "\n":
			stmt = stmt[:0]
		case "{":
			inTerraform := len(open) == 1 && open[0]
			switch {
			case len(open) == 0 && slices.Equal(stmt, []string{"terraform"}):
				open = append(open, true)
			case inTerraform && len(stmt) == 2 && stmt[0] == "backend" && strings.HasPrefix(stmt[1], `"`):
				return stmt[1][1:]
			case inTerraform && slices.Equal(stmt, []string{"cloud"}):
				return "cloud"
			default:
				open = append(open, false)
			}
			stmt = stmt[:0]
		case "}":
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
			stmt = stmt[:0]
		default:
			stmt = append(stmt, tok)
		}
	}
}

type hclScanner struct {
	src []byte
	i   int
}

func (s *hclScanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

// next returns the next token: "\n", "{", "}", an identifier, `"` followed by a string's
// raw text, or any other single character. Comments are skipped and a heredoc reads as a
// newline.
func (s *hclScanner) next() (string, bool) {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '#' || c == '/' && s.peek(1) == '/':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		case c == '/' && s.peek(1) == '*':
			end := strings.Index(string(s.src[s.i+2:]), "*/")
			if end < 0 {
				s.i = len(s.src)
			} else {
				s.i += 2 + end + 2
			}
		case c == '"':
			s.i++
			start := s.i
			s.skipString()
			return `"` + string(s.src[start:max(start, s.i-1)]), true
		case c == '<' && s.peek(1) == '<':
			if s.skipHeredoc() {
				return "\n", true
			}
			s.i += 2
			return "<<", true
		case isIdent(c):
			start := s.i
			for s.i < len(s.src) && isIdent(s.src[s.i]) {
				s.i++
			}
			return string(s.src[start:s.i]), true
		default:
			s.i++
			return string(c), true
		}
	}
	return "", false
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// skipString moves past the closing quote of a string whose opening quote was just read,
// through its template sequences.
func (s *hclScanner) skipString() {
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case c == '\\':
			s.i += 2
		case c == '"':
			s.i++
			return
		case c == '\n':
			return // strings end with their line; terraform reports the error
		case (c == '$' || c == '%') && s.peek(1) == c && s.peek(2) == '{':
			s.i += 3 // $${ and %%{ are literal
		case (c == '$' || c == '%') && s.peek(1) == '{':
			s.i += 2
			s.skipTemplate()
		default:
			s.i++
		}
	}
}

// skipTemplate moves past the brace that closes a template sequence whose opening brace
// was just read; its expression may hold strings and braces of its own.
func (s *hclScanner) skipTemplate() {
	depth := 1
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '"':
			s.i++
			s.skipString()
			continue
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				s.i++
				return
			}
		}
		s.i++
	}
}

// skipHeredoc moves past a heredoc (<<EOT or <<-EOT to the line holding only EOT) when one
// starts here.
func (s *hclScanner) skipHeredoc() bool {
	j := s.i + 2
	if j < len(s.src) && s.src[j] == '-' {
		j++
	}
	start := j
	for j < len(s.src) && isIdent(s.src[j]) {
		j++
	}
	rest, _, _ := strings.Cut(string(s.src[j:]), "\n")
	if j == start || strings.TrimSpace(rest) != "" {
		return false
	}
	delim := string(s.src[start:j])
	lines := strings.SplitAfter(string(s.src[j:]), "\n")
	s.i = j + len(lines[0])
	for _, line := range lines[1:] {
		s.i += len(line)
		if strings.TrimSpace(line) == delim {
			return true
		}
	}
	return true
}
