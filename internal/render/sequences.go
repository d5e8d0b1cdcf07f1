package render

import (
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// undefinedValue is an undefined result of a filter, such as the first item
// of an empty list. gonja flattens errors that filters return into strings,
// so it travels as a value instead; `default` and `is defined` see it as
// undefined, and printing or computing with it fails as in Jinja2.
type undefinedValue struct{ hint string }

func isUndefinedValue(v *exec.Value) bool {
	_, ok := v.Interface().(undefinedValue)
	return ok
}

// undefinedUse fails the use of an undefinedValue.
func undefinedUse(e *exec.Evaluator, v *exec.Value) *exec.Value {
	return fail(e, &undefinedError{hint: v.Interface().(undefinedValue).hint})
}

// filterFirst is Jinja2's first: undefined for an empty sequence.
func filterFirst(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	return pick(in, params, func(items []*exec.Value) *exec.Value { return items[0] }, "No first item, sequence was empty.")
}

// filterLast is Jinja2's last.
func filterLast(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	return pick(in, params, func(items []*exec.Value) *exec.Value { return items[len(items)-1] }, "No last item, sequence was empty.")
}

func pick(in *exec.Value, params *exec.VarArgs, choose func([]*exec.Value) *exec.Value, empty string) *exec.Value {
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
	if len(items) == 0 {
		return exec.AsValue(undefinedValue{hint: empty})
	}
	return choose(items)
}

// filterMin is Jinja2's min(case_sensitive=False, attribute=None).
func filterMin(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	return extreme(in, params, -1)
}

// filterMax is Jinja2's max(case_sensitive=False, attribute=None).
func filterMax(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	return extreme(in, params, 1)
}

// extreme returns the item whose key compares as sign (-1 min, 1 max); the
// first such item wins ties, as in Python.
func extreme(in *exec.Value, params *exec.VarArgs, sign int) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		caseSensitive bool
		attr          *exec.Value
	)
	if err := params.Take(
		exec.KeywordArgument("case_sensitive", exec.AsValue(false), truthArg(&caseSensitive)),
		exec.KeywordArgument("attribute", exec.AsValue(nil), valueArg(&attr)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	items, err := iterate(in)
	if err != nil {
		return exec.AsValue(err)
	}
	if len(items) == 0 {
		return exec.AsValue(undefinedValue{hint: "No aggregated item, sequence was empty."})
	}
	key := func(v *exec.Value) *exec.Value {
		if !attr.IsNil() {
			v, _ = v.Get(pyStr(attr))
		}
		if !caseSensitive && v.IsString() {
			return exec.AsValue(strings.ToLower(v.String()))
		}
		return v
	}
	best := items[0]
	for _, item := range items[1:] {
		c, err := compare(key(item), key(best))
		if err != nil {
			return exec.AsValue(err)
		}
		if c == sign {
			best = item
		}
	}
	return best
}
