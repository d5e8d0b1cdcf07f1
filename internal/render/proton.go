package render

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Proton's filters, as documented in the AWS Proton user guide
// (parameter-filters.md).
const (
	ecsEnvVarsFilter    = "proton_cfn_ecs_task_definition_formatted_env_vars"
	lambdaEnvVarsFilter = "proton_cfn_lambda_function_formatted_env_vars"
	iamPolicyARNsFilter = "proton_cfn_iam_policy_arns"
	sanitizeFilter      = "proton_cfn_sanitize"
)

var (
	// safeValueRe is the documented ^[a-zA-Z0-9_-]*$ (Go's $ never matches
	// before a trailing newline, so "abc\n" is rejected).
	safeValueRe = regexp.MustCompile(`^[a-zA-Z0-9_-]*$`)
	// arnRe is what proton_cfn_sanitize accepts as "a valid ARN": the guide
	// gives no pattern, so this is arn:partition:service:region:account:resource
	// with an empty or 12-digit account and a resource free of characters
	// that could break out of a YAML scalar.
	arnRe = regexp.MustCompile(`^arn:[a-zA-Z-]+:[a-zA-Z0-9-]+:[a-zA-Z0-9-]*:([0-9]{12})?:[a-zA-Z0-9_+=,.@:/*-]+$`)
	// iamPolicyARNRe is the documented ^arn:[a-zA-Z-]+:iam::\d{12}:policy/.
	iamPolicyARNRe = regexp.MustCompile(`^arn:[a-zA-Z-]+:iam::[0-9]{12}:policy/`)
)

// The YAML the list filters return must line up with the line it lands on,
// which a filter cannot see. So a result of several lines starts with
// blockStart and each further line with blockCont; once the template is
// rendered, indentBlocks turns every blockCont into the indentation of the
// line where the result's blockStart sits. Both are private-use characters.
const (
	blockStart = '\ue000'
	blockCont  = '\ue001'
)

// filterError is an error raised by one of Proton's filters; its message is
// Proton's, without the engine's context around it.
type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }

// filterFail fails a filter with a Proton error message.
func filterFail(e *exec.Evaluator, format string, args ...any) *exec.Value {
	return fail(e, &filterError{msg: fmt.Sprintf(format, args...)})
}

// filterECSEnvVars renders outputs as an ECS container definition's
// Environment list: "- Name: k" / "  Value: v" per output.
func filterECSEnvVars(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	return envVars(e, ecsEnvVarsFilter, in, params, func(k, v string) []string {
		return []string{"- Name: " + k, "  Value: " + v}
	})
}

// filterLambdaEnvVars renders outputs as a Lambda function's
// Environment.Variables map: "k: v" per output.
func filterLambdaEnvVars(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	return envVars(e, lambdaEnvVarsFilter, in, params, func(k, v string) []string {
		return []string{k + ": " + v}
	})
}

func envVars(e *exec.Evaluator, name string, in *exec.Value, params *exec.VarArgs, format func(k, v string) []string) *exec.Value {
	if in.IsError() {
		return in
	}
	raw := true
	if err := params.Take(exec.KeywordArgument("raw", exec.AsValue(true), truthArg(&raw))); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !in.IsDict() {
		return filterFail(e, "%s expects a dict of outputs, got %s", name, typeName(in))
	}
	var lines []string
	for _, p := range dictPairs(in) {
		value := pyStr(p.Value)
		if !raw && !safeValueRe.MatchString(value) {
			return filterFail(e, `Illegal character(s) detected in "%s". Must match regex ^[a-zA-Z0-9_-]*$`, value)
		}
		lines = append(lines, format(pyStr(p.Key), value)...)
	}
	return exec.AsValue(block(lines))
}

// filterIAMPolicyARNs lists, as a YAML sequence, the output values that are
// IAM policy ARNs; other outputs are left out.
func filterIAMPolicyARNs(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if !in.IsDict() {
		return filterFail(e, "%s expects a dict of outputs, got %s", iamPolicyARNsFilter, typeName(in))
	}
	var lines []string
	for _, p := range dictPairs(in) {
		if p.Value.IsString() && iamPolicyARNRe.MatchString(p.Value.String()) {
			lines = append(lines, "- "+p.Value.String())
		}
	}
	return exec.AsValue(block(lines))
}

// filterSanitize passes a value through when it is a plain name or an ARN and
// fails the render otherwise.
func filterSanitize(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	s := pyStr(in)
	if safeValueRe.MatchString(s) || arnRe.MatchString(s) {
		return exec.AsValue(s)
	}
	return filterFail(e, `Illegal character(s) detected in "%s". Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN`, s)
}

func block(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return string(blockStart) + strings.Join(lines, "\n"+string(blockCont))
}

// indentBlocks replaces each blockCont with the indentation (leading spaces
// and tabs) of the line on which the preceding blockStart appears, and drops
// the blockStart markers.
func indentBlocks(s string) string {
	start, cont := string(blockStart), string(blockCont)
	if !strings.Contains(s, start) && !strings.Contains(s, cont) {
		return s
	}
	var b strings.Builder
	indent := ""
	lineStart := 0
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], start):
			line := b.String()[lineStart:]
			indent = line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			i += len(start)
		case strings.HasPrefix(s[i:], cont):
			b.WriteString(indent)
			i += len(cont)
		default:
			b.WriteByte(s[i])
			if s[i] == '\n' {
				lineStart = b.Len()
			}
			i++
		}
	}
	return b.String()
}
