"""Merge tags: personal text from templates, safely, without ever showing a raw tag.

Templates are Jinja2 run in a `SandboxedEnvironment`, and are checked when they are saved:
only the merge-tag vocabulary below (plus names a caller adds), a short list of filters
and plain expressions (`if`, `for` over a list, comparisons, `~`) are accepted. Calls,
attribute or item access to anything private, `include`/`import`/`macro`/`set` and unknown
names are refused with their line and column, so a typo fails at save time rather than in
someone's inbox.

A value that is missing or empty renders its fallback: the template's own `default(...)`
first, then the item's fallbacks map, then the vocabulary's fallback. So "Hi {{ first_name }},"
renders "Hi there," for someone without a first name, never "Hi ," nor "Hi {{first_name}},".

The API (used by content and outreach):

    validate_template(text, field="body", allowed=None) -> None   # or raises ValidationFailed
    validate_fallbacks(fallbacks, field="fallbacks") -> dict[str, str]
    render(text, candidate, extra=None, fallbacks=None, *, html=False) -> str
    prepare(text, allowed=(), *, html=False) -> None              # check + compile ahead
    merge_values(candidate) -> dict[str, str]                     # what a person fills in

`candidate` is a `rapport.core.domain.Candidate` or a mapping of merge-tag values; `extra`
adds or overrides values (e.g. `unsubscribe_url`, `recruiter_name`, `role_title`). Names
outside `MERGE_TAGS` must be passed as `allowed` to `validate_template` and given in
`extra` to `render`.
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes, pass_eval_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from rapport.core.domain import Candidate
from rapport.core.errors import ValidationFailed, Violation

__all__ = [
    "MERGE_TAGS",
    "MergeTag",
    "merge_values",
    "prepare",
    "render",
    "template_names",
    "validate_fallbacks",
    "validate_template",
]

MAX_TEMPLATE_CHARS = 100_000
MAX_FALLBACK_CHARS = 200
MAX_OUTPUT_CHARS = 200_000
# Loops are bounded so a template cannot spin: at most this many, nested at most this deep,
# each over a merge tag (skills: ten items) or a literal list of at most MAX_LOOP_ITEMS.
MAX_LOOPS = 20
MAX_LOOP_DEPTH = 2
MAX_LOOP_ITEMS = 50


@dataclass(frozen=True)
class MergeTag:
    description: str
    fallback: str  # rendered when the value is missing or empty


# The vocabulary. Fallbacks read naturally where the tag usually sits ("Hi there,").
MERGE_TAGS: dict[str, MergeTag] = {
    "first_name": MergeTag("the candidate's first name", "there"),
    "last_name": MergeTag("the candidate's last name (prefer full_name in greetings)", ""),
    "full_name": MergeTag("first and last name", "there"),
    "headline": MergeTag("the candidate's headline", "your current role"),
    "current_company": MergeTag("where the candidate works now", "your company"),
    "city": MergeTag("the candidate's city", "your area"),
    "country": MergeTag("ISO country code of the candidate", "your country"),
    "seniority": MergeTag("intern .. executive", "experienced"),
    "skills": MergeTag("the candidate's first skills as a list (use with for/join)", ""),
    "top_skill": MergeTag("the candidate's first listed skill", "your craft"),
    "top_skills": MergeTag("the first three skills, comma separated", "your skills"),
    "role_title": MergeTag("the role this message is about", "this role"),
    "recruiter_name": MergeTag("who signs the message", "The recruiting team"),
    "company_name": MergeTag("the hiring company", "our team"),
    "content_title": MergeTag("the content item's title", "this"),
    "content_url": MergeTag("a link to the content item", ""),
    "unsubscribe_url": MergeTag("the one-click unsubscribe link", ""),
}

ALLOWED_FILTERS = frozenset(
    {
        "default",
        "d",
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "join",
        "first",
        "last",
        "length",
        "truncate",
        "replace",
        "escape",
        "e",
        "striptags",
        "wordcount",
    }
)
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "string", "number", "sequence"})
# Expression and statement nodes a merge-tag template may use; anything else is refused.
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.For,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.List,
    nodes.Tuple,
    nodes.Getitem,  # only skills[0]-style constant integer indexes, checked below
    nodes.Keyword,  # keyword arguments of filters: truncate(length=20)
)
_REFUSED_WHY = {
    nodes.Call: "function calls are not allowed in templates",
    nodes.Getattr: "attribute access is not allowed in templates; use the merge tags",
    nodes.Include: "include is not allowed in templates",
    nodes.Import: "import is not allowed in templates",
    nodes.FromImport: "import is not allowed in templates",
    nodes.Extends: "extends is not allowed in templates",
    nodes.Macro: "macros are not allowed in templates",
    nodes.CallBlock: "call blocks are not allowed in templates",
    nodes.Assign: "set is not allowed in templates",
    nodes.AssignBlock: "set is not allowed in templates",
}
# Names the template itself binds (loop variables and the loop helper), and what of the
# loop helper it may read.
_LOOP_NAMES = frozenset({"loop"})
LOOP_ATTRS = frozenset({"index", "index0", "first", "last", "length", "revindex"})
_ERROR_OFFSET = re.compile(r" at (\d+)$")
_OPENER = re.compile(r"\{\{|\{%")


class _Missing(Undefined):
    """A missing merge tag: falsy, so `default(...)` and `if` see it as absent, but printed
    as its fallback (never as an empty string or the raw tag)."""

    __slots__ = ()

    def __str__(self) -> str:
        return _fallback_for(self._undefined_name or "")

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


_fallbacks: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "rapport_template_fallbacks", default=None
)


def _fallback_for(name: str) -> str:
    own = (_fallbacks.get() or {}).get(name)
    if own:
        return own
    tag = MERGE_TAGS.get(name)
    return tag.fallback if tag else ""


def _environment(html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=html, undefined=_Missing, keep_trailing_newline=True, auto_reload=False
    )
    env.filters = {k: v for k, v in env.filters.items() if k in ALLOWED_FILTERS}
    env.filters["replace"] = _bounded_replace(env.filters["replace"])
    env.tests = {k: v for k, v in env.tests.items() if k in ALLOWED_TESTS}
    env.globals.clear()
    return env


def _bounded_replace(replace):
    """The replace filter, refusing (before doing it) a replacement whose result would be
    longer than any message may be: chained, it would otherwise grow a text exponentially."""

    @pass_eval_context
    def bounded(eval_ctx, s, old, new, count=None):
        text, old_s, new_s = str(s), str(old), str(new)
        hits = text.count(old_s) if old_s else len(text) + 1
        if count is not None and count >= 0:
            hits = min(hits, count)
        if len(text) + hits * (len(new_s) - len(old_s)) > MAX_OUTPUT_CHARS:
            raise SecurityError(f"replace would produce over {MAX_OUTPUT_CHARS} characters")
        return replace(eval_ctx, s, old, new, count)

    return bounded


def _loop_depth(node: nodes.Node) -> int:
    """How deeply `for` loops nest inside `node` (itself included)."""
    inner = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.For) else inner


def _bounded_iterable(node: nodes.Node) -> bool:
    """A loop may go over a merge tag or a bound name (bounded by the field limits), an
    item of one (skills[0]), or a literal list or string of at most MAX_LOOP_ITEMS."""
    if isinstance(node, nodes.Name | nodes.Getitem):
        return True
    if isinstance(node, nodes.List | nodes.Tuple):
        return len(node.items) <= MAX_LOOP_ITEMS
    if isinstance(node, nodes.Const):
        return not isinstance(node.value, str) or len(node.value) <= MAX_LOOP_ITEMS
    return False


_ENVS = {False: _environment(False), True: _environment(True)}
# Compiled templates and templates already checked (with the extra names allowed), so a
# library of a thousand items is parsed once, not on every render.
_compiled: dict[tuple[str, bool], Any] = {}
_checked: set[tuple[str, frozenset]] = set()
_compiled_lock = threading.Lock()
MAX_COMPILED = 8192


# ------------------------------------------------------------------ validation


def _locate(lines: list[str], lineno: int, token: str, seen: dict) -> int:
    """1-based column of the n-th occurrence (n counted per line and token) of `token` as a
    word inside a tag on `lineno`; the first tag opener on the line if not found."""
    if not 1 <= lineno <= len(lines):
        return 1
    line = lines[lineno - 1]
    nth = seen.get((lineno, token), 0)
    seen[(lineno, token)] = nth + 1
    spans = [(m.start(), _tag_end(line, m)) for m in _OPENER.finditer(line)]
    pattern = re.escape(token)
    if token[:1].isalnum() or token[:1] == "_":  # a name: whole words only
        pattern = rf"(?<![\w.]){pattern}(?!\w)"
    elif token[:1] == ".":  # an attribute: the dotted name, whole
        pattern = rf"{pattern}(?!\w)"
    hits = [
        m.start()
        for m in re.finditer(pattern, line)
        if not spans or any(a <= m.start() < b for a, b in spans)
    ]
    if hits:
        return hits[min(nth, len(hits) - 1)] + 1
    return spans[0][0] + 1 if spans else 1


def _tag_end(line: str, opener: re.Match) -> int:
    closer = "}}" if opener.group() == "{{" else "%}"
    end = line.find(closer, opener.end())
    return len(line) if end < 0 else end + 2


def _syntax_location(text: str, err: TemplateSyntaxError) -> tuple[int, int]:
    lineno = err.lineno or 1
    match = _ERROR_OFFSET.search(err.message or "")
    if match:  # the lexer names an absolute offset
        offset = int(match.group(1))
        before = text[:offset]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
    lines = text.splitlines() or [""]
    line = lines[min(lineno, len(lines)) - 1]
    env = _ENVS[False]
    for m in re.finditer(r"\{\{", line):  # the first expression on the line that fails alone
        try:
            env.parse(line[m.start() : _tag_end(line, m)])
        except TemplateSyntaxError:
            return lineno, m.start() + 1
    openers = [m.start() for m in _OPENER.finditer(line)]
    return lineno, (openers[-1] + 1) if openers else 1


def template_names(text: str) -> set[str]:
    """Every variable name a (syntactically valid) template reads."""
    ast = _ENVS[False].parse(text)
    return {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}


def validate_template(text: str, field: str = "body", allowed: Iterable[str] | None = None) -> None:
    """Raises ValidationFailed (one violation per problem, each "line L, column C: why") if
    `text` is not a safe merge-tag template. `allowed` adds names to MERGE_TAGS."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise ValidationFailed(Violation(field, f"longer than {MAX_TEMPLATE_CHARS} characters"))
    names = set(MERGE_TAGS) | set(allowed or ())
    try:
        ast = _ENVS[False].parse(text)
    except TemplateSyntaxError as err:
        line, col = _syntax_location(text, err)
        raise ValidationFailed(
            Violation(field, f"line {line}, column {col}: template syntax error: {err.message}")
        ) from None
    lines = text.splitlines()
    seen: dict = {}
    problems: list[tuple[int, int, str]] = []
    bound = set(_LOOP_NAMES)
    for node in ast.find_all(nodes.For):
        targets = [node.target, *node.target.find_all(nodes.Name)]
        bound |= {n.name for n in targets if isinstance(n, nodes.Name)}

    def refuse(node: nodes.Node, token: str, why: str) -> None:
        lineno = getattr(node, "lineno", 1) or 1
        problems.append((lineno, _locate(lines, lineno, token, seen), why))

    for node in ast.find_all(nodes.Node):
        kind = type(node)
        if (
            isinstance(node, nodes.Getattr)
            and isinstance(node.node, nodes.Name)
            and node.node.name == "loop"
            and node.attr in LOOP_ATTRS
        ):
            continue
        if kind in _REFUSED_WHY:
            token = "." + node.attr if isinstance(node, nodes.Getattr) else ""
            if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
                token = node.node.name
            refuse(node, token or "{", _REFUSED_WHY[kind])
        elif not isinstance(node, _ALLOWED_NODES):
            refuse(node, "{", f"{kind.__name__.lower()} expressions are not allowed in templates")
        elif isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in names | bound:
            refuse(
                node,
                node.name,
                f"unknown merge tag {node.name!r}; known: {', '.join(sorted(names))}",
            )
        elif isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            refuse(node, node.name, f"filter {node.name!r} is not allowed")
        elif isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            refuse(node, node.name, f"test {node.name!r} is not allowed")
        elif isinstance(node, nodes.Getitem) and not (
            isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, int)
        ):
            refuse(node, "[", "only constant integer indexes (skills[0]) are allowed")
        elif isinstance(node, nodes.For) and node.recursive:
            refuse(node, "for", "recursive loops are not allowed")
        elif isinstance(node, nodes.For) and not _bounded_iterable(node.iter):
            refuse(
                node,
                "for",
                f"loops go over a merge tag or a literal list of at most {MAX_LOOP_ITEMS} items",
            )
    loops = list(ast.find_all(nodes.For))
    if len(loops) > MAX_LOOPS:
        refuse(loops[MAX_LOOPS], "for", f"at most {MAX_LOOPS} loops in a template")
    for node in loops:
        if _loop_depth(node) > MAX_LOOP_DEPTH:
            refuse(node, "for", f"loops nest at most {MAX_LOOP_DEPTH} deep")
            break
    if problems:
        problems.sort()
        raise ValidationFailed(
            [Violation(field, f"line {ln}, column {col}: {why}") for ln, col, why in problems]
        )


def validate_fallbacks(fallbacks: Mapping[str, str] | None, field: str = "fallbacks") -> dict:
    """The fallbacks map of an item, checked: known merge tags, short non-empty texts."""
    out: dict[str, str] = {}
    problems = []
    for name, value in (fallbacks or {}).items():
        text = " ".join(str(value).split())
        if name not in MERGE_TAGS:
            problems.append(Violation(f"{field}.{name}", "not a merge tag"))
        elif not text:
            problems.append(Violation(f"{field}.{name}", "a fallback must not be empty"))
        elif len(text) > MAX_FALLBACK_CHARS:
            problems.append(
                Violation(f"{field}.{name}", f"longer than {MAX_FALLBACK_CHARS} characters")
            )
        elif "{{" in text or "{%" in text:
            problems.append(Violation(f"{field}.{name}", "a fallback is plain text, not a tag"))
        else:
            out[name] = text
    if problems:
        raise ValidationFailed(problems)
    return out


# ------------------------------------------------------------------ rendering


def merge_values(candidate: Candidate | Mapping[str, Any] | None) -> dict[str, Any]:
    """The merge-tag values a person fills in; empty values are left out (so they fall back)."""
    if candidate is None:
        return {}
    if isinstance(candidate, Mapping):
        raw = dict(candidate)
    else:
        skills = [s.label for s in candidate.skills if s.label]
        raw = {
            "first_name": candidate.first_name.strip(),
            "last_name": candidate.last_name.strip(),
            "full_name": " ".join(
                p.strip() for p in (candidate.first_name, candidate.last_name) if p.strip()
            ),
            "headline": candidate.headline,
            "current_company": candidate.current_company,
            "city": candidate.city,
            "country": candidate.country,
            "seniority": candidate.seniority.value,
            "skills": skills[:10],
            "top_skill": skills[0] if skills else "",
            "top_skills": ", ".join(skills[:3]),
        }
    return {k: v for k, v in raw.items() if _present(v)}


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | set | dict):
        return bool(value)
    return True


def _compile(text: str, html: bool):
    key = (text, html)
    template = _compiled.get(key)
    if template is None:
        template = _ENVS[html].from_string(text)
        with _compiled_lock:
            if len(_compiled) >= MAX_COMPILED:
                _compiled.clear()
            _compiled[key] = template
    return template


def _check(text: str, allowed: frozenset) -> None:
    key = (text, allowed)
    if key in _checked:
        return
    validate_template(text, "template", allowed=allowed)
    with _compiled_lock:
        if len(_checked) >= MAX_COMPILED:
            _checked.clear()
        _checked.add(key)


def prepare(text: str, allowed: Iterable[str] = (), *, html: bool = False) -> None:
    """Checks and compiles `text` ahead of its first render (a library loading its items),
    so that render itself only fills values in. Raises ValidationFailed like render."""
    _check(text, frozenset(allowed))
    _compile(text, html)


def render(
    text: str,
    candidate: Candidate | Mapping[str, Any] | None,
    extra: Mapping[str, Any] | None = None,
    fallbacks: Mapping[str, str] | None = None,
    *,
    html: bool = False,
) -> str:
    """`text` rendered for `candidate`. Raises ValidationFailed if the template is unsafe or
    names something neither MERGE_TAGS nor `extra` provides (the same check as at save
    time). `html=True` escapes values for an HTML body."""
    values = merge_values(candidate)
    values.update({k: v for k, v in (extra or {}).items() if _present(v)})
    _check(text, frozenset(extra or ()))
    token = _fallbacks.set(dict(fallbacks or {}))
    try:
        out = _bounded_render(_compile(text, html), values)
    except SecurityError as err:
        raise ValidationFailed(Violation("template", f"unsafe template: {err}")) from None
    except TemplateError as err:
        raise ValidationFailed(Violation("template", f"cannot render: {err}")) from None
    finally:
        _fallbacks.reset(token)
    return out


def _bounded_render(template, values: Mapping[str, Any]) -> str:
    """The rendered text, stopped as soon as it grows past MAX_OUTPUT_CHARS (not after a
    loop has built it all in memory)."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(values):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise ValidationFailed(
                Violation("template", f"renders to over {MAX_OUTPUT_CHARS} chars")
            )
        parts.append(chunk)
    return "".join(parts)
