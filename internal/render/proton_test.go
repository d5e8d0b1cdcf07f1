package render

import (
	"errors"
	"strings"
	"testing"
)

// componentContext is a service instance whose attached component has outputs.
func componentContext(outputs Object) map[string]any {
	return map[string]any{
		"service_instance": map[string]any{
			"name":       "front",
			"components": map[string]any{"default": map[string]any{"name": "c", "outputs": outputs}},
		},
	}
}

var guideOutputs = Object{
	{Key: "Output1", Value: "hello"},
	{Key: "Output2", Value: "world"},
	{Key: "PolicyArn1", Value: "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1"},
	{Key: "PolicyArn2", Value: "arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2"},
}

// The examples of the Proton user guide's parameter-filters page, rendered
// as the guide shows them.
func TestProtonFiltersGuideExamples(t *testing.T) {
	tests := []struct {
		name, template, want string
	}{
		{
			name: "ecs task definition env vars",
			template: `          Environment:
            {{ service_instance.components.default.outputs
              | proton_cfn_ecs_task_definition_formatted_env_vars }}
`,
			want: `          Environment:
            - Name: Output1
              Value: hello
            - Name: Output2
              Value: world
            - Name: PolicyArn1
              Value: arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1
            - Name: PolicyArn2
              Value: arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2`,
		},
		{
			name: "lambda function env vars",
			template: `        Variables:
          {{ service_instance.components.default.outputs
            | proton_cfn_lambda_function_formatted_env_vars }}`,
			want: `        Variables:
          Output1: hello
          Output2: world
          PolicyArn1: arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1
          PolicyArn2: arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2`,
		},
		{
			name: "iam policy arns",
			template: `      ManagedPolicyArns:
        - !Ref BaseTaskRoleManagedPolicy
        {{ service_instance.components.default.outputs
            | proton_cfn_iam_policy_arns }}

  # Basic permissions for the task`,
			want: `      ManagedPolicyArns:
        - !Ref BaseTaskRoleManagedPolicy
        - arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1
        - arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2

  # Basic permissions for the task`,
		},
		{
			name:     "sanitize a plain value",
			template: `    {{ service_instance.components.default.outputs.Output1 | proton_cfn_sanitize }}`,
			want:     `    hello`,
		},
		{
			name:     "sanitize an arn",
			template: `{{ service_instance.components.default.outputs.PolicyArn1 | proton_cfn_sanitize }}`,
			want:     `arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1`,
		},
		{
			name:     "default for a missing output",
			template: `{{ service_instance.components.default.outputs.test | default("[optional-value]") }}`,
			want:     `[optional-value]`,
		},
		{
			name:     "tabs are kept as indentation",
			template: "\t\t{{ service_instance.components.default.outputs | proton_cfn_lambda_function_formatted_env_vars }}",
			want:     "\t\tOutput1: hello\n\t\tOutput2: world\n\t\tPolicyArn1: arn:aws:iam::123456789012:policy/cfn-generated-policy-name-1\n\t\tPolicyArn2: arn:aws:iam::123456789012:policy/cfn-generated-policy-name-2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render("service.yaml", tt.template, componentContext(guideOutputs))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestProtonFilterValues(t *testing.T) {
	tests := []struct {
		name, template string
		outputs        Object
		want           string
	}{
		{"empty outputs render nothing", "[{{ o | proton_cfn_ecs_task_definition_formatted_env_vars }}][{{ o | proton_cfn_lambda_function_formatted_env_vars }}][{{ o | proton_cfn_iam_policy_arns }}]", nil, "[][][]"},
		{"raw=False accepts safe values", "{{ o | proton_cfn_lambda_function_formatted_env_vars(raw=False) }}", Object{{Key: "A", Value: "a-B_9"}, {Key: "N", Value: 7}}, "A: a-B_9\nN: 7"},
		{"raw keeps other values", "{{ o | proton_cfn_lambda_function_formatted_env_vars }}", Object{{Key: "A", Value: "x y: z"}, {Key: "F", Value: 1.5}, {Key: "T", Value: true}}, "A: x y: z\nF: 1.5\nT: True"},
		{"output order is kept", "{{ o | proton_cfn_ecs_task_definition_formatted_env_vars }}", Object{{Key: "Z", Value: "1"}, {Key: "A", Value: "2"}}, "- Name: Z\n  Value: 1\n- Name: A\n  Value: 2"},
		{"only policy arns", "{{ o | proton_cfn_iam_policy_arns }}", Object{
			{Key: "role", Value: "arn:aws:iam::123456789012:role/r"},
			{Key: "short", Value: "arn:aws:iam::12345:policy/p"},
			{Key: "china", Value: "arn:aws-cn:iam::123456789012:policy/p"},
			{Key: "number", Value: 5},
			{Key: "prefixed", Value: " arn:aws:iam::123456789012:policy/p"},
		}, "- arn:aws-cn:iam::123456789012:policy/p"},
		{"sanitize empty string", "[{{ '' | proton_cfn_sanitize }}]", nil, "[]"},
		{"sanitize s3 arn", "{{ 'arn:aws:s3:::bucket-1/key' | proton_cfn_sanitize }}", nil, "arn:aws:s3:::bucket-1/key"},
		{"sanitize number", "{{ 42 | proton_cfn_sanitize }}", nil, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render("t.yaml", tt.template, map[string]any{"o": tt.outputs})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProtonFilterErrors(t *testing.T) {
	tests := []struct {
		name, template, want string
	}{
		{"sanitize (guide example)", `{{ o.Output2 | proton_cfn_sanitize }}`,
			`Illegal character(s) detected in "this::is::incorrect". Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN`},
		{"sanitize trailing newline", "{{ 'abc\n' | proton_cfn_sanitize }}",
			"Illegal character(s) detected in \"abc\n\". Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN"},
		{"sanitize arn with spaces", `{{ 'arn:aws:s3:::a b' | proton_cfn_sanitize }}`,
			`Illegal character(s) detected in "arn:aws:s3:::a b". Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN`},
		{"ecs raw=False", `{{ o | proton_cfn_ecs_task_definition_formatted_env_vars(raw=False) }}`,
			`Illegal character(s) detected in "this::is::incorrect". Must match regex ^[a-zA-Z0-9_-]*$`},
		{"lambda raw=False positional", `{{ o | proton_cfn_lambda_function_formatted_env_vars(False) }}`,
			`Illegal character(s) detected in "this::is::incorrect". Must match regex ^[a-zA-Z0-9_-]*$`},
		{"iam on a string", `{{ o.Output1 | proton_cfn_iam_policy_arns }}`,
			`proton_cfn_iam_policy_arns expects a dict of outputs, got str`},
		{"ecs on a list", `{{ [1] | proton_cfn_ecs_task_definition_formatted_env_vars }}`,
			`proton_cfn_ecs_task_definition_formatted_env_vars expects a dict of outputs, got list`},
	}
	outputs := Object{{Key: "Output1", Value: "This-is_valid_37"}, {Key: "Output2", Value: "this::is::incorrect"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render("t.yaml", tt.template, map[string]any{"o": outputs})
			if err == nil {
				t.Fatal("render succeeded")
			}
			var fe *filterError
			if !errors.As(err, &fe) || fe.Error() != tt.want {
				t.Fatalf("error %q, want one ending in %q", err, tt.want)
			}
			if want := "render t.yaml: line 1: " + tt.want; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

func TestIndentBlocks(t *testing.T) {
	b := block([]string{"a", "b"})
	tests := []struct{ in, want string }{
		{"no markers\n", "no markers\n"},
		{"  x: " + b + "\n", "  x: a\n  b\n"},
		{"  " + b + "\n\t" + b, "  a\n  b\n\ta\n\tb"},
		{"- " + b + " " + b, "- a\nb a\nb"},
		{string(blockCont) + "stray", "stray"},
	}
	for _, tt := range tests {
		if got := indentBlocks(tt.in); got != tt.want {
			t.Errorf("indentBlocks(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !strings.HasPrefix(b, string(blockStart)) {
		t.Errorf("block does not start with the marker: %q", b)
	}
}
