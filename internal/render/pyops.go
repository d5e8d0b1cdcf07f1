package render

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// filterArith is the arithmetic operator passed as the first argument, with
// Python's semantics.
func filterArith(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) != 2 {
		return exec.AsValue(errors.New("arithmetic needs an operator and an operand"))
	}
	for _, v := range []*exec.Value{in, params.Args[1]} {
		if isUndefinedValue(v) {
			return undefinedUse(e, v)
		}
	}
	v, err := arith(params.Args[0].String(), in, params.Args[1])
	if err != nil {
		return exec.AsValue(err)
	}
	return exec.AsValue(v)
}

// isInt is Python's isinstance(v, int): bools are ints.
func isInt(v *exec.Value) bool { return v.IsInteger() || v.IsBool() }

func isNum(v *exec.Value) bool { return isInt(v) || v.IsFloat() }

func intOf(v *exec.Value) int {
	if v.IsBool() {
		if v.Bool() {
			return 1
		}
		return 0
	}
	return v.Integer()
}

func floatOf(v *exec.Value) float64 {
	if v.IsFloat() {
		return v.Float()
	}
	return float64(intOf(v))
}

var errOverflow = errors.New("integer result does not fit in 64 bits")

func arith(op string, a, b *exec.Value) (any, error) {
	unsupported := fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
	switch {
	case isInt(a) && isInt(b):
		return intArith(op, intOf(a), intOf(b))
	case isNum(a) && isNum(b):
		return floatArith(op, floatOf(a), floatOf(b))
	}
	switch op {
	case "+":
		switch {
		case a.IsString() && b.IsString():
			return a.String() + b.String(), nil
		case a.IsList() && b.IsList():
			out := make([]any, 0, a.Len()+b.Len())
			for _, l := range []*exec.Value{a, b} {
				for i := range l.Len() {
					out = append(out, l.Index(i).Interface())
				}
			}
			return out, nil
		}
	case "*":
		seq, n := a, b
		if isInt(a) {
			seq, n = b, a
		}
		if !isInt(n) {
			break
		}
		count := max(intOf(n), 0)
		switch {
		case seq.IsString():
			if len(seq.String())*count > maxRepeat {
				return nil, errors.New("repeated string too long")
			}
			return strings.Repeat(seq.String(), count), nil
		case seq.IsList():
			if seq.Len()*count > maxRepeat {
				return nil, errors.New("repeated list too long")
			}
			out := make([]any, 0, seq.Len()*count)
			for range count {
				for i := range seq.Len() {
					out = append(out, seq.Index(i).Interface())
				}
			}
			return out, nil
		}
	case "%":
		if a.IsString() {
			return percentFormat(a.String(), b)
		}
	}
	return nil, unsupported
}

// maxRepeat bounds "x" * n so a template cannot exhaust memory in one step.
const maxRepeat = 64 << 20

func intArith(op string, a, b int) (any, error) {
	switch op {
	case "+":
		s := a + b
		if (b > 0 && s < a) || (b < 0 && s > a) {
			return nil, errOverflow
		}
		return s, nil
	case "-":
		if b == math.MinInt {
			return nil, errOverflow
		}
		return intArith("+", a, -b)
	case "*":
		if a == 0 || b == 0 {
			return 0, nil
		}
		p := a * b
		if p/b != a || (a == -1 && b == math.MinInt) || (b == -1 && a == math.MinInt) {
			return nil, errOverflow
		}
		return p, nil
	case "/":
		if b == 0 {
			return nil, errors.New("division by zero")
		}
		return float64(a) / float64(b), nil
	case "//", "%":
		if b == 0 {
			return nil, errors.New("integer division or modulo by zero")
		}
		q, r := a/b, a%b
		if r != 0 && (r < 0) != (b < 0) {
			q, r = q-1, r+b
		}
		if op == "//" {
			return q, nil
		}
		return r, nil
	case "**":
		if b < 0 {
			if a == 0 {
				return nil, errors.New("0.0 cannot be raised to a negative power")
			}
			return math.Pow(float64(a), float64(b)), nil
		}
		result := 1
		for range b {
			next, err := intArith("*", result, a)
			if err != nil {
				return nil, err
			}
			result = next.(int)
			if result == 0 || result == 1 {
				break
			}
		}
		return result, nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func floatArith(op string, a, b float64) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, errors.New("float division by zero")
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, errors.New("float floor division by zero")
		}
		return math.Floor(a / b), nil
	case "%":
		if b == 0 {
			return nil, errors.New("float modulo")
		}
		m := math.Mod(a, b)
		if m != 0 && (m < 0) != (b < 0) {
			m += b
		}
		return m, nil
	case "**":
		if a == 0 && b < 0 {
			return nil, errors.New("0.0 cannot be raised to a negative power")
		}
		return math.Pow(a, b), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// percentFormat is Python's printf-style `format % args` for the common
// conversions (s r d i f F e E g G x X o c %), flags, width and precision.
func percentFormat(format string, args *exec.Value) (string, error) {
	var list []*exec.Value
	// A tuple supplies several arguments; anything else is one.
	if isTuple(args) {
		for i := range args.Len() {
			list = append(list, args.Index(i))
		}
	} else {
		list = []*exec.Value{args}
	}
	var b strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
			j++
		}
		flags := format[i+1 : j]
		k := j
		for k < len(format) && format[k] >= '0' && format[k] <= '9' {
			k++
		}
		width := format[j:k]
		prec := ""
		if k < len(format) && format[k] == '.' {
			p := k + 1
			for p < len(format) && format[p] >= '0' && format[p] <= '9' {
				p++
			}
			prec, k = format[k:p], p
			if prec == "." {
				prec = ".0"
			}
		}
		if k >= len(format) {
			return "", errors.New("incomplete format")
		}
		verb := format[k]
		i = k
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if next >= len(list) {
			return "", errors.New("not enough arguments for format string")
		}
		arg := list[next]
		next++
		spec := "%" + flags + width + prec
		if len(width) > 4 || len(prec) > 5 {
			return "", errors.New("format width or precision too large")
		}
		switch verb {
		case 's', 'r':
			s := pyStr(arg)
			if verb == 'r' {
				s = pyRepr(arg)
			}
			// Python pads strings with spaces even under the 0 flag.
			fmt.Fprintf(&b, "%"+strings.ReplaceAll(flags, "0", "")+width+prec+"s", s)
		case 'd', 'i', 'x', 'X', 'o':
			if !isNum(arg) {
				return "", fmt.Errorf("%%%c format: a real number is required, not %s", verb, typeName(arg))
			}
			n := intOf(arg)
			if arg.IsFloat() {
				n = int(arg.Float())
			}
			if verb == 'i' {
				verb = 'd'
			}
			fmt.Fprintf(&b, spec+string(verb), n)
		case 'f', 'F', 'e', 'E', 'g', 'G':
			if !isNum(arg) {
				return "", fmt.Errorf("must be real number, not %s", typeName(arg))
			}
			if prec == "" {
				spec += ".6"
			}
			fmt.Fprintf(&b, spec+string(verb), floatOf(arg))
		case 'c':
			switch {
			case arg.IsString() && len([]rune(arg.String())) == 1:
				fmt.Fprintf(&b, spec+"s", arg.String())
			case isInt(arg):
				fmt.Fprintf(&b, spec+"c", rune(intOf(arg)))
			default:
				return "", errors.New("%c requires int or char")
			}
		default:
			return "", fmt.Errorf("unsupported format character '%c'", verb)
		}
	}
	if next < len(list) {
		return "", errors.New("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// compare is Python's ordering for sortable template values: numbers with
// numbers, strings with strings, lists element by element.
func compare(a, b *exec.Value) (int, error) {
	switch {
	case isNum(a) && isNum(b):
		if isInt(a) && isInt(b) {
			return cmpOrdered(intOf(a), intOf(b)), nil
		}
		return cmpOrdered(floatOf(a), floatOf(b)), nil
	case a.IsString() && b.IsString():
		return strings.Compare(a.String(), b.String()), nil
	case a.IsList() && b.IsList():
		for i := range min(a.Len(), b.Len()) {
			if c, err := compare(a.Index(i), b.Index(i)); err != nil || c != 0 {
				return c, err
			}
		}
		return cmpOrdered(a.Len(), b.Len()), nil
	}
	return 0, fmt.Errorf("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
}

func cmpOrdered[T int | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// filterInt is Jinja2's int(default=0, base=10): int(value), else
// int(float(value)), else the default.
func filterInt(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		def  *exec.Value
		base int
	)
	if err := params.Take(
		exec.KeywordArgument("default", exec.AsValue(0), valueArg(&def)),
		exec.KeywordArgument("base", exec.AsValue(10), exec.IntArgument(&base)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	switch {
	case isInt(in):
		return exec.AsValue(intOf(in))
	case in.IsFloat():
		f := in.Float()
		if math.IsNaN(f) {
			return def
		}
		if math.IsInf(f, 0) || math.Abs(f) >= 1<<63 {
			return exec.AsValue(errors.New("cannot convert float infinity to integer"))
		}
		return exec.AsValue(int(f))
	case in.IsString():
		if n, ok := parsePyInt(in.String(), base); ok {
			return exec.AsValue(n)
		}
		if f, ok := parsePyFloat(in.String()); ok && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<63 {
			return exec.AsValue(int(f))
		}
	}
	return def
}

// filterFloat is Jinja2's float(default=0.0): float(value), else the default.
func filterFloat(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var def *exec.Value
	if err := params.Take(exec.KeywordArgument("default", exec.AsValue(0.0), valueArg(&def))); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	switch {
	case isNum(in):
		return exec.AsValue(floatOf(in))
	case in.IsString():
		if f, ok := parsePyFloat(in.String()); ok {
			return exec.AsValue(f)
		}
	}
	return def
}

// parsePyInt is Python's int(s, base) for bases 0 and 2 to 36.
func parsePyInt(s string, base int) (int, bool) {
	s = strings.TrimSpace(s)
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	lower := strings.ToLower(s)
	for _, p := range []struct {
		prefix string
		base   int
	}{{"0x", 16}, {"0o", 8}, {"0b", 2}} {
		if strings.HasPrefix(lower, p.prefix) && (base == 0 || base == p.base) {
			s, base = s[2:], p.base
			if strings.HasPrefix(s, "_") {
				s = s[1:]
			}
			break
		}
	}
	if base == 0 {
		base = 10
	}
	if base < 2 || base > 36 || !validUnderscores(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(sign+strings.ReplaceAll(s, "_", ""), base, 64)
	return int(n), err == nil
}

// parsePyFloat is Python's float(s).
func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "inf", "infinity", "nan":
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	if strings.ContainsAny(s, "xXpP") || !validUnderscores(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return f, err == nil
}

// validUnderscores reports whether every underscore in s sits between two
// digits (of any base up to 36), the only place Python accepts one.
func validUnderscores(s string) bool {
	for i := range len(s) {
		if s[i] == '_' && (i == 0 || i == len(s)-1 || !isAlnum(s[i-1]) || !isAlnum(s[i+1])) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
