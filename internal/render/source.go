package render

import (
	"regexp"
	"strings"
)

var endRawRe = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)

// moveTagNewlines rewrites the inside of every {% %} and {{ }} tag so that
// its line breaks become spaces and the same number of line breaks sits
// right before the closing delimiter. gonja's lexer only takes spaces and
// tabs as separators after keywords ({% if a and<newline> b %} fails to
// parse) but accepts line breaks at the end of a tag; keeping the count
// keeps the line numbers of everything after the tag. String literals, comments
// and raw blocks are left alone.
func moveTagNewlines(src string) string {
	if !strings.Contains(src, "\n") {
		return src
	}
	var b strings.Builder
	i := 0
	for i < len(src) {
		open := strings.IndexAny(src[i:], "{")
		if open < 0 {
			break
		}
		open += i
		b.WriteString(src[i:open])
		rest := src[open:]
		switch {
		case strings.HasPrefix(rest, "{#"):
			end := strings.Index(rest[2:], "#}")
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			b.WriteString(rest[:end+4])
			i = open + end + 4
		case strings.HasPrefix(rest, "{%"), strings.HasPrefix(rest, "{{"):
			closer := "%}"
			if rest[1] == '{' {
				closer = "}}"
			}
			end := tagEnd(rest, closer)
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			inner := rest[2:end]
			// Keep the whitespace-control sign next to the closing delimiter.
			sign := ""
			if n := len(inner); n > 0 && (inner[n-1] == '-' || inner[n-1] == '+') {
				inner, sign = inner[:n-1], inner[n-1:]
			}
			if len(inner) > 0 && (inner[0] == '-' || inner[0] == '+') {
				b.WriteString(rest[:3])
				inner = inner[1:]
			} else {
				b.WriteString(rest[:2])
			}
			if strings.Contains(inner, "\n") {
				inner = replaceOutsideStrings(inner, '\n', ' ') + strings.Repeat("\n", countOutsideStrings(inner, '\n'))
			}
			b.WriteString(inner)
			b.WriteString(sign)
			b.WriteString(closer)
			i = open + end + 2
			if closer == "%}" && isRawTag(rest[2:end]) {
				loc := endRawRe.FindStringIndex(src[i:])
				if loc == nil {
					b.WriteString(src[i:])
					return b.String()
				}
				b.WriteString(src[i : i+loc[1]])
				i += loc[1]
			}
		default:
			b.WriteByte('{')
			i = open + 1
		}
	}
	b.WriteString(src[i:])
	return b.String()
}

// tagEnd returns the index in tag (which starts with its opening delimiter)
// of the closing delimiter, skipping string literals and, for {{ }},
// brackets that the expression itself opens.
func tagEnd(tag, closer string) int {
	depth := 0
	var quote byte
	for j := 2; j < len(tag); j++ {
		c := tag[j]
		if quote != 0 {
			switch c {
			case '\\':
				j++
			case quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case '(', '[', '{':
			if closer == "}}" {
				depth++
			}
		case ')', ']':
			if closer == "}}" && depth > 0 {
				depth--
			}
		case '}':
			if closer == "}}" && depth > 0 {
				depth--
				continue
			}
		}
		if depth == 0 && strings.HasPrefix(tag[j:], closer) {
			return j
		}
	}
	return -1
}

func isRawTag(inner string) bool {
	return strings.Trim(inner, "-+ \t\n\r") == "raw"
}

// replaceOutsideStrings replaces old by repl in s except inside string literals.
func replaceOutsideStrings(s string, old, repl byte) string {
	out := []byte(s)
	var quote byte
	for j := 0; j < len(out); j++ {
		c := out[j]
		if quote != 0 {
			switch c {
			case '\\':
				j++
			case quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case old:
			out[j] = repl
		}
	}
	return string(out)
}

func countOutsideStrings(s string, c byte) int {
	return strings.Count(s, string(c)) - strings.Count(replaceOutsideStrings(s, c, 0), string(c))
}
