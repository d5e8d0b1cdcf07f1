package bundle

import (
	"strings"
	"testing"
)

func TestCheckCompatible(t *testing.T) {
	prev := load(t, schema)
	const countProp = "        count:\n          type: number\n          minimum: 1\n          maximum: 10\n          default: 1\n"
	for _, tc := range []struct {
		name     string
		old, new string
		want     string // "" when compatible
	}{
		{"identical", "", "", ""},
		{"optional input added", "        size:\n", "        extra:\n          type: string\n        size:\n", ""},
		{"required input with a default added", "required: [name]", "required: [name, extra]", ""},
		{"optional input with a default made required", "required: [name]", "required: [name, size]", ""},
		{"enum widened", "enum: [small, large]", "enum: [small, large, huge]", ""},
		{"maximum raised", "maximum: 10", "maximum: 20", ""},
		{"minimum lowered", "minimum: 1", "minimum: 0", ""},
		{"description changed", "        size:\n", "        size:\n          description: now documented\n", ""},

		{"input removed", countProp, "", `environment_input_type Input: input "count" was removed`},
		{"input newly required without a default", "required: [name]", "required: [name, bare]", `input "bare" is newly required and has no default`},
		{"required input lost its default", "required: [name]\n", "required: [name, count]\n", `input "count" is required and lost its default`},
		{"type changed", countProp, "        count:\n          type: string\n          default: \"1\"\n", `input "count": type changed from number to string`},
		{"number narrowed to integer", "          type: number\n          minimum: 1", "          type: integer\n          minimum: 1", "type changed from number to integer"},
		{"enum narrowed", "enum: [small, large]", "enum: [small]", `input "size": enum value large was removed`},
		{"enum added", "          pattern: \"^[a-z]+$\"\n", "          pattern: \"^[a-z]+$\"\n          enum: [a, b]\n", `input "name": values are now limited to an enum`},
		{"maximum lowered", "maximum: 10", "maximum: 5", `input "count": maximum lowered`},
		{"minimum raised", "minimum: 1\n          maximum: 10\n          default: 1", "minimum: 2\n          maximum: 10\n          default: 2", `input "count": minimum raised`},
		{"maximum made exclusive", "maximum: 10", "maximum: 10\n          exclusiveMaximum: true", "maximum lowered"},
		{"maxLength lowered", "          pattern: \"^[a-z]+$\"\n", "          pattern: \"^[a-z]+$\"\n          maxLength: 5\n", `input "name": maxLength lowered`},
		{"pattern changed", `pattern: "^[a-z]+$"`, `pattern: "^[a-z]{2,}$"`, `input "name": pattern changed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := schema
			if tc.old != "" {
				text = schemaWith(t, tc.old, tc.new)
			}
			switch tc.name {
			case "required input with a default added":
				text = strings.Replace(text, "        size:\n", "        extra:\n          type: string\n          default: x\n        size:\n", 1)
			case "input newly required without a default":
				text = strings.Replace(text, "        size:\n", "        bare:\n          type: string\n        size:\n", 1)
			}
			from := prev
			if tc.name == "required input lost its default" {
				// count is required with a default: specs may leave it out, until the default goes.
				from = load(t, text)
				text = strings.Replace(text, "          maximum: 10\n          default: 1\n", "          maximum: 10\n", 1)
			}
			err := CheckCompatible(from, load(t, text))
			if tc.want == "" {
				if err != nil {
					t.Errorf("incompatible: %v", err)
				}
				return
			}
			wantError(t, err, tc.want)
		})
	}
}

func TestCheckCompatibleInputTypes(t *testing.T) {
	svc := load(t, serviceSchema(true))
	noPipeline := load(t, serviceSchema(false))
	wantError(t, CheckCompatible(svc, noPipeline), "pipeline_input_type was removed")
	if err := CheckCompatible(noPipeline, noPipeline); err != nil {
		t.Errorf("same schema: %v", err)
	}
	// Renaming the type is fine as long as its inputs are.
	renamed := load(t, strings.ReplaceAll(schema, "Input", "Renamed"))
	if err := CheckCompatible(load(t, schema), renamed); err != nil {
		t.Errorf("renamed type: %v", err)
	}
	// Nested object inputs are held to the same rules.
	nested := func(inner string) *Schema {
		return load(t, schemaWith(t, "        count:\n", "        vpc:\n          type: object\n          properties:\n"+inner+"        count:\n"))
	}
	prev := nested("            cidr:\n              type: string\n            az:\n              type: number\n")
	wantError(t, CheckCompatible(prev, nested("            cidr:\n              type: string\n")), `input "vpc.az" was removed`)
	wantError(t, CheckCompatible(prev, nested("            cidr:\n              type: number\n            az:\n              type: number\n")), `input "vpc.cidr": type changed from string to number`)
}
