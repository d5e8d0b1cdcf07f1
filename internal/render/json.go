package render

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// filterToJSON is Jinja2's tojson: json.dumps(sort_keys=True) made safe for
// HTML by escaping <, >, & and '.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var indent *exec.Value
	if err := params.Take(exec.KeywordArgument("indent", exec.AsValue(nil), valueArg(&indent))); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	enc := jsonEncoder{}
	if !indent.IsNil() {
		switch {
		case indent.IsInteger():
			enc.indent = strings.Repeat(" ", max(indent.Integer(), 0))
			enc.pretty = true
		case indent.IsString():
			enc.indent = indent.String()
			enc.pretty = true
		default:
			return exec.AsValue(fmt.Errorf("indent must be an integer or a string, not %s", typeName(indent)))
		}
	}
	if err := enc.encode(in, 0); err != nil {
		return exec.AsValue(err)
	}
	out := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`).Replace(enc.b.String())
	return exec.AsSafeValue(out)
}

// jsonEncoder is Python's json.dumps with sort_keys=True and ensure_ascii=True.
type jsonEncoder struct {
	b      strings.Builder
	indent string
	pretty bool
}

func (e *jsonEncoder) newline(depth int) {
	if e.pretty {
		e.b.WriteByte('\n')
		e.b.WriteString(strings.Repeat(e.indent, depth))
	}
}

func (e *jsonEncoder) encode(v *exec.Value, depth int) error {
	if depth > maxReprDepth {
		return errors.New("Circular reference detected")
	}
	itemSep := ", "
	if e.pretty {
		itemSep = ","
	}
	switch {
	case v.IsError():
		return v
	case v.IsNil():
		e.b.WriteString("null")
	case v.IsBool():
		e.b.WriteString(strconv.FormatBool(v.Bool()))
	case v.IsInteger():
		e.b.WriteString(strconv.FormatInt(int64(v.Integer()), 10))
	case v.IsFloat():
		switch s := formatFloat(v.Float()); s {
		case "nan":
			e.b.WriteString("NaN")
		case "inf":
			e.b.WriteString("Infinity")
		case "-inf":
			e.b.WriteString("-Infinity")
		default:
			e.b.WriteString(s)
		}
	case v.IsString():
		e.b.WriteString(jsonQuote(v.String()))
	case v.IsList():
		if v.Len() == 0 {
			e.b.WriteString("[]")
			return nil
		}
		e.b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				e.b.WriteString(itemSep)
			}
			e.newline(depth + 1)
			if err := e.encode(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte(']')
	case v.IsDict():
		pairs := dictPairs(v)
		if len(pairs) == 0 {
			e.b.WriteString("{}")
			return nil
		}
		keys := make([]string, len(pairs))
		for i, p := range pairs {
			k, err := jsonKey(p.Key)
			if err != nil {
				return err
			}
			keys[i] = k
		}
		order := make([]int, len(pairs))
		for i := range order {
			order[i] = i
		}
		// Python sorts the original keys; mixed key types fail there.
		if err := sortKeys(order, pairs); err != nil {
			return err
		}
		e.b.WriteByte('{')
		for n, i := range order {
			if n > 0 {
				e.b.WriteString(itemSep)
			}
			e.newline(depth + 1)
			e.b.WriteString(jsonQuote(keys[i]))
			e.b.WriteString(": ")
			if err := e.encode(pairs[i].Value, depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte('}')
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

// jsonKey converts a dict key as json.dumps does.
func jsonKey(k *exec.Value) (string, error) {
	switch {
	case k.IsString():
		return k.String(), nil
	case k.IsBool():
		return strconv.FormatBool(k.Bool()), nil
	case k.IsInteger():
		return strconv.Itoa(k.Integer()), nil
	case k.IsFloat():
		return formatFloat(k.Float()), nil
	case k.IsNil():
		return "null", nil
	}
	return "", fmt.Errorf("keys must be str, int, float, bool or None, not %s", typeName(k))
}

func sortKeys(order []int, pairs []*exec.Pair) error {
	var err error
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := pairs[a].Key, pairs[b].Key
		switch {
		case ka.IsString() && kb.IsString():
			return strings.Compare(ka.String(), kb.String())
		case ka.IsNumber() && kb.IsNumber():
			fa, fb := ka.Float(), kb.Float()
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
		err = fmt.Errorf("'<' not supported between instances of '%s' and '%s'", typeName(ka), typeName(kb))
		return 0
	})
	return err
}

// jsonQuote is json.dumps of a str with ensure_ascii=True.
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
