package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// smithyModel is the subset of the Smithy 2.0 JSON AST the generator reads.
type smithyModel struct {
	Shapes map[string]*shape `json:"shapes"`
}

type shape struct {
	Type       string         `json:"type"`
	Members    orderedMembers `json:"members"`
	Member     *member        `json:"member"` // list element
	Input      *ref           `json:"input"`
	Output     *ref           `json:"output"`
	Errors     []ref          `json:"errors"`
	Operations []ref          `json:"operations"`
	Resources  []ref          `json:"resources"`
	Traits     traits         `json:"traits"`
}

type member struct {
	Target string `json:"target"`
	Traits traits `json:"traits"`
}

type ref struct {
	Target string `json:"target"`
}

type traits map[string]json.RawMessage

func (t traits) has(name string) bool { _, ok := t[name]; return ok }

func (t traits) decode(name string, v any) bool {
	raw, ok := t[name]
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		panic(fmt.Sprintf("trait %s: %v", name, err))
	}
	return true
}

type lengthTrait struct {
	Min *int64 `json:"min"`
	Max *int64 `json:"max"`
}

type enumValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type paginatedTrait struct {
	InputToken  string `json:"inputToken"`
	OutputToken string `json:"outputToken"`
	PageSize    string `json:"pageSize"`
	Items       string `json:"items"`
}

const ns = "com.amazonaws.proton#"

func loadModel(path string) (*smithyModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	var m smithyModel
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	return &m, nil
}

// localName strips the namespace from a shape id.
func localName(id string) string {
	if i := strings.IndexByte(id, '#'); i >= 0 {
		return id[i+1:]
	}
	return id
}

func (m *smithyModel) shape(id string) *shape {
	s, ok := m.Shapes[id]
	if !ok {
		panic("unknown shape " + id)
	}
	return s
}

// operations returns every operation id, sorted by name.
func (m *smithyModel) operations() []string {
	var ops []string
	for id, s := range m.Shapes {
		if s.Type == "operation" {
			ops = append(ops, id)
		}
	}
	sort.Strings(ops)
	return ops
}

// orderedMembers keeps a structure's members in model order, which the CLI's help and
// skeletons follow.
type orderedMembers struct {
	names  []string
	byName map[string]*member
}

func (o *orderedMembers) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	o.byName = map[string]*member{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string)
		var m member
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		o.names = append(o.names, name)
		o.byName[name] = &m
	}
	_, err := dec.Token() // }
	return err
}

func exported(name string) string {
	return strings.ToUpper(name[:1]) + name[1:]
}
