package server

import (
	"encoding/json"
	"errors"
	"sort"
	"testing"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/types"
)

var opNames = func() []string {
	names := make([]string, 0, len(api.Operations))
	for n := range api.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}()

// FuzzProtonRequest sends arbitrary bodies to arbitrary operations: whatever arrives, the
// answer is a client error or the not-implemented answer, never a 500 or a panic.
func FuzzProtonRequest(f *testing.F) {
	f.Add(uint8(0), []byte(`{}`))
	f.Add(uint8(10), []byte(`{"name":"a","templateName":"t","templateMajorVersion":"1","spec":"x"}`))
	f.Add(uint8(20), []byte(`{"tags":[{"key":"k"}],"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment/x"}`))
	f.Add(uint8(30), []byte(`{"source":{"s3":{"bucket":"b","key":"k"}},"templateName":"t"}`))
	f.Add(uint8(40), []byte(`{"maxResults": 1e400, "nextToken": null}`))
	f.Add(uint8(50), []byte("\xff\xfe{\"a\":\"\\ud800\"}"))
	h := adminHandler()
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := opNames[int(op)%len(opNames)]
		r := call(t, h, name, body)
		switch r.status {
		case 400, 501:
		default:
			t.Fatalf("%s %q: status %d %s %q", name, body, r.status, r.code, r.msg)
		}
		if r.code == "" {
			t.Fatalf("%s %q: error without __type", name, body)
		}
	})
}

// FuzzValidate decodes one body into every operation's input: validation never panics, it
// fails only with a ValidationException, and it is deterministic.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"name":"x","tags":[{"key":"","value":""}],"spec":"proton: EnvironmentSpec"}`))
	f.Add([]byte(`{"source":{},"compatibleEnvironmentTemplates":[{}],"maxResults":0}`))
	f.Add([]byte(`{"outputs":[{"key":"k","valueString":"v"}],"resourceArn":"arn:aws:proton:us-east-1:000000000000:x/y"}`))
	f.Add([]byte(`{"filters":[{"key":"name","value":"v"}],"sortBy":"name","sortOrder":"DESCENDING"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, name := range opNames {
			in := api.Operations[name].NewInput()
			if json.Unmarshal(body, in) != nil {
				continue
			}
			err := in.Validate()
			if err == nil {
				continue
			}
			var ve *types.ValidationException
			if !errors.As(err, &ve) || ve.Message == "" {
				t.Fatalf("%s: validation error %T %v", name, err, err)
			}
			if again := in.Validate(); again == nil || again.Error() != err.Error() {
				t.Fatalf("%s: validation not deterministic: %v then %v", name, err, again)
			}
		}
	})
}
