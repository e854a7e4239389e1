"""Turn an :class:`~autograder.grading.engine.Outcome` into the short report a learner reads (text, and HTML)."""
from __future__ import annotations

import html

from autograder.learner.judge import ERROR, FAILED, NOT_ATTEMPTED, PASSED, Outcome

_MARK = {PASSED: "✓", FAILED: "✗", ERROR: "✗", NOT_ATTEMPTED: "·"}


def render(outcome: Outcome) -> str:
    ex = outcome.info
    n_hidden = sum(c.hidden for c in outcome.cases)
    suite = f"checks ({n_hidden} of them hidden)" if n_hidden else "checks"
    head = f"{ex.title} [{ex.id}]: {outcome.points:g} / {ex.points:g} points"
    if outcome.status == ERROR:
        return f"{head}\n  ✗ {outcome.problem}"
    if not outcome.cases:
        return f"{head}\n  · Checked when your instructor grades: your copy of the course does not hold this answer."
    if outcome.status == NOT_ATTEMPTED:
        return (f"{head}\n  · Not attempted yet: replace `raise NotImplementedError()` with your code, "
                f"run that cell, then run this one.\n  Stuck? hint(\"{ex.id}\") gives a hint.")
    lines = [head, f"  {outcome.passed} of {len(outcome.cases)} {suite} passed."]
    for case in outcome.cases:
        label = f"hidden check, {case.label}" if case.hidden else case.label
        if case.status == PASSED:
            lines.append(f"  ✓ {label}")
            continue
        lines.append(f"  {_MARK[case.status]} {label}: {case.message}")
    likely = next((c.likely_mistake for c in outcome.cases if c.likely_mistake), "")
    if likely:
        lines.append(f"  → likely mistake: {likely} (your results match it on every check)")
    if outcome.status == PASSED:
        lines.append("  All correct. Well done!")
    else:
        lines.append(f"  Stuck? hint(\"{ex.id}\") gives a hint; call it again for the next one.")
    return "\n".join(lines)


def summary(outcome: Outcome) -> str:
    """One line for the JSON report of ``python -m autograder check``."""
    if outcome.status in (ERROR, NOT_ATTEMPTED):
        return outcome.problem or "not attempted"
    failed = [c for c in outcome.cases if c.status != PASSED]
    if not failed:
        return "all checks passed"
    first = failed[0]
    text = f"{len(failed)} of {len(outcome.cases)} checks failed; first: {first.label}: {first.message}"
    return text + (f" (likely mistake: {first.likely_mistake})" if first.likely_mistake else "")


_COLOURS = {"✓": "#1a7f37", "✗": "#cf222e", "·": "#6e7781", "→": "#9a6700"}


def render_html(text: str) -> str:
    """The text report as HTML for JupyterLab: the same lines, the marks in colour, the score in bold."""
    rows = []
    for index, line in enumerate(text.splitlines()):
        body = html.escape(line)
        mark = line.strip()[:1]
        if index == 0:
            body = f"<b>{body}</b>"
        elif mark in _COLOURS:
            body = body.replace(mark, f'<span style="color:{_COLOURS[mark]};font-weight:bold">{mark}</span>', 1)
        rows.append(body)
    return ('<pre class="nncourse-report" style="white-space:pre-wrap;font-size:0.92em;margin:0">'
            + "\n".join(rows) + "</pre>")
