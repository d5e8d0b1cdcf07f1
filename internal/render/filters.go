package render

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/parser"
)

// environment is gonja's built-in environment with the filters, tests and
// methods that differ from Jinja2 replaced and Proton's filters added. It is
// built once and only read afterwards.
var environment = newEnvironment()

func newEnvironment() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	for name, fn := range map[string]exec.FilterFunction{
		finalizeFilter:      filterFinalize,
		concatFilter:        filterConcat,
		arithFilter:         filterArith,
		tupleFilter:         filterTuple,
		loopFilter:          filterLoopItems,
		indexFilter:         filterIndex,
		emptyDictFilter:     filterEmptyDict,
		guardFilter:         filterGuard,
		"center":            filterCenter,
		"default":           filterDefault,
		"d":                 filterDefault,
		"string":            filterString,
		"join":              filterJoin,
		"tojson":            filterToJSON,
		"truncate":          filterTruncate,
		"items":             filterItems,
		"length":            filterLength,
		"count":             filterLength,
		"list":              filterList,
		"dictsort":          filterDictSort,
		"format":            filterFormat,
		"round":             filterRound,
		"urlencode":         filterURLEncode,
		"first":             filterFirst,
		"last":              filterLast,
		"min":               filterMin,
		"max":               filterMax,
		"int":               filterInt,
		"float":             filterFloat,
		"upper":             stringFilter(strings.ToUpper),
		"lower":             stringFilter(strings.ToLower),
		ecsEnvVarsFilter:    filterECSEnvVars,
		lambdaEnvVarsFilter: filterLambdaEnvVars,
		iamPolicyARNsFilter: filterIAMPolicyARNs,
		sanitizeFilter:      filterSanitize,
	} {
		if filters.Exists(name) {
			must(filters.Replace(name, fn))
		} else {
			must(filters.Register(name, fn))
		}
	}
	// Jinja2 applies these to str(value); gonja prints None and containers its own way.
	for _, name := range []string{"capitalize", "indent", "replace", "striptags", "title", "trim", "wordcount", "wordwrap"} {
		fn, ok := filters.Get(name)
		if !ok {
			panic("gonja has no filter " + name)
		}
		must(filters.Replace(name, strInput(fn)))
	}

	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	must(tests.Replace("defined", testDefined))
	must(tests.Replace("undefined", testUndefined))
	must(tests.Replace("none", testNone))

	methods := builtins.Methods
	methods.Dict = dictMethods()
	methods.Str = strMethods()

	// Only Jinja2's default tags and globals: break, continue, do and trans
	// come from extensions, _ and gettext from i18n.
	tags := map[string]parser.ControlStructureParser{}
	for _, name := range []string{"autoescape", "block", "call", "extends", "filter", "for", "from", "if", "import", "include", "macro", "raw", "set", "with"} {
		p, ok := builtins.ControlStructures.Get(name)
		if !ok {
			panic("gonja has no control structure " + name)
		}
		tags[name] = p
	}
	globals := map[string]any{"range": pyRange}
	for _, name := range []string{"cycler", "dict", "joiner", "lipsum", "namespace"} {
		fn, ok := builtins.GlobalFunctions.Get(name)
		if !ok {
			panic("gonja has no global " + name)
		}
		globals[name] = fn
	}

	return &exec.Environment{
		Context:           exec.NewContext(globals),
		Filters:           filters,
		Tests:             tests,
		ControlStructures: exec.NewControlStructureSet(tags),
		Methods:           methods,
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// filterFinalize is what every {{ }} prints: Python's str() of the value.
func filterFinalize(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if isUndefinedValue(in) {
		return undefinedUse(e, in)
	}
	out := exec.AsValue(pyStr(in))
	out.Safe = in.Safe
	return out
}

// filterConcat is the `~` operator.
func filterConcat(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	for _, v := range []*exec.Value{in, params.First()} {
		if isUndefinedValue(v) {
			return undefinedUse(e, v)
		}
	}
	return exec.AsValue(pyStr(in) + pyStr(params.First()))
}

// filterDefault replaces undefined values only; None and failed expressions
// are not undefined (gonja treats all three alike).
func filterDefault(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	var (
		def     *exec.Value
		boolean bool
	)
	if err := params.Take(
		exec.PositionalArgument("default_value", exec.AsValue(""), valueArg(&def)),
		exec.KeywordArgument("boolean", exec.AsValue(false), truthArg(&boolean)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if isUndefined(in) {
		return def
	}
	if in.IsError() {
		return in
	}
	if boolean && !truthy(in) {
		return def
	}
	return in
}

func testDefined(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	if isUndefined(in) {
		return false, nil
	}
	if in.IsError() {
		return false, in
	}
	return true, nil
}

func testUndefined(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) (bool, error) {
	defined, err := testDefined(e, in, params)
	return !defined, err
}

func testNone(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	if in.IsError() {
		return false, in
	}
	return in.IsNil(), nil
}

func filterString(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	return exec.AsValue(pyStr(in))
}

// strInput makes fn see str(value) instead of value.
func strInput(fn exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		if !in.IsString() {
			in = exec.AsValue(pyStr(in))
		}
		return fn(e, in, params)
	}
}

func stringFilter(fn func(string) string) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		if err := params.Take(); err != nil {
			return exec.AsValue(exec.ErrInvalidCall(err))
		}
		return exec.AsValue(fn(pyStr(in)))
	}
}

// filterJoin is Jinja2's join(d="", attribute=None).
func filterJoin(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		sep  string
		attr *exec.Value
	)
	if err := params.Take(
		exec.PositionalArgument("d", exec.AsValue(""), func(v *exec.Value) error { sep = pyStr(v); return nil }),
		exec.KeywordArgument("attribute", exec.AsValue(nil), valueArg(&attr)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	items, err := iterate(in)
	if err != nil {
		return exec.AsValue(err)
	}
	parts := make([]string, len(items))
	for i, item := range items {
		if !attr.IsNil() {
			item, _ = item.Get(pyStr(attr))
		}
		parts[i] = pyStr(item)
	}
	return exec.AsValue(strings.Join(parts, sep))
}

// filterTruncate is Jinja2's truncate(length=255, killwords=False, end='...', leeway=5).
func filterTruncate(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		length, leeway int
		killwords      bool
		end            string
	)
	if err := params.Take(
		exec.KeywordArgument("length", exec.AsValue(255), exec.IntArgument(&length)),
		exec.KeywordArgument("killwords", exec.AsValue(false), truthArg(&killwords)),
		exec.KeywordArgument("end", exec.AsValue("..."), exec.StringArgument(&end)),
		exec.KeywordArgument("leeway", exec.AsValue(5), exec.IntArgument(&leeway)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	// Jinja2 takes len() of the value itself: a string, or a short enough list.
	if !in.IsString() {
		if (in.IsList() || in.IsDict()) && in.Len() <= length+leeway {
			return in
		}
		return exec.AsValue(fmt.Errorf("object of type '%s' has no len()", typeName(in)))
	}
	s := []rune(in.String())
	endLen := utf8.RuneCountInString(end)
	if length < endLen {
		return exec.AsValue(fmt.Errorf("expected length >= %d, got %d", endLen, length))
	}
	if leeway < 0 {
		return exec.AsValue(fmt.Errorf("expected leeway >= 0, got %d", leeway))
	}
	if len(s) <= length+leeway {
		return exec.AsValue(string(s))
	}
	head := string(s[:length-endLen])
	if killwords {
		return exec.AsValue(head + end)
	}
	// Python: s[:length - len(end)].rsplit(" ", 1)[0]
	if i := strings.LastIndex(head, " "); i >= 0 {
		head = head[:i]
	}
	return exec.AsValue(head + end)
}

// filterItems is Jinja2's items(): (key, value) pairs in dict order.
func filterItems(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !in.IsDict() {
		return exec.AsValue(fmt.Errorf("can only get item pairs from a mapping, not %s", typeName(in)))
	}
	return exec.AsValue(itemPairs(in))
}

func itemPairs(in *exec.Value) []any {
	pairs := dictPairs(in)
	out := make([]any, len(pairs))
	for i, p := range pairs {
		out[i] = pyTuple{p.Key.Interface(), p.Value.Interface()}
	}
	return out
}

// filterLoopItems gives the loop's previtem and nextitem as a dict holding
// only those that exist.
func filterLoopItems(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	loop, ok := in.Interface().(exec.AttributeGetter)
	if in.IsError() || !ok {
		return in
	}
	out := map[string]any{}
	if first, ok := loop.GetAttribute("first"); ok && !first.IsTrue() {
		prev, _ := loop.GetAttribute("previtem")
		out["previtem"] = prev.Interface()
	}
	if last, ok := loop.GetAttribute("last"); ok && !last.IsTrue() {
		next, _ := loop.GetAttribute("nextitem")
		out["nextitem"] = next.Interface()
	}
	return exec.AsValue(out)
}

// filterIndex turns a negative index into the sequence (the argument) into
// the same position counted from the start.
func filterIndex(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	seq := params.First()
	if in.IsError() || !in.IsInteger() || in.Integer() >= 0 || !(seq.IsList() || seq.IsString()) {
		return in
	}
	if i := seq.Len() + in.Integer(); i >= 0 {
		return exec.AsValue(i)
	}
	return in
}

// filterCenter is Python's str.center(width), which puts an odd extra space
// on the right unless width is odd.
func filterCenter(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	width := 80
	if err := params.Take(exec.KeywordArgument("width", exec.AsValue(80), exec.IntArgument(&width))); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	s := pyStr(in)
	n := utf8.RuneCountInString(s)
	if width <= n {
		return exec.AsValue(s)
	}
	if width > maxRepeat {
		return exec.AsValue(errors.New("center: width too large"))
	}
	marg := width - n
	left := marg/2 + (marg & width & 1)
	return exec.AsValue(strings.Repeat(" ", left) + s + strings.Repeat(" ", marg-left))
}

// maxStackFrames bounds template recursion. A level of macro recursion takes
// some 17 Go frames in gonja, so this allows about 350 levels; Python's
// default recursion limit stops Jinja2 between 200 and 300. gonja slows
// down quadratically with depth, so a higher bound would only buy time to
// fail.
const maxStackFrames = 6000

// errRecursion is Python's RecursionError.
var errRecursion = errors.New("maximum recursion depth exceeded")

// filterGuard fails when the stack is deeper than maxStackFrames.
func filterGuard(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	var pc [1]uintptr
	if runtime.Callers(maxStackFrames, pc[:]) > 0 {
		return fail(e, errRecursion)
	}
	return in
}

// filterEmptyDict turns the literal {} into an empty Go map, which gonja
// counts as false like Python does (it counts every *exec.Dict as true).
func filterEmptyDict(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	return exec.AsValue(map[string]any{})
}

// filterTuple turns a tuple literal's list into a pyTuple.
func filterTuple(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	t := make(pyTuple, in.Len())
	for i := range t {
		t[i] = in.Index(i).Interface()
	}
	return exec.AsValue(t)
}

// filterLength is Python's len(): an error for values without a length.
func filterLength(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !in.IsString() && !in.IsList() && !in.IsDict() {
		return exec.AsValue(fmt.Errorf("object of type '%s' has no len()", typeName(in)))
	}
	return exec.AsValue(in.Len())
}

// filterList is Python's list(): characters of a string, keys of a dict in order.
func filterList(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	items, err := iterate(in)
	if err != nil {
		return exec.AsValue(err)
	}
	out := make([]any, len(items))
	for i, item := range items {
		out[i] = item.Interface()
	}
	return exec.AsValue(out)
}

// iterate lists what a Python for loop over v yields.
func iterate(v *exec.Value) ([]*exec.Value, error) {
	switch {
	case v.IsString():
		var out []*exec.Value
		for _, r := range v.String() {
			out = append(out, exec.AsValue(string(r)))
		}
		return out, nil
	case v.IsList():
		out := make([]*exec.Value, v.Len())
		for i := range out {
			out[i] = v.Index(i)
		}
		return out, nil
	case v.IsDict():
		pairs := dictPairs(v)
		out := make([]*exec.Value, len(pairs))
		for i, p := range pairs {
			out[i] = p.Key
		}
		return out, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

// truthy is Python's bool().
func truthy(v *exec.Value) bool {
	switch {
	case v.IsNil() || v.IsError():
		return false
	case v.IsDict() || v.IsList() || v.IsString():
		return v.Len() > 0
	}
	return v.IsTrue()
}

// typeName is Python's type(v).__name__ for template values.
func typeName(v *exec.Value) string {
	switch {
	case v.IsNil():
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInteger():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "dict"
	}
	return fmt.Sprintf("%T", v.Interface())
}

func valueArg(out **exec.Value) exec.ArgumentTransmuter {
	return func(v *exec.Value) error { *out = v; return nil }
}

func truthArg(out *bool) exec.ArgumentTransmuter {
	return func(v *exec.Value) error { *out = truthy(v); return nil }
}

// dictMethods replaces gonja's keys/values/items/get, which sort the keys,
// with insertion-ordered ones; the mutating methods stay gonja's.
func dictMethods() *exec.MethodSet[map[string]any] {
	methods := map[string]exec.Method[map[string]any]{
		"keys": func(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			if err := args.Take(); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			keys := dictKeys{}
			for _, p := range dictPairs(self) {
				keys = append(keys, p.Key.Interface())
			}
			return keys, nil
		},
		"values": func(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			if err := args.Take(); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			values := dictValues{}
			for _, p := range dictPairs(self) {
				values = append(values, p.Value.Interface())
			}
			return values, nil
		},
		"items": func(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			if err := args.Take(); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			return dictItems(itemPairs(self)), nil
		},
		"get": func(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			var key, def *exec.Value
			if err := args.Take(
				exec.PositionalArgument("key", nil, valueArg(&key)),
				exec.PositionalArgument("default", exec.AsValue(nil), valueArg(&def)),
			); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			for _, p := range dictPairs(self) {
				if p.Key.EqualValueTo(key) {
					return p.Value.Interface(), nil
				}
			}
			return def.Interface(), nil
		},
	}
	for _, name := range []string{"clear", "copy", "pop", "setdefault", "update"} {
		if m, ok := builtins.Methods.Dict.Get(name); ok {
			methods[name] = m
		}
	}
	return exec.NewMethodSet(methods)
}

// filterDictSort is Jinja2's dictsort(case_sensitive=False, by='key', reverse=False).
func filterDictSort(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		caseSensitive, reverse bool
		by                     string
	)
	if err := params.Take(
		exec.KeywordArgument("case_sensitive", exec.AsValue(false), truthArg(&caseSensitive)),
		exec.KeywordArgument("by", exec.AsValue("key"), exec.StringEnumArgument(&by, []string{"key", "value"})),
		exec.KeywordArgument("reverse", exec.AsValue(false), truthArg(&reverse)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !in.IsDict() {
		return exec.AsValue(fmt.Errorf("'%s' object has no attribute 'items'", typeName(in)))
	}
	pairs := dictPairs(in)
	sortKey := func(p *exec.Pair) *exec.Value {
		v := p.Key
		if by == "value" {
			v = p.Value
		}
		if !caseSensitive && v.IsString() {
			return exec.AsValue(strings.ToLower(v.String()))
		}
		return v
	}
	var err error
	slices.SortStableFunc(pairs, func(a, b *exec.Pair) int {
		c, cerr := compare(sortKey(a), sortKey(b))
		if cerr != nil {
			err = cerr
		}
		if reverse {
			return -c
		}
		return c
	})
	if err != nil {
		return exec.AsValue(err)
	}
	out := make([]any, len(pairs))
	for i, p := range pairs {
		out[i] = pyTuple{p.Key.Interface(), p.Value.Interface()}
	}
	return exec.AsValue(out)
}

// filterFormat is Jinja2's format: printf-style, like the % operator.
func filterFormat(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.KwArgs) > 0 {
		return exec.AsValue(errors.New("format: keyword arguments are not supported"))
	}
	args := make(pyTuple, len(params.Args))
	for i, a := range params.Args {
		args[i] = a.Interface()
	}
	out, err := percentFormat(pyStr(in), exec.AsValue(args))
	if err != nil {
		return exec.AsValue(err)
	}
	return exec.AsValue(out)
}

// strMethods is gonja's str methods with replace() taking Python's optional count.
func strMethods() *exec.MethodSet[string] {
	methods := map[string]exec.Method[string]{
		"replace": func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			var old, repl string
			count := -1
			if err := args.Take(
				exec.PositionalArgument("old", nil, exec.StringArgument(&old)),
				exec.PositionalArgument("new", nil, exec.StringArgument(&repl)),
				exec.PositionalArgument("count", exec.AsValue(-1), exec.IntArgument(&count)),
			); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			return strings.Replace(self, old, repl, max(count, -1)), nil
		},
	}
	for _, name := range gonjaStrMethods {
		if _, ok := methods[name]; ok {
			continue
		}
		if m, ok := builtins.Methods.Str.Get(name); ok {
			methods[name] = m
		}
	}
	return exec.NewMethodSet(methods)
}

// gonjaStrMethods lists gonja v2.9.1's str methods (its set cannot be listed).
var gonjaStrMethods = []string{
	"capitalize", "capwords", "casefold", "center", "count", "encode", "endswith",
	"expandtabs", "find", "format", "format_map", "isalnum", "isalpha", "isascii",
	"isdecimal", "isdigit", "islower", "isnumeric", "isprintable", "isspace",
	"istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
	"removeprefix", "removesuffix", "replace", "rfind", "rjust", "rpartition",
	"rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
	"title", "upper", "zfill",
}

// filterRound is Jinja2's round(precision=0, method='common'), where common
// is Python's round(): half to even, on the float's exact binary value.
func filterRound(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		precision int
		method    string
	)
	if err := params.Take(
		exec.KeywordArgument("precision", exec.AsValue(0), exec.IntArgument(&precision)),
		exec.KeywordArgument("method", exec.AsValue("common"), exec.StringEnumArgument(&method, []string{"common", "ceil", "floor"})),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !isNum(in) {
		return exec.AsValue(fmt.Errorf("type %s doesn't define __round__ method", typeName(in)))
	}
	if method == "common" {
		if isInt(in) && precision >= 0 {
			return exec.AsValue(intOf(in))
		}
		if precision < 0 || precision > 300 {
			return exec.AsValue(errors.New("round: precision out of range"))
		}
		f, _ := strconv.ParseFloat(strconv.FormatFloat(floatOf(in), 'f', precision, 64), 64)
		return exec.AsValue(f)
	}
	scale := math.Pow(10, float64(precision))
	if method == "ceil" {
		return exec.AsValue(math.Ceil(floatOf(in)*scale) / scale)
	}
	return exec.AsValue(math.Floor(floatOf(in)*scale) / scale)
}

// maxRange bounds range() so a template cannot allocate without limit.
const maxRange = 1_000_000

// pyRange is Python's range() as a list (gonja's is a channel, which a second
// iteration finds empty).
func pyRange(args *exec.VarArgs) (any, error) {
	var start, stop, step int
	step = 1
	ints := make([]int, len(args.Args))
	for i, a := range args.Args {
		if !isInt(a) {
			return nil, fmt.Errorf("'%s' object cannot be interpreted as an integer", typeName(a))
		}
		ints[i] = intOf(a)
	}
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, fmt.Errorf("range expected 1 to 3 arguments, got %d", len(ints))
	}
	if step == 0 {
		return nil, errors.New("range() arg 3 must not be zero")
	}
	out := []any{}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) == maxRange {
			return nil, fmt.Errorf("range() of more than %d items", maxRange)
		}
		out = append(out, i)
	}
	return out, nil
}

// filterURLEncode is Jinja2's urlencode: a quoted string, or a query string
// from a dict (in its order) or a list of pairs.
func filterURLEncode(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !in.IsDict() && !in.IsList() {
		return exec.AsValue(urlQuote(pyStr(in), false))
	}
	var pairs []*exec.Pair
	if in.IsDict() {
		pairs = dictPairs(in)
	} else {
		for i := range in.Len() {
			item := in.Index(i)
			if !item.IsList() || item.Len() != 2 {
				return exec.AsValue(errors.New("urlencode: items must be (key, value) pairs"))
			}
			pairs = append(pairs, &exec.Pair{Key: item.Index(0), Value: item.Index(1)})
		}
	}
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = urlQuote(pyStr(p.Key), true) + "=" + urlQuote(pyStr(p.Value), true)
	}
	return exec.AsValue(strings.Join(parts, "&"))
}

// urlQuote is Python's urllib.parse.quote with safe="/" (or "" and spaces as
// "+" in a query string).
func urlQuote(s string, query bool) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("_.-~", c) >= 0, c == '/' && !query:
			b.WriteByte(c)
		case c == ' ' && query:
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
