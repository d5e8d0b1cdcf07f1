package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Object is a JSON object whose key order is kept, as Python's dict keeps the
// order json.loads saw. Iterating over an Object in a template follows Fields;
// a plain map[string]any iterates in sorted key order instead.
type Object []Field

// Field is one key of an Object.
type Field struct {
	Key   string
	Value any
}

// DecodeJSON decodes a JSON document into context values the way Python's
// json.loads would: objects keep their key order (as Object), integers stay
// integers and every other number is a float.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSONValue(dec)
	if err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode JSON: trailing data after the document")
	}
	return v, nil
}

func decodeJSONValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := Object{}
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key := keyTok.(string)
				val, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				// Python keeps the first position and the last value of a repeated key.
				if i := slices.IndexFunc(obj, func(f Field) bool { return f.Key == key }); i >= 0 {
					obj[i].Value = val
				} else {
					obj = append(obj, Field{Key: key, Value: val})
				}
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			list := []any{}
			for dec.More() {
				val, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, val)
			}
			_, err := dec.Token()
			return list, err
		}
		return nil, fmt.Errorf("unexpected delimiter %q", t)
	default:
		return t, nil
	}
}

// pyTuple is a Python tuple: a list that prints as (a, b) and spreads over
// the conversions of a % format.
type pyTuple []any

// Dict views: lists that print as Python's dict_keys([...]) and friends.
type (
	dictKeys   []any
	dictValues []any
	dictItems  []any
)

type dictView interface{ viewName() string }

func (dictKeys) viewName() string   { return "dict_keys" }
func (dictValues) viewName() string { return "dict_values" }
func (dictItems) viewName() string  { return "dict_items" }

// missingComponent stands for service_instance.components.default when no
// component is attached: Proton renders the whole object, and its outputs, as
// an empty dict, while any named output stays undefined.
type missingComponent map[string]any

func (missingComponent) GetAttribute(name string) (*exec.Value, bool) {
	if name == "outputs" {
		return exec.AsValue(map[string]any{}), true
	}
	return exec.AsValue(nil), false
}

// toTemplateValue converts a context value into what the template engine
// works on: Python int (Go int), float (float64), str, bool, None (nil), list
// ([]any) and dict (*exec.Dict, which keeps insertion order). An empty dict is
// an empty Go map instead: gonja counts every *exec.Dict as true, Python
// counts {} as false, and an empty dict has no order to keep.
func toTemplateValue(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, string, int:
		return t, nil
	case float64:
		return t, nil
	case float32:
		return float64(t), nil
	case int8, int16, int32, int64, uint8, uint16, uint32:
		return int(reflect.ValueOf(t).Convert(reflect.TypeFor[int64]()).Int()), nil
	case uint:
		if uint64(t) > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d does not fit in int64", t)
		}
		return int(t), nil
	case uint64:
		if t > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d does not fit in int64", t)
		}
		return int(t), nil
	case json.Number:
		return numberValue(t)
	case Object:
		if len(t) == 0 {
			return map[string]any{}, nil
		}
		d := exec.NewDict()
		for _, f := range t {
			val, err := toTemplateValue(f.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Key, err)
			}
			d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue(f.Key), Value: exec.AsValue(val)})
		}
		return d, nil
	case map[string]any:
		if len(t) == 0 {
			return map[string]any{}, nil
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		d := exec.NewDict()
		for _, k := range keys {
			val, err := toTemplateValue(t[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue(k), Value: exec.AsValue(val)})
		}
		return d, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			val, err := toTemplateValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = val
		}
		return out, nil
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out, nil
	case missingComponent:
		return t, nil
	}
	return nil, fmt.Errorf("unsupported context value of type %T", v)
}

// numberValue keeps JSON integers as Python ints (8080, not 8080.0).
func numberValue(n json.Number) (any, error) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return int(i), nil
		}
		return nil, fmt.Errorf("integer %s does not fit in int64", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s: %w", s, err)
	}
	return f, nil
}

// pyStr is Python's str() of a template value.
func pyStr(v *exec.Value) string {
	if v.IsString() {
		return v.String()
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a template value.
func pyRepr(v *exec.Value) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

// maxReprDepth stops self-referencing values (a list appended to itself) the
// way Python's "[...]" does, without tracking identities.
const maxReprDepth = 100

func writeRepr(b *strings.Builder, v *exec.Value, depth int) {
	if depth > maxReprDepth {
		b.WriteString("...")
		return
	}
	switch {
	case v.IsNil():
		b.WriteString("None")
	case v.IsString():
		b.WriteString(quotePy(v.String()))
	case v.IsBool():
		if v.Bool() {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case v.IsInteger():
		b.WriteString(strconv.FormatInt(int64(v.Integer()), 10))
	case v.IsFloat():
		b.WriteString(formatFloat(v.Float()))
	case isDictView(v):
		b.WriteString(v.Interface().(dictView).viewName())
		b.WriteString("([")
		writeItems(b, v, depth)
		b.WriteString("])")
	case isTuple(v):
		b.WriteByte('(')
		writeItems(b, v, depth)
		if v.Len() == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case v.IsList():
		b.WriteByte('[')
		writeItems(b, v, depth)
		b.WriteByte(']')
	case v.IsDict():
		b.WriteByte('{')
		for i, p := range dictPairs(v) {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, p.Key, depth+1)
			b.WriteString(": ")
			writeRepr(b, p.Value, depth+1)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.String())
	}
}

func writeItems(b *strings.Builder, v *exec.Value, depth int) {
	for i := range v.Len() {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, v.Index(i), depth+1)
	}
}

func isDictView(v *exec.Value) bool {
	_, ok := v.Interface().(dictView)
	return ok
}

func isTuple(v *exec.Value) bool {
	_, ok := v.Interface().(pyTuple)
	return ok
}

// dictPairs lists a dict's items in Python iteration order: insertion order
// for *exec.Dict, sorted keys for Go maps (which have no order of their own).
func dictPairs(v *exec.Value) []*exec.Pair {
	var pairs []*exec.Pair
	v.Iterate(func(_, _ int, key, value *exec.Value) bool {
		if value == nil {
			value, _ = v.GetItem(key.Interface())
		}
		pairs = append(pairs, &exec.Pair{Key: key, Value: exec.ToValue(value)})
		return true
	}, func() {})
	return pairs
}

// quotePy is Python's repr() of a str.
func quotePy(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError:
			// Invalid UTF-8 cannot come from Python text; show the replacement character.
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r):
			if r <= 0xff {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// formatFloat is Python's repr() of a float: the shortest round-tripping
// digits, positional between 1e-4 and 1e16, scientific outside.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64) // e.g. -1.2345e+06
	mant, expStr, _ := strings.Cut(sci, "e")
	exp, _ := strconv.Atoi(expStr)
	sign := ""
	if strings.HasPrefix(mant, "-") {
		sign, mant = "-", mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	var out string
	switch point := exp + 1; {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits)) + ".0"
	default:
		out = digits[:point] + "." + digits[point:]
	}
	return sign + out
}
