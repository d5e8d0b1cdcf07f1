package bundle

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlMessage turns a YAML library error into text for the template author: "line 3: …"
// without the library's prefix and without Go type names.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for i, e := range te.Errors {
			if i == 3 {
				msgs = append(msgs, fmt.Sprintf("and %d more", len(te.Errors)-3))
				break
			}
			msgs = append(msgs, typeMismatch(e))
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

var unmarshalRE = regexp.MustCompile("^(line \\d+: )cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")

// typeMismatch rewrites "line 2: cannot unmarshal !!str `x` into []bundle.rawTemplate" as
// "line 2: found a string `x` where a list is expected".
func typeMismatch(msg string) string {
	m := unmarshalRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	found := map[string]string{"!!str": "a string", "!!seq": "a list", "!!map": "a mapping", "!!int": "a number",
		"!!float": "a number", "!!bool": "a boolean", "!!null": "null"}[m[2]]
	if found == "" {
		found = "a " + strings.TrimPrefix(m[2], "!!")
	}
	if m[3] != "" {
		found += " `" + m[3] + "`"
	}
	return fmt.Sprintf("%sfound %s where %s is expected", m[1], found, goKind(m[4]))
}

// goKind names a Go type the way a YAML author thinks of it.
func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "another kind of value"
}

// nodeBudget bounds the work of walking a YAML tree by hand: aliases can make a small
// document expand enormously, and yaml.v3 only guards against that when it decodes.
const nodeBudget = 100_000

var errTooLarge = errors.New("the document expands to too many values (aliases?)")

// textValue converts a YAML node to Go values keeping every scalar as its source text
// ("1.10" stays "1.10", not 1.1), null as nil.
func textValue(n *yaml.Node, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, errTooLarge
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return textValue(n.Content[0], budget)
	case yaml.AliasNode:
		return textValue(n.Alias, budget)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := textValue(c, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := textValue(n.Content[i+1], budget)
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	}
	return nil, nil
}
