package render

import (
	"reflect"
	"strings"
	"unsafe"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Internal filters the patched syntax tree calls. Their names are not
// identifiers, so a template can neither call nor shadow them.
const (
	finalizeFilter  = "render:str"
	concatFilter    = "render:concat"
	arithFilter     = "render:arith"
	tupleFilter     = "render:tuple"
	loopFilter      = "render:loop"
	indexFilter     = "render:index"
	emptyDictFilter = "render:emptydict"
	guardFilter     = "render:guard"
)

// arithOps are the operators whose Python semantics gonja does not follow
// (2 ** 10 is a float there, -7 // 2 is -3, "%s" % x is arithmetic).
var arithOps = map[tokens.Type]string{
	tokens.Addition:      "+",
	tokens.Subtraction:   "-",
	tokens.Multiply:      "*",
	tokens.Division:      "/",
	tokens.FloorDivision: "//",
	tokens.Modulo:        "%",
	tokens.Power:         "**",
}

var (
	expressionType = reflect.TypeFor[nodes.Expression]()
	nodeType       = reflect.TypeFor[nodes.Node]()
	tokenType      = reflect.TypeFor[*tokens.Token]()
	setType        = reflect.TypeFor[controlStructures.SetControlStructure]()
)

// patch rewrites a parsed template where gonja evaluates differently from
// Jinja2, so that gonja's own renderer produces Jinja2's output:
//   - every {{ x }} prints str(x) through a filter (gonja prints None as ""
//     and containers its own way), like Jinja2's finalize step;
//   - x[i] gets a non-negative index (gonja misses x[-len(x)]);
//   - {% raw %} honours whitespace control inside its tags;
//   - expressions are rewritten by rewriteExpression.
//
// Every call also passes a stack-depth guard first, so that runaway
// recursion (a macro calling itself, loop(...) in a recursive for) fails like
// Python's RecursionError instead of overflowing the Go stack, which would
// crash the process.
//
// gonja keeps some control structures' children in unexported fields (the body
// of {% set %} and {% filter %} blocks, the raw text, ...), so the walk
// reaches them through reflection and unsafe, and edits them in place.
func patch(root *nodes.Template, source string) {
	p := &patcher{source: source, seen: map[visit]bool{}}
	p.walk(reflect.ValueOf(root))
}

type visit struct {
	ptr uintptr
	typ reflect.Type
}

type patcher struct {
	source string
	seen   map[visit]bool
}

func (p *patcher) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || v.Type() == tokenType {
			return
		}
		if !v.CanInterface() {
			return
		}
		key := visit{v.Pointer(), v.Type()}
		if p.seen[key] {
			return
		}
		p.seen[key] = true
		switch n := v.Interface().(type) {
		case *nodes.Output:
			n.Expression = finalize(n.Expression)
			if n.Alternative != nil {
				n.Alternative = finalize(n.Alternative)
			}
		case *nodes.Call:
			// A method call (x.f()) must keep its GetAttribute for gonja to
			// dispatch it: guard the receiver instead.
			if attr, ok := n.Func.(*nodes.GetAttribute); ok {
				if recv, ok := attr.Node.(nodes.Expression); ok {
					attr.Node = guard(recv)
				}
			} else if fn, ok := n.Func.(nodes.Expression); ok {
				n.Func = guard(fn)
			}
		case *nodes.GetItem:
			// The index filter sees the target too: it is evaluated twice,
			// which only matters for calls with side effects (x.pop()[0]).
			arg, argOK := n.Arg.(nodes.Expression)
			target, targetOK := n.Node.(nodes.Expression)
			if argOK && targetOK {
				n.Arg = &nodes.FilteredExpression{
					Expression: arg,
					Filters:    []*nodes.FilterCall{{Token: n.Location, Name: indexFilter, Args: []nodes.Expression{target}}},
				}
			}
		case *controlStructures.RawControlStructure:
			p.trimRaw(v.Elem())
		}
		p.walk(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if (v.Type() == expressionType || v.Type() == nodeType) && v.CanSet() && v.CanInterface() {
			if expr, ok := v.Interface().(nodes.Expression); ok {
				if repl := rewriteExpression(expr); repl != expr {
					v.Set(reflect.ValueOf(repl))
				}
			}
		}
		p.walk(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type() == setType && v.Type().Field(i).Name == "target" {
				continue // an assignment target, not a value: leave tuples and names alone
			}
			f := v.Field(i)
			if !f.CanSet() && f.CanAddr() {
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			p.walk(f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			p.walk(v.Index(i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			val := iter.Value()
			if !val.CanInterface() {
				continue
			}
			if expr, ok := val.Interface().(nodes.Expression); ok {
				if repl := rewriteExpression(expr); repl != expr {
					v.SetMapIndex(iter.Key(), reflect.ValueOf(repl))
					val = reflect.ValueOf(repl)
				}
			}
			p.walk(val)
		}
	}
}

// rewriteExpression returns the replacement of expr, or expr itself:
//   - `a ~ b` and arithmetic become calls to filters with Python's semantics;
//   - the name none becomes None, and nil (gonja's None) a name;
//   - loop.previtem/nextitem are looked up where they can be undefined;
//   - tuple literals become pyTuple, {} an empty Go map.
//
// The walk visits replacements too, so no replacement may match a rule again.
func rewriteExpression(expr nodes.Expression) nodes.Expression {
	switch n := expr.(type) {
	case *nodes.Name:
		if n.Name != nil && n.Name.Val == "none" {
			return &nodes.None{Location: n.Name}
		}
	case *nodes.None:
		// gonja parses nil as None; to Jinja2 it is an ordinary name.
		if n.Location != nil && n.Location.Val == "nil" {
			return &nodes.Name{Name: n.Location}
		}
	case *nodes.GetAttribute:
		// loop.previtem and loop.nextitem are undefined at the ends in
		// Jinja2; gonja gives None. Look them up in a dict that lacks them there.
		if name, ok := n.Node.(*nodes.Name); ok && name.Name != nil && name.Name.Val == "loop" &&
			(n.Attribute == "previtem" || n.Attribute == "nextitem") {
			return &nodes.GetAttribute{
				Location:  n.Location,
				Node:      &nodes.FilteredExpression{Expression: name, Filters: []*nodes.FilterCall{{Token: name.Name, Name: loopFilter}}},
				Attribute: n.Attribute,
			}
		}
	case *nodes.Dict:
		if len(n.Pairs) == 0 {
			// A new, empty literal; the filter ignores it and returns a Go map.
			return &nodes.FilteredExpression{
				Expression: &nodes.List{Location: n.Token},
				Filters:    []*nodes.FilterCall{{Token: n.Token, Name: emptyDictFilter}},
			}
		}
	case *nodes.Tuple:
		return &nodes.FilteredExpression{
			Expression: &nodes.List{Location: n.Location, Val: n.Val},
			Filters:    []*nodes.FilterCall{{Token: n.Location, Name: tupleFilter}},
		}
	case *nodes.BinaryExpression:
		if n.Operator == nil || n.Operator.Token == nil {
			return expr
		}
		tok := n.Operator.Token
		if tok.Type == tokens.Tilde {
			return &nodes.FilteredExpression{
				Expression: n.Left,
				Filters:    []*nodes.FilterCall{{Token: tok, Name: concatFilter, Args: []nodes.Expression{n.Right}}},
			}
		}
		if op, ok := arithOps[tok.Type]; ok {
			return &nodes.FilteredExpression{
				Expression: n.Left,
				Filters: []*nodes.FilterCall{{
					Token: tok,
					Name:  arithFilter,
					Args:  []nodes.Expression{&nodes.String{Location: tok, Val: op}, n.Right},
				}},
			}
		}
	}
	return expr
}

// trimRaw applies the whitespace control of {%- raw -%} ... {%- endraw %} to
// the raw text, which gonja prints untrimmed. The tags are read back from the
// source around the raw text's position.
func (p *patcher) trimRaw(raw reflect.Value) {
	f := raw.FieldByName("data")
	if !f.IsValid() || !f.CanAddr() {
		return
	}
	data, _ := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*nodes.Data)
	if data == nil || data.Data == nil {
		return
	}
	tok := data.Data
	start, end := tok.Pos, tok.Pos+len(tok.Val)
	if start < 0 || end > len(p.source) || p.source[start:end] != tok.Val {
		return
	}
	if strings.HasSuffix(p.source[:start], "-%}") {
		tok.Val = strings.TrimLeft(tok.Val, " \t\n\r")
	}
	if strings.HasPrefix(p.source[end:], "{%-") {
		tok.Val = strings.TrimRight(tok.Val, " \t\n\r")
	}
}

// finalize makes an output expression print Python's str() of its value.
func finalize(expr nodes.Expression) nodes.Expression {
	return &nodes.FilteredExpression{
		Expression: expr,
		Filters:    []*nodes.FilterCall{{Token: expr.Position(), Name: finalizeFilter}},
	}
}

// guard makes expr pass the stack-depth guard when evaluated.
func guard(expr nodes.Expression) nodes.Expression {
	return &nodes.FilteredExpression{
		Expression: expr,
		Filters:    []*nodes.FilterCall{{Token: expr.Position(), Name: guardFilter}},
	}
}
