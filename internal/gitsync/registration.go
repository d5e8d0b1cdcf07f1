package gitsync

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The files beside a service template's bundle that say what a synced version is
// compatible with. They are not part of the bundle.
const (
	RegistrationFile   = ".template-registration.yaml"
	CompatibleEnvsFile = ".compatible-envs" // legacy, still accepted by Proton
)

// DirectlyDefined is the only component source Proton supports.
const DirectlyDefined = "DIRECTLY_DEFINED"

// Registration is what a service template version needs beyond its bundle.
type Registration struct {
	CompatibleEnvironments    []CompatibleEnvironment
	SupportedComponentSources []string // DIRECTLY_DEFINED or nothing
}

// CompatibleEnvironment is an environment template major version, as in
// compatibleEnvironmentTemplates.
type CompatibleEnvironment struct {
	TemplateName string
	MajorVersion string
}

func (c CompatibleEnvironment) String() string { return c.TemplateName + ":" + c.MajorVersion }

var (
	// Proton's ResourceName.
	resourceNameRe = regexp.MustCompile(`^[0-9A-Za-z]+[0-9A-Za-z_\-]*$`)
	// A major version: positive, no leading zero.
	majorRe = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
)

func validName(s string) bool { return len(s) <= 100 && resourceNameRe.MatchString(s) }

// parseCompatible reads one "name:major" item.
func parseCompatible(item string) (CompatibleEnvironment, error) {
	name, major, ok := strings.Cut(item, ":")
	name, major = strings.TrimSpace(name), strings.TrimSpace(major)
	switch {
	case !ok:
		return CompatibleEnvironment{}, fmt.Errorf("%q is not <environment-template-name>:<major-version>", item)
	case !validName(name):
		return CompatibleEnvironment{}, fmt.Errorf("%q: %q is not a template name (letters, digits, - and _, at most 100)", item, name)
	case !majorRe.MatchString(major):
		return CompatibleEnvironment{}, fmt.Errorf("%q: the major version %q is not a positive whole number", item, major)
	}
	return CompatibleEnvironment{TemplateName: name, MajorVersion: major}, nil
}

// addCompatible appends c unless it is listed already: a repeated line changes nothing.
func (r *Registration) addCompatible(c CompatibleEnvironment) {
	for _, x := range r.CompatibleEnvironments {
		if x == c {
			return
		}
	}
	r.CompatibleEnvironments = append(r.CompatibleEnvironments, c)
}

// ParseRegistration reads a .template-registration.yaml file:
//
//	compatible_environments:      # required, at least one
//	  - my-env-template:1
//	supported_component_sources:  # optional
//	  - DIRECTLY_DEFINED
//
// Errors name the file, the item and its line.
func ParseRegistration(data []byte) (*Registration, error) {
	r, err := parseRegistration(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RegistrationFile, err)
	}
	return r, nil
}

func parseRegistration(data []byte) (*Registration, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("the file is empty; it needs compatible_environments")
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, errors.New("the file is empty; it needs compatible_environments")
	}
	pairs, err := mappingPairs(root, "the file")
	if err != nil {
		return nil, err
	}
	r := &Registration{}
	var seenEnvs bool
	for _, p := range pairs {
		switch p.key {
		case "compatible_environments":
			seenEnvs = true
			items, err := stringList(p.value, p.key)
			if err != nil {
				return nil, err
			}
			for i, it := range items {
				c, err := parseCompatible(it.value)
				if err != nil {
					return nil, fmt.Errorf("line %d: compatible_environments item %d: %w", it.line, i+1, err)
				}
				r.addCompatible(c)
			}
		case "supported_component_sources":
			items, err := stringList(p.value, p.key)
			if err != nil {
				return nil, err
			}
			for i, it := range items {
				if it.value != DirectlyDefined {
					return nil, fmt.Errorf("line %d: supported_component_sources item %d: %q is not a component source; the only one is %s",
						it.line, i+1, it.value, DirectlyDefined)
				}
				if len(r.SupportedComponentSources) == 0 {
					r.SupportedComponentSources = []string{DirectlyDefined}
				}
			}
		default:
			return nil, fmt.Errorf("line %d: unknown key %q; the keys are compatible_environments and supported_component_sources", p.line, p.key)
		}
	}
	if !seenEnvs || len(r.CompatibleEnvironments) == 0 {
		return nil, errors.New("compatible_environments is missing or empty; list at least one <environment-template-name>:<major-version>")
	}
	return r, nil
}

// ParseCompatibleEnvs reads the legacy .compatible-envs file: one
// <environment-template-name>:<major-version> a line (blank lines and surrounding spaces
// are ignored; the last line may lack its newline). Errors name the file and the line.
func ParseCompatibleEnvs(data []byte) (*Registration, error) {
	r := &Registration{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(line))
		if line == "" {
			continue
		}
		c, err := parseCompatible(line)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", CompatibleEnvsFile, i+1, err)
		}
		r.addCompatible(c)
	}
	if len(r.CompatibleEnvironments) == 0 {
		return nil, fmt.Errorf("%s: the file lists no environment templates; write one <environment-template-name>:<major-version> a line", CompatibleEnvsFile)
	}
	return r, nil
}

// YAML helpers shared with the proton-ops file.

type pair struct {
	key   string
	line  int
	value *yaml.Node
}

type item struct {
	value string
	line  int
}

// deref follows an alias to its anchor.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mappingPairs returns n's entries in order; what says what n is, for messages.
func mappingPairs(n *yaml.Node, what string) ([]pair, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s should be a mapping (key: value), not %s", n.Line, what, kindText(n))
	}
	var out []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s has a key that is not a plain string", k.Line, what)
		}
		if first, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s has %q twice (first on line %d)", k.Line, what, k.Value, first)
		}
		seen[k.Value] = k.Line
		out = append(out, pair{key: k.Value, line: k.Line, value: deref(v)})
	}
	return out, nil
}

// stringList reads a sequence of strings; a null value is an empty list.
func stringList(n *yaml.Node, what string) ([]item, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s should be a list (- item), not %s", n.Line, what, kindText(n))
	}
	out := make([]item, 0, len(n.Content))
	for i, c := range n.Content {
		c = deref(c)
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: %s item %d should be a string, not %s", c.Line, what, i+1, kindText(c))
		}
		out = append(out, item{value: strings.TrimSpace(c.Value), line: c.Line})
	}
	return out, nil
}

// scalarString reads a string value; what names it for messages.
func scalarString(n *yaml.Node, what string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", fmt.Errorf("line %d: %s should be a string, not %s", n.Line, what, kindText(n))
	}
	return strings.TrimSpace(n.Value), nil
}

func kindText(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}
