// Package render renders AWS Proton's Jinja-templated infrastructure files the
// way Proton does: Python Jinja2 with default options, StrictUndefined and
// Proton's proton_cfn_* filters, byte for byte.
//
// The engine is gonja (github.com/nikolalohinski/gonja/v2). Where gonja and
// Jinja2 disagree the package patches around it: every {{ }} output and every
// `~` goes through Python's str(), the filters and tests whose results differ
// are replaced (default, defined, tojson, truncate, string, join, ...), dicts
// keep insertion order, and undefined values are told apart from None.
//
// Context values are Go values as encoding/json would produce them, with one
// rule for numbers: a Python int must be passed as a Go integer (int, int64,
// ...) or as a json.Number holding an integer literal; float64, float32 and
// json.Number with a fraction or exponent are Python floats and print as such
// (8080.0). Decode JSON with DecodeJSON, or with a json.Decoder using
// UseNumber, to keep integers. Maps may be map[string]any (iterated in sorted
// key order) or Object (iterated in its own order, like json.loads).
//
// Templates are single files: include, import and extends fail. Recursion
// deeper than a few hundred levels fails like Python's RecursionError. The
// known differences from Jinja2 are listed, and tested, in testdata/gaps.yaml.
package render

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/parser"
)

// ErrUndefined marks a reference to a variable, attribute or item that does
// not exist (Jinja2's UndefinedError under StrictUndefined).
var ErrUndefined = errors.New("undefined")

// errEnginePanic marks a panic while executing a parsed template, turned into
// an error so that a bad template cannot take the server down. The fuzz test
// fails on it.
var errEnginePanic = errors.New("template engine panic")

// Render renders template text with ctx, Proton's parameter namespace (for
// example {"environment": {"name": ..., "inputs": {...}}, "service": {...},
// "service_instance": {...}}). name is the template's file name, used in
// errors. See the package documentation for how to pass numbers and maps.
func Render(name, text string, ctx map[string]any) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("render %s: %w: %v", name, errEnginePanic, r)
		}
	}()
	data, err := templateContext(ctx)
	if err != nil {
		return "", fmt.Errorf("render %s: context: %w", name, err)
	}
	source := moveTagNewlines(text)
	tpl, err := parse(name, source)
	if err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	patch(tpl.Root(), source)
	st := &renderState{}
	data[stateKey] = st
	var b strings.Builder
	if err := tpl.Execute(&b, exec.NewContext(data)); err != nil {
		return "", fmt.Errorf("render %s: %w", name, renderError(err, st))
	}
	return indentBlocks(b.String()), nil
}

// parse parses source. gonja's parser dereferences nil on some malformed
// input (for example "{% if 0 is %}"); such a panic is a syntax error.
func parse(name, source string) (tpl *exec.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			tpl, err = nil, fmt.Errorf("syntax error: the parser failed: %v", r)
		}
	}()
	tpl, err = exec.NewTemplate(name, newConfig(), &sourceLoader{name: name, text: source}, environment)
	if err != nil {
		return nil, syntaxError(err)
	}
	return tpl, nil
}

// newConfig is Jinja2's default Environment plus StrictUndefined.
func newConfig() *config.Config {
	cfg := config.New()
	cfg.StrictUndefined = true
	return cfg
}

// templateContext converts ctx into engine values and adds Proton's default
// for a service instance without an attached component.
func templateContext(ctx map[string]any) (map[string]any, error) {
	data := make(map[string]any, len(ctx))
	for k, v := range ctx {
		val, err := toTemplateValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		data[k] = val
	}
	if inst, ok := data["service_instance"].(*exec.Dict); ok {
		components := inst.Get(exec.AsValue("components"))
		if components.IsNil() {
			d := exec.NewDict()
			inst.Pairs = append(inst.Pairs, &exec.Pair{Key: exec.AsValue("components"), Value: exec.AsValue(d)})
			components = exec.AsValue(d)
		}
		if d, ok := components.Interface().(*exec.Dict); ok && d.Get(exec.AsValue("default")).IsNil() {
			d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue("default"), Value: exec.AsValue(missingComponent{})})
		}
	}
	return data, nil
}

// sourceLoader serves the template being rendered, once. Proton templates are
// single files: include, import and extends must neither read the server's
// disk nor recurse into the template itself.
type sourceLoader struct {
	name, text string
	read       bool
}

func (l *sourceLoader) Read(path string) (io.Reader, error) {
	if l.read || path != l.name {
		return nil, fmt.Errorf("cannot load %q: templates cannot include, import or extend other files", path)
	}
	l.read = true
	return strings.NewReader(l.text), nil
}

func (l *sourceLoader) Resolve(path string) (string, error) { return path, nil }

func (l *sourceLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// stateKey holds the render's *renderState in the template context; it is not
// an identifier, so templates cannot reach it.
const stateKey = "render:state"

// renderState is per-render bookkeeping shared with the filters.
type renderState struct {
	// failures are the typed errors filters raised so far.
	failures []error
}

// fail returns err from a filter. gonja flattens the errors filters return
// into strings, so err is also recorded in the render's state for renderError
// to report with its type.
func fail(e *exec.Evaluator, err error) *exec.Value {
	if st := stateOf(e); st != nil {
		st.failures = append(st.failures, err)
	}
	return exec.AsValue(err)
}

func stateOf(e *exec.Evaluator) *renderState {
	if e == nil || e.Environment == nil || e.Environment.Context == nil {
		return nil
	}
	v, _ := e.Environment.Context.Get(stateKey)
	st, _ := v.(*renderState)
	return st
}

var (
	lineRe          = regexp.MustCompile(`at line (\d+)`)
	undefinedNameRe = regexp.MustCompile(`Unable to evaluate name "([^"]*)"`)
	undefinedAttrRe = regexp.MustCompile(`nable to evaluate (.+?): (?:attribute|item) [^\n]*? not found`)
	attrMissingRe   = regexp.MustCompile(`: (?:(?:attribute|item) [^\n]*? not found|Can't use (?:getattr|Getitem) on None)`)
	noneAccessRe    = regexp.MustCompile(`^Can't use (getattr|Getitem) on None$`)
	filteredExprRe  = regexp.MustCompile(`filtered_expression\(([^()]*)\)`)
	internalCallRe  = regexp.MustCompile(`invalid call to filter 'render:[a-z]+': `)
)

// renderError turns gonja's chain of wrapped messages into one that names the
// failing line and the cause: Proton's own message for its filters, Jinja2's
// "'x' is undefined" (wrapping ErrUndefined) for undefined references.
func renderError(err error, st *renderState) error {
	msg := err.Error()
	line := ""
	if m := lineRe.FindAllStringSubmatch(msg, -1); m != nil {
		line = "line " + m[len(m)-1][1] + ": "
	}
	for _, f := range st.failures {
		if strings.Contains(msg, f.Error()) {
			return fmt.Errorf("%s%w", line, f)
		}
	}
	// A failed guard shows as "... is not callable": gonja rewrites the message.
	for _, f := range st.failures {
		if errors.Is(f, errRecursion) {
			return fmt.Errorf("%s%w", line, f)
		}
	}
	if u, ok := findUndefined(msg); ok {
		return fmt.Errorf("%s%w", line, u)
	}
	return fmt.Errorf("%s%s", line, innermost(rootCause(err).Error()))
}

// innermost cuts a flattened gonja message down to its innermost part: what
// follows the last "unable to evaluate filter &{...}: ", gonja's print of the
// filter node that failed.
func innermost(msg string) string {
	const marker = "unable to evaluate filter &{"
	if i := strings.LastIndex(msg, marker); i >= 0 {
		rest := msg[i+len(marker):]
		if j := strings.Index(rest, " map["); j >= 0 {
			if k := strings.Index(rest[j:], "}: "); k >= 0 {
				msg = rest[j+k+3:]
			}
		}
	}
	return internalCallRe.ReplaceAllString(msg, "")
}

// syntaxError reports a parse error with its line, without gonja's echo of
// the whole template source.
func syntaxError(err error) error {
	var se *parser.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: syntax error: %s", se.Line, se.Message)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "': "); strings.HasPrefix(msg, "failed to parse template '") && i >= 0 {
		msg = msg[i+3:]
	}
	return fmt.Errorf("syntax error: %s", msg)
}

// rootCause unwraps an error chain down to its innermost error.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// undefinedError is Jinja2's UndefinedError: a missing name, or a hint such
// as "No first item, sequence was empty.".
type undefinedError struct{ name, hint string }

func (e *undefinedError) Error() string {
	if e.hint != "" {
		return e.hint
	}
	return "'" + e.name + "' is undefined"
}

func (e *undefinedError) Unwrap() error { return ErrUndefined }

// findUndefined finds, in a gonja error message, the innermost reference to
// a missing name, attribute or item: in Jinja2 every such failure is an
// UndefinedError, whatever expression it happened in.
func findUndefined(msg string) (*undefinedError, bool) {
	best, name := -1, ""
	if locs := undefinedNameRe.FindAllStringSubmatchIndex(msg, -1); locs != nil {
		l := locs[len(locs)-1]
		best, name = l[0], msg[l[2]:l[3]]
	}
	if locs := attrMissingRe.FindAllStringIndex(msg, -1); locs != nil {
		end := locs[len(locs)-1][0]
		if start := strings.LastIndex(msg[:end], "nable to evaluate "); start >= 0 && end > best {
			best, name = end, msg[start+len("nable to evaluate "):end]
		}
	}
	if best < 0 {
		return nil, false
	}
	// Drop the traces of patch's rewrites from the expression's text.
	for prev := ""; prev != name; {
		prev, name = name, filteredExprRe.ReplaceAllString(name, "$1")
	}
	return &undefinedError{name: name}, true
}

// isUndefined reports whether v is an undefined reference itself (what Jinja2
// represents as an Undefined object) rather than an error raised while
// evaluating something. Only these reach `default` and `is defined`: in Jinja2
// any other failure, including using an attribute of an undefined value, raises.
func isUndefined(v *exec.Value) bool {
	if isUndefinedValue(v) {
		return true
	}
	if !v.IsError() {
		return false
	}
	err, ok := v.Interface().(error)
	if !ok {
		return false
	}
	root := rootCause(err)
	if root == err {
		msg := err.Error()
		return strings.HasPrefix(msg, "Unable to evaluate name") && undefinedNameRe.MatchString(msg) ||
			undefinedAttrRe.MatchString(msg)
	}
	// An attribute of None is undefined too; gonja wraps that one once.
	return noneAccessRe.MatchString(root.Error()) &&
		errors.Unwrap(errors.Unwrap(err)) == root &&
		!strings.HasPrefix(strings.ToLower(err.Error()), "unable to evaluate target")
}
