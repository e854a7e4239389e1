"""Turn an :class:`~autograder.engine.Outcome` into the short report a learner reads."""
from __future__ import annotations

from autograder.judge import ERROR, FAILED, NOT_ATTEMPTED, PASSED, Outcome

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
    explained = set()
    for case in outcome.cases:
        label = f"hidden check, {case.label}" if case.hidden else case.label
        if case.status == PASSED:
            lines.append(f"  ✓ {label}")
            continue
        lines.append(f"  {_MARK[case.status]} {label}: {case.message}")
        if case.likely_mistake:
            name = case.likely_mistake.split(":")[0]
            shown = f"{name} (as above)" if case.likely_mistake in explained else case.likely_mistake
            lines.append(f"      likely mistake: {shown}")
            explained.add(case.likely_mistake)
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
