package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/jmespath/go-jmespath"
	"github.com/spf13/cobra"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bundle"
)

// The `aws proton` commands, one per operation, built from the model at run time: each
// input member is a --kebab-case option taking what the aws CLI takes (scalars, lists as
// separate words, structures in shorthand key=value,… or JSON, file:// contents), and the
// answer is printed as the aws CLI v1 prints it, so that scripts see the same bytes.

// exitAPIError is the aws CLI v1's exit code for a failed call, exitUsage its argparse
// exit code for a bad command line.
const (
	exitAPIError = 255
	exitUsage    = 2
)

// exitError carries a process exit code out of a command.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

var (
	firstCap = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	endCap   = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

// kebab is botocore's xform_name: CreateEnvironmentTemplate → create-environment-template,
// protonServiceRoleArn → proton-service-role-arn.
func kebab(name string) string {
	s := firstCap.ReplaceAllString(name, "${1}-${2}")
	return strings.ToLower(endCap.ReplaceAllString(s, "${1}-${2}"))
}

// apiCommands are the operation commands, sorted.
func apiCommands() []*cobra.Command {
	names := make([]string, 0, len(api.Operations))
	for n := range api.Operations {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []*cobra.Command
	for _, n := range names {
		op := api.Operations[n]
		out = append(out, &cobra.Command{
			Use:                kebab(op.Name) + " [options]",
			Short:              "Call " + op.Name + " (as `aws proton " + kebab(op.Name) + "`)",
			Long:               operationHelp(op),
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 && (args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
					fmt.Fprint(cmd.OutOrStdout(), operationHelp(op))
					return nil
				}
				return runOperation(cmd.Context(), op, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			},
		})
	}
	return out
}

// operationHelp lists an operation's options, marking the required ones.
func operationHelp(op *api.Operation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "openproton %s: calls the Proton operation %s.\n\nOptions:\n", kebab(op.Name), op.Name)
	for _, m := range types.Shapes[op.Input].Members {
		req := ""
		if m.Required {
			req = " (required)"
		}
		fmt.Fprintf(&b, "  --%s  %s%s\n", kebab(m.Name), describeShape(m.Target), req)
	}
	b.WriteString("\nGlobal options: --endpoint-url URL, --region REGION, --profile NAME, --output json, --no-paginate, --cli-input-json JSON|file://F\n")
	return b.String()
}

func describeShape(target string) string {
	sh := types.Shapes[target]
	switch {
	case sh == nil:
		return strings.ToLower(target)
	case sh.Kind == "enum":
		return "one of " + strings.Join(sh.Enum, ", ")
	case sh.Kind == "list":
		return "list of " + describeShape(sh.Elem) + " (separate words)"
	case sh.Kind == "structure" || sh.Kind == "union":
		return "structure: key=value,... or JSON"
	}
	return sh.Kind
}

// globalOptions are the aws CLI options every command takes.
type globalOptions struct {
	endpoint, region, profile, output, inputJSON, query string
	noPaginate                                          bool
}

// parseArgs splits a command line into global options and member values (a member's
// value is every word up to the next option).
func parseArgs(op *api.Operation, args []string) (*globalOptions, map[string]any, error) {
	g := &globalOptions{output: "json"}
	members := map[string]types.Member{}
	for _, m := range types.Shapes[op.Input].Members {
		members[kebab(m.Name)] = m
	}
	values := map[string]any{}
	for i := 0; i < len(args); {
		arg := args[i]
		name, inline, hasInline := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !strings.HasPrefix(arg, "--") {
			return nil, nil, usageErr("unrecognized arguments: %s", arg)
		}
		i++
		var words []string
		if hasInline {
			words = []string{inline}
		}
		for i < len(args) && !strings.HasPrefix(args[i], "--") {
			words = append(words, args[i])
			i++
		}
		one := func() (string, error) {
			if len(words) != 1 {
				return "", usageErr("argument --%s: expected one argument", name)
			}
			return words[0], nil
		}
		var err error
		switch name {
		case "endpoint-url":
			g.endpoint, err = one()
		case "region":
			g.region, err = one()
		case "profile":
			g.profile, err = one()
		case "output":
			g.output, err = one()
		case "cli-input-json":
			g.inputJSON, err = one()
		case "query":
			g.query, err = one()
		case "no-paginate":
			g.noPaginate = true
		case "debug", "no-verify-ssl", "no-cli-pager":
		default:
			m, ok := members[name]
			neg := false
			if !ok && strings.HasPrefix(name, "no-") {
				m, ok = members[strings.TrimPrefix(name, "no-")]
				neg = ok && shapeKind(m.Target) == "boolean"
			}
			if !ok {
				unknown := append([]string{"--" + name}, words...)
				return nil, nil, &exitError{code: exitAPIError, msg: "Unknown options: " + strings.Join(unknown, ", ")}
			}
			var v any
			if v, err = memberValue(m.Target, words, neg); err != nil {
				return nil, nil, usageErr("argument --%s: %v", name, err)
			}
			values[m.Name] = v
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return g, values, nil
}

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: "aws: error: " + fmt.Sprintf(format, a...)}
}

// shapeKind is a target's kind, prelude shapes included.
func shapeKind(target string) string {
	if sh := types.Shapes[target]; sh != nil {
		return sh.Kind
	}
	return strings.ToLower(target)
}

// fileValue reads file:// and fileb:// values, as the aws CLI does for any value.
func fileValue(s string) (string, error) {
	for _, prefix := range []string{"file://", "fileb://"} {
		if p, ok := strings.CutPrefix(s, prefix); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("unable to load paramfile %s: %w", s, err)
			}
			return string(b), nil
		}
	}
	return s, nil
}

// memberValue converts an option's words to the member's JSON value.
func memberValue(target string, words []string, negated bool) (any, error) {
	kind := shapeKind(target)
	if kind == "boolean" {
		if len(words) == 0 {
			return !negated, nil
		}
		if len(words) == 1 {
			return strconv.ParseBool(words[0])
		}
		return nil, errors.New("expected at most one argument")
	}
	for i, w := range words {
		v, err := fileValue(w)
		if err != nil {
			return nil, err
		}
		words[i] = v
	}
	if kind == "list" {
		if len(words) == 1 && strings.HasPrefix(strings.TrimSpace(words[0]), "[") {
			return decodeJSON(words[0])
		}
		elem := types.Shapes[target].Elem
		out := make([]any, 0, len(words))
		for _, w := range words {
			v, err := scalarOrStructure(elem, w)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	if len(words) != 1 {
		return nil, errors.New("expected one argument")
	}
	return scalarOrStructure(target, words[0])
}

func scalarOrStructure(target, word string) (any, error) {
	switch shapeKind(target) {
	case "integer", "long":
		n, err := strconv.ParseInt(word, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid literal for int(): %q", word)
		}
		return n, nil
	case "boolean":
		return strconv.ParseBool(word)
	case "structure", "union", "map":
		if strings.HasPrefix(strings.TrimSpace(word), "{") {
			return decodeJSON(word)
		}
		return parseShorthand(word)
	case "list":
		if strings.HasPrefix(strings.TrimSpace(word), "[") {
			return decodeJSON(word)
		}
		return []any{word}, nil
	}
	return word, nil
}

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return v, nil
}

// parseShorthand reads the aws CLI shorthand for a structure: key=value pairs separated by
// commas, where a value may be {nested shorthand} or [a,b,...].
func parseShorthand(s string) (any, error) {
	p := &shorthand{s: s}
	v, err := p.object(false)
	if err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("invalid shorthand near %q", p.s[p.i:])
	}
	return v, nil
}

type shorthand struct {
	s string
	i int
}

func (p *shorthand) object(nested bool) (map[string]any, error) {
	out := map[string]any{}
	for p.i < len(p.s) {
		eq := strings.IndexByte(p.s[p.i:], '=')
		if eq < 0 {
			return nil, fmt.Errorf("expected key=value in %q", p.s[p.i:])
		}
		key := strings.TrimSpace(p.s[p.i : p.i+eq])
		p.i += eq + 1
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out[key] = v
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if nested && p.i < len(p.s) && p.s[p.i] == '}' {
			return out, nil
		}
		if p.i < len(p.s) {
			return nil, fmt.Errorf("unexpected %q", p.s[p.i:])
		}
	}
	return out, nil
}

func (p *shorthand) value() (any, error) {
	switch {
	case p.i < len(p.s) && p.s[p.i] == '{':
		p.i++
		v, err := p.object(true)
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.s) || p.s[p.i] != '}' {
			return nil, errors.New("missing }")
		}
		p.i++
		return v, nil
	case p.i < len(p.s) && p.s[p.i] == '[':
		p.i++
		var list []any
		for p.i < len(p.s) && p.s[p.i] != ']' {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			}
		}
		if p.i >= len(p.s) {
			return nil, errors.New("missing ]")
		}
		p.i++
		return list, nil
	}
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",}]", rune(p.s[p.i])) {
		p.i++
	}
	return strings.TrimSpace(p.s[start:p.i]), nil
}

// runOperation calls one operation (every page of it, unless --no-paginate) and prints
// the answer as the aws CLI v1 does.
func runOperation(ctx context.Context, op *api.Operation, args []string, stdout, stderr io.Writer) error {
	g, values, err := parseArgs(op, args)
	if err != nil {
		return err
	}
	if g.output != "json" && g.output != "text" {
		return usageErr("--output %s: openproton prints json and text only so far", g.output)
	}
	var query *jmespath.JMESPath
	if g.query != "" {
		if query, err = jmespath.Compile(g.query); err != nil {
			return usageErr("argument --query: Bad value for --query %s: %v", g.query, err)
		}
	}
	input := map[string]any{}
	if g.inputJSON != "" {
		raw, err := fileValue(g.inputJSON)
		if err != nil {
			return usageErr("%v", err)
		}
		v, err := decodeJSON(raw)
		obj, ok := v.(map[string]any)
		if err != nil || !ok {
			return usageErr("--cli-input-json: not a JSON object")
		}
		input = obj
	}
	for k, v := range values {
		input[k] = v
	}
	var missing []string
	for _, m := range types.Shapes[op.Input].Members {
		if _, ok := input[m.Name]; m.Required && !ok && !m.IdempotencyToken {
			missing = append(missing, "--"+kebab(m.Name))
		}
	}
	if len(missing) > 0 {
		return usageErr("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	c, err := newCaller(ctx, g)
	if err != nil {
		return err
	}
	result, err := c.call(ctx, op, input)
	if err != nil {
		return err
	}
	// As the aws CLI v1: pages are merged unless --no-paginate, or the caller chose a page
	// size or a starting token (then the one page is printed, its next token included).
	p := op.Paginator
	if p != nil && !g.noPaginate && values[p.PageSize] == nil && values[p.InputToken] == nil {
		for {
			next, _ := result[p.OutputToken].(string)
			if next == "" {
				break
			}
			input[p.InputToken] = next
			page, err := c.call(ctx, op, input)
			if err != nil {
				return err
			}
			items, _ := result[p.Items].([]any)
			more, _ := page[p.Items].([]any)
			page[p.Items] = append(items, more...)
			result = page
		}
		delete(result, p.OutputToken)
	}
	if len(result) == 0 {
		return nil // the aws CLI prints nothing for an empty answer
	}
	var out any = result
	if query != nil {
		if out, err = query.Search(result); err != nil {
			return &exitError{code: exitAPIError, msg: fmt.Sprintf("--query %s: %v", g.query, err)}
		}
	}
	var b bytes.Buffer
	if g.output == "text" {
		if err := writeText(&b, out); err != nil {
			return err
		}
	} else {
		writePythonJSON(&b, out, 0, multiselectOrders(g.query))
		b.WriteByte('\n')
	}
	_, err = stdout.Write(b.Bytes())
	return err
}

// writeText prints a result as the aws CLI's text output does for scalars, lists of them
// (one tab-separated line) and lists of such lists (a line each).
func writeText(b *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case []any:
		var row []string
		for _, e := range t {
			if inner, ok := e.([]any); ok {
				if err := writeText(b, inner); err != nil {
					return err
				}
				continue
			}
			s, ok := pythonStr(e)
			if !ok {
				return usageErr("--output text: openproton prints scalars and lists of them as text so far; use --query to select them, or --output json")
			}
			row = append(row, s)
		}
		if len(row) > 0 {
			b.WriteString(strings.Join(row, "\t") + "\n")
		}
		return nil
	}
	s, ok := pythonStr(v)
	if !ok {
		return usageErr("--output text: openproton prints scalars and lists of them as text so far; use --query to select them, or --output json")
	}
	b.WriteString(s + "\n")
	return nil
}

// pythonStr is Python's str() of a scalar, as the text output prints it.
func pythonStr(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return pythonNumber(string(t)), true
	case float64:
		return pythonNumber(strconv.FormatFloat(t, 'g', -1, 64)), true
	case bool:
		if t {
			return "True", true
		}
		return "False", true
	case nil:
		return "None", true
	}
	return "", false
}

// caller signs and sends requests as the aws CLI would.
type caller struct {
	endpoint, region string
	sign             func(ctx context.Context, req *http.Request, body []byte) error
	http             *http.Client
}

func newCaller(ctx context.Context, g *globalOptions) (*caller, error) {
	opts := []func(*awsconfig.LoadOptions) error{}
	if g.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(g.profile))
	}
	if g.region != "" {
		opts = append(opts, awsconfig.WithRegion(g.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &exitError{code: exitAPIError, msg: fmt.Sprintf("load AWS configuration: %v", err)}
	}
	if cfg.Region == "" {
		return nil, &exitError{code: exitAPIError, msg: `You must specify a region. You can also configure your region by running "aws configure".`}
	}
	endpoint := firstNonEmpty(g.endpoint, os.Getenv("AWS_ENDPOINT_URL_PROTON"), os.Getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:8080")
	signer := v4.NewSigner()
	return &caller{endpoint: strings.TrimRight(endpoint, "/"), region: cfg.Region, http: &http.Client{Timeout: time.Minute},
		sign: func(ctx context.Context, req *http.Request, body []byte) error {
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return &exitError{code: exitAPIError, msg: "Unable to locate credentials. You can configure credentials by running \"aws configure\"."}
			}
			sum := sha256.Sum256(body)
			return signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "proton", cfg.Region, time.Now())
		}}, nil
}

func (c *caller) call(ctx context.Context, op *api.Operation, input map[string]any) (map[string]any, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AwsProton20200720."+op.Name)
	if err := c.sign(ctx, req, body); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &exitError{code: exitAPIError, msg: fmt.Sprintf("Could not connect to the endpoint URL: %q", c.endpoint+"/")}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON(string(raw))
	obj, _ := v.(map[string]any)
	if resp.StatusCode != http.StatusOK {
		code, msg := "Unknown", strings.TrimSpace(string(raw))
		if obj != nil {
			if t, ok := obj["__type"].(string); ok {
				code = t[strings.LastIndexByte(t, '#')+1:]
			}
			if m, ok := obj["message"].(string); ok {
				msg = m
			} else if m, ok := obj["Message"].(string); ok {
				msg = m
			}
		}
		return nil, &exitError{code: exitAPIError, msg: fmt.Sprintf("\nAn error occurred (%s) when calling the %s operation: %s", code, op.Name, msg)}
	}
	if err != nil || obj == nil {
		return map[string]any{}, nil
	}
	return obj, nil
}

// writePythonJSON writes v as Python's json.dumps(v, indent=4, ensure_ascii=False) does
// what the aws CLI v1 prints: keys sorted (botocore's Proton model lists members
// alphabetically), except a --query multiselect hash's, which keep the query's order
// (orders, see multiselectOrders).
func writePythonJSON(b *bytes.Buffer, v any, depth int, orders [][]string) {
	indent := func(d int) { b.WriteString(strings.Repeat("    ", d)) }
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		keys = queryOrder(keys, orders)
		b.WriteString("{\n")
		for i, k := range keys {
			indent(depth + 1)
			writePythonString(b, k)
			b.WriteString(": ")
			writePythonJSON(b, t[k], depth+1, orders)
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		indent(depth)
		b.WriteByte('}')
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range t {
			indent(depth + 1)
			writePythonJSON(b, e, depth+1, orders)
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		indent(depth)
		b.WriteByte(']')
	case string:
		writePythonString(b, t)
	case json.Number:
		b.WriteString(pythonNumber(string(t)))
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	case float64: // from a --query function such as length()
		b.WriteString(pythonNumber(strconv.FormatFloat(t, 'g', -1, 64)))
	default:
		fmt.Fprint(b, t)
	}
}

// pythonNumber prints a JSON number as Python prints what json.loads made of it: integers
// as written, floats by repr.
func pythonNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if repr, ok := bundle.PythonFloat(f); ok {
		return repr
	}
	return s
}

// writePythonString escapes as Python's json module does with ensure_ascii=False:
// quotes, backslashes and control characters only.
func writePythonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// queryOrder puts keys (sorted) in the order of the multiselect hash they are all the keys
// of, if any.
func queryOrder(sorted []string, orders [][]string) []string {
	for _, order := range orders {
		if len(order) != len(sorted) {
			continue
		}
		o := slices.Clone(order)
		slices.Sort(o)
		if slices.Equal(o, sorted) {
			return order
		}
	}
	return sorted
}

// multiselectOrders reads the keys of each {key: expression, ...} in a JMESPath query, in
// order, skipping string literals.
func multiselectOrders(query string) [][]string {
	var out [][]string
	var stack [][]string
	var nest []int // open ( and [ inside each brace: their commas separate no keys
	expectKey := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '`':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				return out
			}
			i += j + 1
		case c == '{':
			stack, nest = append(stack, nil), append(nest, 0)
			expectKey = true
		case c == '}' && len(stack) > 0:
			out = append(out, stack[len(stack)-1])
			stack, nest = stack[:len(stack)-1], nest[:len(nest)-1]
			expectKey = false
		case (c == '(' || c == '[') && len(nest) > 0:
			nest[len(nest)-1]++
		case (c == ')' || c == ']') && len(nest) > 0:
			nest[len(nest)-1]--
		case c == ',' && len(stack) > 0 && nest[len(nest)-1] == 0:
			expectKey = true
		case expectKey && (c == '"' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'):
			start := i
			if c == '"' {
				j := strings.IndexByte(query[i+1:], '"')
				if j < 0 {
					return out
				}
				i += j + 1
				stack[len(stack)-1] = append(stack[len(stack)-1], query[start+1:i])
			} else {
				for i+1 < len(query) && (query[i+1] == '_' || query[i+1] >= '0' && query[i+1] <= '9' || query[i+1] >= 'A' && query[i+1] <= 'Z' || query[i+1] >= 'a' && query[i+1] <= 'z') {
					i++
				}
				stack[len(stack)-1] = append(stack[len(stack)-1], query[start:i+1])
			}
			expectKey = false
		}
	}
	return out
}
