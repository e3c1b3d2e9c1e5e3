"""The contract of ``config/prompts/``: every template the fleet renders, and the check of a set.

``config/prompts/<area>.yaml`` maps template names to ``string.Template`` text (``$name`` or
``${name}``; a literal ``$`` is ``$$``). A template is named ``<area>.<key>`` in code
(``author.correction`` is key ``correction`` of ``author.yaml``). ``TEMPLATES`` below declares
each one with the variables it may use: a set on disk that lacks a declared template, holds an
undeclared one, uses an undeclared variable or a bad ``$`` fails ``load`` with a
:class:`~fleet.errors.ConfigError` naming the file and the key, at start-up rather than in the
middle of a story. Rendering (``fleet.prompts.render``) lives one level up; this module is the
schema, like the other ``fleet.config`` modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from string import Template

import yaml

from fleet.errors import ConfigError


def _t(*variables: str) -> frozenset[str]:
    return frozenset(variables)


# area -> key -> the variables its template may use (render is given exactly these)
TEMPLATES: dict[str, dict[str, frozenset[str]]] = {
    "author": {
        "system": _t(),
        "edit_format": _t(),
        "function_format": _t(),
        "line_format": _t(),
        "line_ask": _t(),
        "correction": _t("reason"),
        "function_correction": _t("reason"),
        "echoed": _t(),
        "nearest": _t("lines"),
        "unchanged": _t(),
        "cut": _t("tokens"),
        "function_cut": _t("tokens"),
        "tests_only": _t("paths"),
        "still_empty": _t("name"),
        "imports_added": _t("rationale", "imports"),
        "continue_request": _t("what", "code", "notes", "tests", "name", "goal"),
        "continue_new": _t("name", "path", "task"),
        "continue_stub": _t("name", "path"),
        "continue_note": _t("note"),
        "continue_test": _t("test"),
        "goal_new": _t(),
        "goal_stub": _t(),
        "test_source": _t("test_id", "source"),
        "test_clipped": _t(),
    },
    "request": {
        "author": _t(),
        "write": _t(),
        "task": _t("task"),
        "criteria": _t(),
        "item": _t("text"),
        "stubs": _t("stubs"),
        "findings": _t(),
        "decided": _t("decision"),
        "failing_test": _t("test"),
    },
    "loop": {
        "format": _t(),
        "edited": _t("paths"),
        "edit_failed": _t("error"),
        "bad_command": _t("error"),
        "empty_command": _t(),
        "output": _t("code", "output"),
        "no_action": _t(),
    },
    "council": {
        "system_json": _t("role_prompt", "agent"),
        "system_patch": _t("head", "agent", "style"),
        "system_examples": _t("role_prompt", "agent"),
        "identity": _t("agent", "style"),
        "context": _t("text"),
        "proposals": _t("listing"),
        "job": _t("job"),
        "job_json": _t("job"),
        "task": _t("task"),
        "task_criteria": _t("task", "criteria"),
        "item": _t("text"),
        "story": _t("story_id", "task"),
        "code": _t("files"),
        "code_file": _t("path", "text"),
        "listing_line": _t("number", "author", "content", "results"),
        "results": _t("passed", "total", "failing"),
        "results_failing": _t("tests"),
        "results_none": _t("detail"),
        "propose": _t(),
        "critique": _t("author", "focus", "proposal"),
        "critique_focus": _t(),
        "revise": _t("proposal", "critiques"),
        "critique_line": _t("author", "severity", "comment"),
        "no_critiques": _t(),
        "vote": _t("n"),
        "tests": _t("task", "job"),
        "plan": _t("criteria"),  # fleet/council/plans.py: the architect's task DAG
        "plan_criterion": _t("number", "text"),
        "revise_plan": _t("job", "plan", "critiques"),
    },
    "patching": {
        "style_1": _t(),
        "style_2": _t(),
        "style_3": _t(),
        "style_4": _t(),
        "distrusted": _t(),
        "advisory": _t(),
        "not_tested": _t(),
        "no_results": _t(),
        "passes": _t("passed", "total"),
        "no_patch": _t(),
        "clipped": _t(),
        "candidate": _t("author", "status"),
        "fails": _t("failure"),
        "differs": _t("difference"),
        "own_patch": _t("status"),
        "own_patch_none": _t(),
        "own_code": _t("path", "code"),
        "failing_test": _t("test"),
        "critiques": _t(),
        "critique_line": _t("author", "severity", "comment"),
        "others": _t(),
        "improve": _t(),
        "improve_alone": _t(),
        "improve_differs": _t(),
        "critique": _t("focus", "candidate", "ask"),
        "ask_differs": _t(),
        "ask_clean": _t(),
        "ask_failing": _t(),
        "cited": _t("comment", "status", "fails", "differs"),
        "cited_fails": _t("failures"),
        "cited_differs": _t("differences"),
        "summary": _t("files"),
        "summary_nothing": _t(),
        "tests": _t("path"),
        "tests_rules": _t(),
        "item": _t("text"),
    },
    "examples": {
        "task": _t("task"),
        "code": _t("code"),
        "given": _t("examples"),
        "item": _t("text"),
        "ask": _t("wanted", "funcs", "name"),
        "or": _t(),
    },
    "context": {
        "summary_system": _t(),
        "summary_request": _t("history"),
    },
    "localise": {  # fleet/context/located.py
        "located": _t("path", "start", "end", "name", "code"),
    },
    "repro": {  # fleet/pipeline/repro.py: a bug report's reproduction test, a change's first test
        "criterion": _t("report"),
        "where": _t("name", "module"),
        "retry": _t("reason", "output"),
        "change": _t("report"),  # a change story's first test
        "change_where": _t("name", "module"),
        "change_retry": _t("reason", "output"),
    },
    "debug": {  # fleet/council/debugging.py: a developer fixes its candidate from its failures
        "own_patch": _t(),
        "failures": _t(),
        "failure": _t("failure"),
        "failing_test": _t("test"),
        "ask": _t(),
        "changed": _t(),
        "keep": _t(),
    },
    "distinguish": {  # fleet/council/distinguish.py: inputs that tell passing candidates apart
        "system": _t("role_prompt", "agent"),
        "task": _t("task"),
        "candidate": _t("number", "author", "diff"),
        "ask": _t("wanted", "funcs", "name"),
        "or": _t(),
        "table": _t("rows"),
        "row": _t("call", "outputs"),
        "output": _t("number", "observed"),
        "before": _t("observed"),
        "sep": _t(),
    },
}


def names() -> dict[str, frozenset[str]]:
    """Every declared template by its full name (``area.key``) with its variables."""
    return {f"{a}.{k}": v for a, keys in TEMPLATES.items() for k, v in keys.items()}


def placeholders(template: Template) -> set[str]:
    """The variables ``template`` uses (``$$`` is a literal, not one)."""
    return set(template.get_identifiers())


def _read(path: Path) -> dict[str, object]:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(file=str(path), key="", problem=f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        key = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file=str(path), key=key, problem=f"malformed YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(file=str(path), key="", problem="expected a mapping of template texts")
    return raw


def _check(file: str, key: str, text: object, allowed: frozenset[str]) -> Template:
    """One template, valid and using only its declared variables."""
    if not isinstance(text, str):
        raise ConfigError(file=file, key=key, problem="expected the template's text (a string)")
    template = Template(text)
    if not template.is_valid():
        raise ConfigError(
            file=file, key=key, problem="invalid placeholder: write $$ for a literal $"
        )
    unknown = sorted(placeholders(template) - allowed)
    if unknown:
        valid = ", ".join(f"${v}" for v in sorted(allowed)) or "(none)"
        raise ConfigError(
            file=file,
            key=key,
            problem=f"unknown placeholder ${unknown[0]}; this template may use: {valid}",
        )
    return template


def load(directory: Path) -> dict[str, Template]:
    """Every template of ``directory`` (``config/prompts/``), checked against ``TEMPLATES``.

    Raises:
        ConfigError: naming the file and the key: a file or template that is missing or not
            declared, a placeholder the template may not use, a ``$`` that is no placeholder.
    """
    on_disk = sorted(p.stem for p in directory.glob("*.yaml"))
    for area in on_disk:
        if area not in TEMPLATES:
            raise ConfigError(
                file=str(directory / f"{area}.yaml"),
                key="",
                problem=f"unknown prompts file; valid: {', '.join(f'{a}.yaml' for a in TEMPLATES)}",
            )
    out: dict[str, Template] = {}
    for area, declared in TEMPLATES.items():
        path = directory / f"{area}.yaml"
        raw = _read(path)
        out.update(_area(str(path), area, raw, declared))
    return out


def _area(
    file: str, area: str, raw: Mapping[str, object], declared: Mapping[str, frozenset[str]]
) -> dict[str, Template]:
    for key in raw:
        if key not in declared:
            raise ConfigError(
                file=file,
                key=str(key),
                problem=f"unknown template; valid: {', '.join(sorted(declared))}",
            )
    for key in declared:
        if key not in raw:
            raise ConfigError(file=file, key=key, problem="missing template")
    return {f"{area}.{k}": _check(file, k, raw[k], declared[k]) for k in declared}
