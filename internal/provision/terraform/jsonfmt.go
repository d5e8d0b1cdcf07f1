package terraform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Proton wrote its JSON files (proton.auto.tfvars.json, .proton/deployment-metadata.json)
// with Jackson's default pretty printer. This file reproduces that layout byte for byte:
//
//	{
//	  "key" : "value",
//	  "empty" : { },
//	  "list" : [ 1, 2 ],
//	  "objects" : [ {
//	    "name" : "a"
//	  } ]
//	}
//
// Objects indent by two spaces per level and separate key and value with " : "; an empty
// object is "{ }"; arrays stay on the line they open, elements separated by ", ", and do
// not add a level of indentation; there is no newline after the closing brace. Strings
// escape only '"', '\\' and control characters (\b \t \n \f \r, others as \u00XX with
// upper-case hex); '/', '<', '>', '&' and non-ASCII characters are written as they are.

// jsonObject is a JSON object whose key order is kept.
type jsonObject []jsonField

type jsonField struct {
	key   string
	value any // string, json.Number, bool, nil, jsonObject, []any
}

// get returns the value of key and whether it is present.
func (o jsonObject) get(key string) (any, bool) {
	for _, f := range o {
		if f.key == key {
			return f.value, true
		}
	}
	return nil, false
}

// decodeOrdered decodes a JSON document, keeping the key order of its objects and the
// text of its numbers. A repeated key keeps its first position and its last value.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON document")
	}
	return v, nil
}

// maxDepth bounds the nesting decodeOrdered accepts (encoding/json's own limit is 10000).
const maxDepth = 1000

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch d {
	case '{':
		obj := jsonObject{}
	fields:
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := kt.(string)
			val, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			for i := range obj {
				if obj[i].key == key {
					obj[i].value = val
					continue fields
				}
			}
			obj = append(obj, jsonField{key, val})
		}
		_, err := dec.Token()
		return obj, err
	case '[':
		list := []any{}
		for dec.More() {
			val, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, val)
		}
		_, err := dec.Token()
		return list, err
	}
	return nil, fmt.Errorf("unexpected JSON delimiter %q", d)
}

// marshalJackson writes v as Jackson's default pretty printer did.
func marshalJackson(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJackson(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJackson(b *bytes.Buffer, v any, depth int) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeJacksonString(b, v)
	case json.Number:
		if !json.Valid([]byte(v)) {
			return fmt.Errorf("invalid JSON number %q", string(v))
		}
		b.WriteString(string(v))
	case jsonObject:
		if len(v) == 0 {
			b.WriteString("{ }")
			return nil
		}
		b.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(b, depth+1)
			writeJacksonString(b, f.key)
			b.WriteString(" : ")
			if err := writeJackson(b, f.value, depth+1); err != nil {
				return err
			}
		}
		newline(b, depth)
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte(' ')
			if err := writeJackson(b, e, depth); err != nil {
				return err
			}
		}
		b.WriteString(" ]")
	default:
		return fmt.Errorf("cannot write %T as JSON", v)
	}
	return nil
}

func newline(b *bytes.Buffer, depth int) {
	b.WriteByte('\n')
	b.WriteString(strings.Repeat("  ", depth))
}

const upperHex = "0123456789ABCDEF"

// writeJacksonString quotes s as Jackson does; invalid UTF-8 becomes U+FFFD.
func writeJacksonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(upperHex[c>>4])
				b.WriteByte(upperHex[c&0xF])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
