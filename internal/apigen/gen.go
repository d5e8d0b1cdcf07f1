package main

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

type generator struct {
	m        *smithyModel
	ops      []string        // operation shape ids, sorted
	inputs   map[string]bool // structure/union ids reachable from an operation input
	patterns map[string]string
	errors   []string // error shape ids, sorted
}

func newGenerator(m *smithyModel) *generator {
	g := &generator{m: m, ops: m.operations(), inputs: map[string]bool{}, patterns: map[string]string{}}
	for _, op := range g.ops {
		g.markInput(m.shape(op).Input.Target)
	}
	for id, s := range m.Shapes {
		if s.Traits.has("smithy.api#error") {
			g.errors = append(g.errors, id)
		}
	}
	sort.Strings(g.errors)
	return g
}

func (g *generator) markInput(id string) {
	if g.inputs[id] || strings.HasPrefix(id, "smithy.api#") {
		return
	}
	s := g.m.shape(id)
	switch s.Type {
	case "structure", "union":
		g.inputs[id] = true
		for _, n := range s.Members.names {
			g.markInput(s.Members.byName[n].Target)
		}
	case "list":
		g.inputs[id] = true
		g.markInput(s.Member.Target)
	}
}

// kind classifies a target shape id.
func (g *generator) kind(id string) string {
	switch id {
	case "smithy.api#String":
		return "string"
	case "smithy.api#Timestamp":
		return "timestamp"
	case "smithy.api#Integer":
		return "integer"
	case "smithy.api#Boolean":
		return "boolean"
	}
	s := g.m.shape(id)
	if s.Type == "string" && s.Traits.has("smithy.api#enum") {
		return "enum"
	}
	return s.Type
}

func (g *generator) traitsOf(id string) traits {
	if strings.HasPrefix(id, "smithy.api#") {
		return nil
	}
	return g.m.shape(id).Traits
}

// lengthOf merges the target's length trait with one placed on the member.
func (g *generator) lengthOf(target string, mt traits) *lengthTrait {
	var l lengthTrait
	if mt.decode("smithy.api#length", &l) {
		return &l
	}
	if g.traitsOf(target).decode("smithy.api#length", &l) {
		return &l
	}
	return nil
}

// pointerString reports whether a string member must be a *string so that a present empty
// value can be told from a missing one: its shape explicitly allows "" (Tag values, the
// *OrEmpty shapes that clear a setting, descriptions) and it is part of an input.
func (g *generator) pointerString(target string, mt traits, inInput bool) bool {
	if !inInput || g.kind(target) != "string" {
		return false
	}
	l := g.lengthOf(target, mt)
	return l != nil && l.Min != nil && *l.Min == 0
}

// goType returns the Go type of a member's value.
func (g *generator) goType(target string, mt traits, inInput bool) string {
	required := mt.has("smithy.api#required")
	switch g.kind(target) {
	case "string":
		if g.pointerString(target, mt, inInput) {
			return "*string"
		}
		return "string"
	case "enum":
		return localName(target)
	case "timestamp":
		return "Timestamp"
	case "integer":
		if required {
			return "int32"
		}
		return "*int32"
	case "boolean":
		if required {
			return "bool"
		}
		return "*bool"
	case "structure", "union":
		return "*" + localName(target)
	case "list":
		return "[]" + g.elemType(g.m.shape(target).Member.Target, inInput)
	}
	panic("unsupported target " + target)
}

func (g *generator) elemType(target string, inInput bool) string {
	switch g.kind(target) {
	case "structure", "union":
		return localName(target)
	default:
		// List elements are always present, so never pointers.
		return g.goType(target, nil, false)
	}
}

func (g *generator) genShapes(b *bytes.Buffer) {
	var ids []string
	for id, s := range g.m.Shapes {
		if strings.HasPrefix(id, ns) && (s.Type == "structure" || s.Type == "union") && !s.Traits.has("smithy.api#error") {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := g.m.shape(id)
		name := localName(id)
		if s.Type == "union" {
			fmt.Fprintf(b, "// %s is a union: exactly one member is set.\n", name)
		}
		fmt.Fprintf(b, "type %s struct {\n", name)
		for _, mn := range s.Members.names {
			mem := s.Members.byName[mn]
			tag := mn
			if !mem.Traits.has("smithy.api#required") || s.Type == "union" {
				tag += ",omitzero"
			}
			fmt.Fprintf(b, "\t%s %s `json:%q`\n", exported(mn), g.goType(mem.Target, mem.Traits, g.inputs[id]), tag)
		}
		b.WriteString("}\n\n")
	}

	// Enums.
	var enums []string
	for id, s := range g.m.Shapes {
		if s.Type == "string" && s.Traits.has("smithy.api#enum") {
			enums = append(enums, id)
		}
	}
	sort.Strings(enums)
	for _, id := range enums {
		name := localName(id)
		var vals []enumValue
		g.m.shape(id).Traits.decode("smithy.api#enum", &vals)
		fmt.Fprintf(b, "type %s string\n\nconst (\n", name)
		for _, v := range vals {
			fmt.Fprintf(b, "\t%s%s %s = %q\n", name, constName(v), name, v.Value)
		}
		b.WriteString(")\n\n")
		fmt.Fprintf(b, "// Values lists every %s the model allows.\nfunc (%s) Values() []%s {\n\treturn []%s{", name, name, name, name)
		for i, v := range vals {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%q", v.Value)
		}
		b.WriteString("}\n}\n\n")
	}
}

func constName(v enumValue) string {
	n := v.Name
	if n == "" {
		n = v.Value
	}
	var out strings.Builder
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '_' || r == '-' || r == ' ' }) {
		out.WriteString(strings.ToUpper(part[:1]) + strings.ToLower(part[1:]))
	}
	return out.String()
}

func (g *generator) genErrors(b *bytes.Buffer) {
	for _, id := range g.errors {
		s := g.m.shape(id)
		name := localName(id)
		var status int
		s.Traits.decode("smithy.api#httpError", &status)
		fmt.Fprintf(b, "type %s struct {\n", name)
		for _, mn := range s.Members.names {
			mem := s.Members.byName[mn]
			fmt.Fprintf(b, "\t%s %s `json:%q`\n", exported(mn), g.goType(mem.Target, mem.Traits, false), mn)
		}
		b.WriteString("}\n\n")
		fmt.Fprintf(b, "func (e *%s) Error() string { return %q + \": \" + e.Message }\n", name, name)
		fmt.Fprintf(b, "func (e *%s) ErrorCode() string { return %q }\n", name, name)
		fmt.Fprintf(b, "func (e *%s) HTTPStatus() int { return %d }\n", name, status)
		fmt.Fprintf(b, "func (e *%s) ErrorMessage() string { return e.Message }\n\n", name)
	}
}

func (g *generator) patternVar(p string) string {
	if v, ok := g.patterns[p]; ok {
		return v
	}
	v := "pattern" + strconv.Itoa(len(g.patterns))
	g.patterns[p] = v
	return v
}

func (g *generator) genValidators(b *bytes.Buffer) {
	var ids []string
	for id := range g.inputs {
		if k := g.m.shape(id).Type; k == "structure" || k == "union" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var body bytes.Buffer
	for _, op := range g.ops {
		in := localName(g.m.shape(op).Input.Target)
		fmt.Fprintf(&body, "// Validate checks every constraint the model states for %s.\n", in)
		fmt.Fprintf(&body, "func (v *%s) Validate() error {\n\tvar e validationErrors\n\tv.validate(\"\", &e)\n\treturn e.err()\n}\n\n", in)
	}
	for _, id := range ids {
		s := g.m.shape(id)
		name := localName(id)
		fmt.Fprintf(&body, "func (v *%s) validate(path string, e *validationErrors) {\n", name)
		if s.Type == "union" {
			body.WriteString("\tset := 0\n")
			for _, mn := range s.Members.names {
				fmt.Fprintf(&body, "\tif v.%s != nil {\n\t\tset++\n\t}\n", exported(mn))
			}
			body.WriteString("\tif set != 1 {\n\t\te.add(path[:max(len(path)-1, 0)], \"\", \"Member must have exactly one member set\")\n\t}\n")
		}
		for _, mn := range s.Members.names {
			mem := s.Members.byName[mn]
			g.validateMember(&body, "v."+exported(mn), "path+"+strconv.Quote(mn), mem.Target, mem.Traits, 1)
		}
		body.WriteString("}\n\n")
	}
	// Patterns are collected while generating the bodies above.
	b.WriteString("import (\n\t\"regexp\"\n\t\"strconv\"\n\t\"unicode/utf8\"\n)\n\n")
	b.WriteString("var (\n\t_ = strconv.Itoa\n\t_ = utf8.RuneCountInString\n")
	var pats []string
	for p := range g.patterns {
		pats = append(pats, p)
	}
	sort.Slice(pats, func(i, j int) bool { return g.patterns[pats[i]] < g.patterns[pats[j]] })
	for _, p := range pats {
		fmt.Fprintf(b, "\t%s = regexp.MustCompile(%s)\n", g.patternVar(p), strconv.Quote(p))
	}
	b.WriteString(")\n\n")
	b.Write(body.Bytes())
}

// validateMember writes the checks for one value. expr is the Go expression holding it and
// path the Go expression building its location in AWS's dotted form (tags.1.member.key).
func (g *generator) validateMember(b *bytes.Buffer, expr, path, target string, mt traits, depth int) {
	g.validateValue(b, expr, path, target, mt, depth, false)
}

func (g *generator) validateValue(b *bytes.Buffer, expr, path, target string, mt traits, depth int, elem bool) {
	required := mt.has("smithy.api#required")
	sensitive := g.traitsOf(target).has("smithy.api#sensitive")
	show := func(v string) string {
		if sensitive {
			return "sensitiveValue"
		}
		return v
	}
	length := g.lengthOf(target, mt)
	var pattern string
	g.traitsOf(target).decode("smithy.api#pattern", &pattern)
	switch g.kind(target) {
	case "string", "enum":
		val := expr
		cond, missing := expr+` != ""`, expr+` == ""`
		if !elem && g.pointerString(target, mt, true) {
			val = "(*" + expr + ")"
			cond, missing = expr+" != nil", expr+" == nil"
		}
		if required {
			fmt.Fprintf(b, "\tif %s {\n\t\te.missing(%s)\n\t} else {\n", missing, path)
		} else {
			fmt.Fprintf(b, "\tif %s {\n", cond)
		}
		str := val
		if g.kind(target) == "enum" {
			str = "string(" + val + ")"
		}
		if length != nil {
			if length.Min != nil && *length.Min > 0 {
				fmt.Fprintf(b, "\t\tif utf8.RuneCountInString(%s) < %d {\n\t\t\te.add(%s, %s, \"Member must have length greater than or equal to %d\")\n\t\t}\n", str, *length.Min, path, show(str), *length.Min)
			}
			if length.Max != nil {
				fmt.Fprintf(b, "\t\tif utf8.RuneCountInString(%s) > %d {\n\t\t\te.add(%s, %s, \"Member must have length less than or equal to %d\")\n\t\t}\n", str, *length.Max, path, show(str), *length.Max)
			}
		}
		if pattern != "" {
			fmt.Fprintf(b, "\t\tif !%s.MatchString(%s) {\n\t\t\te.add(%s, %s, %q)\n\t\t}\n", g.patternVar(pattern), str, path, show(str), "Member must satisfy regular expression pattern: "+pattern)
		}
		if g.kind(target) == "enum" {
			var vals []enumValue
			g.m.shape(target).Traits.decode("smithy.api#enum", &vals)
			var list, cases []string
			for _, v := range vals {
				list = append(list, v.Value)
				cases = append(cases, strconv.Quote(v.Value))
			}
			fmt.Fprintf(b, "\t\tswitch %s {\n\t\tcase %s:\n\t\tdefault:\n\t\t\te.add(%s, %s, %q)\n\t\t}\n", str, strings.Join(cases, ", "), path, show(str), "Member must satisfy enum value set: ["+strings.Join(list, ", ")+"]")
		}
		b.WriteString("\t}\n")
	case "integer":
		var rng lengthTrait
		hasRange := g.traitsOf(target).decode("smithy.api#range", &rng)
		if !hasRange {
			return
		}
		val := expr
		if !required {
			fmt.Fprintf(b, "\tif %s != nil {\n", expr)
			val = "(*" + expr + ")"
		} else {
			b.WriteString("\t{\n")
		}
		if rng.Min != nil {
			fmt.Fprintf(b, "\t\tif %s < %d {\n\t\t\te.add(%s, strconv.Itoa(int(%s)), \"Member must have value greater than or equal to %d\")\n\t\t}\n", val, *rng.Min, path, val, *rng.Min)
		}
		if rng.Max != nil {
			fmt.Fprintf(b, "\t\tif %s > %d {\n\t\t\te.add(%s, strconv.Itoa(int(%s)), \"Member must have value less than or equal to %d\")\n\t\t}\n", val, *rng.Max, path, val, *rng.Max)
		}
		b.WriteString("\t}\n")
	case "boolean", "timestamp":
		if required {
			panic("required boolean/timestamp input members are not supported: " + expr)
		}
	case "structure", "union":
		if required {
			fmt.Fprintf(b, "\tif %s == nil {\n\t\te.missing(%s)\n\t} else {\n\t\t%s.validate(%s+\".\", e)\n\t}\n", expr, path, expr, path)
		} else {
			fmt.Fprintf(b, "\tif %s != nil {\n\t\t%s.validate(%s+\".\", e)\n\t}\n", expr, expr, path)
		}
	case "list":
		if required {
			fmt.Fprintf(b, "\tif %s == nil {\n\t\te.missing(%s)\n\t}\n", expr, path)
		}
		if length != nil {
			if length.Min != nil && *length.Min > 0 {
				fmt.Fprintf(b, "\tif %s != nil && len(%s) < %d {\n\t\te.add(%s, listValue(len(%s)), \"Member must have length greater than or equal to %d\")\n\t}\n", expr, expr, *length.Min, path, expr, *length.Min)
			}
			if length.Max != nil {
				fmt.Fprintf(b, "\tif len(%s) > %d {\n\t\te.add(%s, listValue(len(%s)), \"Member must have length less than or equal to %d\")\n\t}\n", expr, *length.Max, path, expr, *length.Max)
			}
		}
		elem := g.m.shape(target).Member.Target
		idx := fmt.Sprintf("i%d", depth)
		item := fmt.Sprintf("item%d", depth)
		var inner bytes.Buffer
		elemPath := fmt.Sprintf("%s+\".\"+strconv.Itoa(%s+1)+\".member\"", path, idx)
		switch g.kind(elem) {
		case "structure", "union":
			fmt.Fprintf(&inner, "\t\t%s.validate(%s+\".\", e)\n", item, elemPath)
			fmt.Fprintf(b, "\tfor %s := range %s {\n\t\t%s := &%s[%s]\n%s\t}\n", idx, expr, item, expr, idx, inner.String())
		default:
			// Elements of a list are always present; treat them as required scalars.
			req := traits{"smithy.api#required": []byte("{}")}
			g.validateValue(&inner, item, elemPath, elem, req, depth+1, true)
			if inner.Len() > 0 {
				fmt.Fprintf(b, "\tfor %s, %s := range %s {\n%s\t}\n", idx, item, expr, inner.String())
			}
		}
	default:
		panic("unsupported kind for " + target)
	}
}

func (g *generator) idempotencyToken(inputID string) string {
	s := g.m.shape(inputID)
	for _, mn := range s.Members.names {
		if s.Members.byName[mn].Traits.has("smithy.api#idempotencyToken") {
			return mn
		}
	}
	return ""
}

func (g *generator) genOperations(b *bytes.Buffer) {
	b.WriteString("import (\n\t\"context\"\n\n\t\"github.com/openproton/openproton/internal/api/types\"\n)\n\n")
	b.WriteString("// Service has one method per Proton operation.\ntype Service interface {\n")
	for _, op := range g.ops {
		s := g.m.shape(op)
		fmt.Fprintf(b, "\t%s(ctx context.Context, in *types.%s) (*types.%s, error)\n", localName(op), localName(s.Input.Target), localName(s.Output.Target))
	}
	b.WriteString("}\n\n")
	b.WriteString("// Unimplemented answers every operation with a not-implemented error; embed it in a\n// Service and override what is built.\ntype Unimplemented struct{}\n\n")
	for _, op := range g.ops {
		s := g.m.shape(op)
		name := localName(op)
		fmt.Fprintf(b, "func (Unimplemented) %s(context.Context, *types.%s) (*types.%s, error) {\n\treturn nil, NotImplemented(%q)\n}\n\n", name, localName(s.Input.Target), localName(s.Output.Target), name)
	}
	b.WriteString("// Operations maps each operation name to its description.\nvar Operations = map[string]*Operation{\n")
	for _, op := range g.ops {
		s := g.m.shape(op)
		name := localName(op)
		in, out := localName(s.Input.Target), localName(s.Output.Target)
		fmt.Fprintf(b, "\t%q: {\n\t\tName: %q,\n\t\tInput: %q,\n\t\tOutput: %q,\n", name, name, in, out)
		fmt.Fprintf(b, "\t\tNewInput: func() types.Input { return new(types.%s) },\n", in)
		fmt.Fprintf(b, "\t\tInvoke: func(ctx context.Context, s Service, in types.Input) (any, error) { return s.%s(ctx, in.(*types.%s)) },\n", name, in)
		var errs []string
		for _, e := range s.Errors {
			errs = append(errs, strconv.Quote(localName(e.Target)))
		}
		sort.Strings(errs)
		fmt.Fprintf(b, "\t\tErrors: []string{%s},\n", strings.Join(errs, ", "))
		if tok := g.idempotencyToken(s.Input.Target); tok != "" {
			fmt.Fprintf(b, "\t\tIdempotencyToken: %q,\n", tok)
		}
		if s.Traits.has("smithy.api#readonly") {
			b.WriteString("\t\tReadOnly: true,\n")
		}
		if s.Traits.has("smithy.api#idempotent") {
			b.WriteString("\t\tIdempotent: true,\n")
		}
		var p paginatedTrait
		if s.Traits.decode("smithy.api#paginated", &p) {
			fmt.Fprintf(b, "\t\tPaginator: &Paginator{InputToken: %q, OutputToken: %q, PageSize: %q, Items: %q},\n", p.InputToken, p.OutputToken, p.PageSize, p.Items)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
}

func (g *generator) genMeta(b *bytes.Buffer) {
	var ids []string
	for id, s := range g.m.Shapes {
		switch s.Type {
		case "structure", "union", "list", "string", "integer":
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	b.WriteString("// Shapes describes every model shape by name, for code that walks inputs generically\n// (the CLI, conformance tests).\nvar Shapes = map[string]*Shape{\n")
	for _, id := range ids {
		s := g.m.shape(id)
		name := localName(id)
		fmt.Fprintf(b, "\t%q: {Name: %q, Kind: %q", name, name, g.kind(id))
		if s.Traits.has("smithy.api#sensitive") {
			b.WriteString(", Sensitive: true")
		}
		var l lengthTrait
		if s.Traits.decode("smithy.api#length", &l) || s.Traits.decode("smithy.api#range", &l) {
			if l.Min != nil {
				fmt.Fprintf(b, ", Min: ptr(int64(%d))", *l.Min)
			}
			if l.Max != nil {
				fmt.Fprintf(b, ", Max: ptr(int64(%d))", *l.Max)
			}
		}
		var pattern string
		if s.Traits.decode("smithy.api#pattern", &pattern) {
			fmt.Fprintf(b, ", Pattern: %q", pattern)
		}
		var vals []enumValue
		if s.Traits.decode("smithy.api#enum", &vals) {
			var q []string
			for _, v := range vals {
				q = append(q, strconv.Quote(v.Value))
			}
			fmt.Fprintf(b, ", Enum: []string{%s}", strings.Join(q, ", "))
		}
		if s.Type == "list" {
			fmt.Fprintf(b, ", Elem: %q", localName(s.Member.Target))
		}
		if len(s.Members.names) > 0 {
			b.WriteString(", Members: []Member{")
			for _, mn := range s.Members.names {
				mem := s.Members.byName[mn]
				fmt.Fprintf(b, "{Name: %q, Target: %q", mn, localName(mem.Target))
				if mem.Traits.has("smithy.api#required") {
					b.WriteString(", Required: true")
				}
				if mem.Traits.has("smithy.api#idempotencyToken") {
					b.WriteString(", IdempotencyToken: true")
				}
				var ml lengthTrait
				if mem.Traits.decode("smithy.api#length", &ml) {
					if ml.Min != nil {
						fmt.Fprintf(b, ", Min: ptr(int64(%d))", *ml.Min)
					}
					if ml.Max != nil {
						fmt.Fprintf(b, ", Max: ptr(int64(%d))", *ml.Max)
					}
				}
				b.WriteString("}, ")
			}
			b.WriteString("}")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
}
