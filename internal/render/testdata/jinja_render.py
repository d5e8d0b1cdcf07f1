"""Reference renderer for internal/render's differential tests.

Reads {"cases": [{"template": str, "context": str (JSON)}]} on stdin and writes
[{"output": str} | {"error": str}] on stdout. It renders with Python Jinja2 as
AWS Proton does: default Environment options, StrictUndefined, Proton's
namespace default for service_instance.components.default, and Proton's
proton_cfn_* filters as documented in the archived Proton user guide
(parameter-filters.md). The Go package must produce the same bytes.
"""

import json
import re
import sys

import jinja2

SAFE = re.compile(r"[a-zA-Z0-9_-]*", re.ASCII)
ARN = re.compile(
    r"arn:[a-zA-Z-]+:[a-zA-Z0-9-]+:[a-zA-Z0-9-]*:(\d{12})?:[a-zA-Z0-9_+=,.@:/*-]+",
    re.ASCII,
)
IAM_POLICY = re.compile(r"arn:[a-zA-Z-]+:iam::\d{12}:policy/", re.ASCII)

# Multi-line filter results carry these markers until the whole template is
# rendered; then every continuation line gets the indentation of the line the
# result started on (see indent_blocks).
START = "\ue000"
CONT = "\ue001"


def py_str(value):
    return str(value)


def check_safe(value):
    text = py_str(value)
    if not SAFE.fullmatch(text):
        raise ValueError(
            'Illegal character(s) detected in "%s". Must match regex ^[a-zA-Z0-9_-]*$' % text
        )
    return text


def outputs_items(value, name):
    if not isinstance(value, dict):
        raise TypeError("%s expects a dict of outputs, got %s" % (name, type_name(value)))
    return value.items()


def type_name(value):
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


def block(lines):
    if not lines:
        return ""
    return START + ("\n" + CONT).join(lines)


def ecs_env_vars(outputs, raw=True):
    lines = []
    for key, value in outputs_items(outputs, "proton_cfn_ecs_task_definition_formatted_env_vars"):
        text = py_str(value) if raw else check_safe(value)
        lines.append("- Name: %s" % key)
        lines.append("  Value: %s" % text)
    return block(lines)


def lambda_env_vars(outputs, raw=True):
    lines = []
    for key, value in outputs_items(outputs, "proton_cfn_lambda_function_formatted_env_vars"):
        text = py_str(value) if raw else check_safe(value)
        lines.append("%s: %s" % (key, text))
    return block(lines)


def iam_policy_arns(outputs):
    lines = []
    for _, value in outputs_items(outputs, "proton_cfn_iam_policy_arns"):
        if isinstance(value, str) and IAM_POLICY.match(value):
            lines.append("- %s" % value)
    return block(lines)


def sanitize(value):
    text = py_str(value)
    if SAFE.fullmatch(text) or ARN.fullmatch(text):
        return text
    raise ValueError(
        'Illegal character(s) detected in "%s". Must match regex ^[a-zA-Z0-9_-]*$ or be a valid ARN'
        % text
    )


def indent_blocks(text):
    if START not in text and CONT not in text:
        return text
    out = []
    indent = ""
    for ch in text:
        if ch == START:
            line = "".join(out).rsplit("\n", 1)[-1]
            indent = line[: len(line) - len(line.lstrip(" \t"))]
        elif ch == CONT:
            out.append(indent)
        else:
            out.append(ch)
    return "".join(out)


class MissingComponent(dict):
    """service_instance.components.default when no component is attached:
    an empty dict whose outputs are an empty dict too."""

    @property
    def outputs(self):
        return {}


def with_namespace_defaults(ctx):
    instance = ctx.get("service_instance")
    if isinstance(instance, dict):
        components = instance.get("components")
        if components is None:
            components = instance["components"] = {}
        if isinstance(components, dict) and "default" not in components:
            components["default"] = MissingComponent()
    return ctx


def environment():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["proton_cfn_ecs_task_definition_formatted_env_vars"] = ecs_env_vars
    env.filters["proton_cfn_lambda_function_formatted_env_vars"] = lambda_env_vars
    env.filters["proton_cfn_iam_policy_arns"] = iam_policy_arns
    env.filters["proton_cfn_sanitize"] = sanitize
    return env


def main():
    env = environment()
    results = []
    for case in json.load(sys.stdin)["cases"]:
        try:
            ctx = with_namespace_defaults(json.loads(case["context"]))
            text = env.from_string(case["template"]).render(ctx)
            results.append({"output": indent_blocks(text)})
        except Exception as exc:  # every failure is a result to compare
            results.append({"error": "%s: %s" % (type(exc).__name__, exc)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
