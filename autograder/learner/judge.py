"""Judging a case from plain-data replies: one definition for the notebook, a student's release and
the instructor's grading.

The inputs are :mod:`autograder.learner.wire` replies: the learner's, the reference's (computed live, or
shipped for public cases in a class release) and, when a case fails, the catalogued mistakes'. The
ladder: did the code run (not attempted, raised, timed out), did it change its inputs, then the
exercise's comparison of every value it sent back. Hidden cases get redacted messages: what was
tested and what was wrong, never the expected value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from autograder.learner import wire
from autograder.learner.checks import Comparison, Mismatch, describe, same_inputs, same_value

PASSED, FAILED, NOT_ATTEMPTED, ERROR = "passed", "failed", "not attempted", "error"


@dataclass
class Info:
    """What the report needs to know about an exercise."""

    id: str
    title: str
    points: float
    hints: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    label: str
    status: str
    message: str = ""
    likely_mistake: str = ""
    hidden: bool = False
    notes: list[str] = field(default_factory=list)  # for the instructor: signs of an attempt to game a check
    diagnosable: bool = field(default=False, repr=False)  # a wrong value or an error: may match a known mistake
    weight: float = 1.0  # its share of the exercise's points (a degenerate edge case counts less)


@dataclass
class Outcome:
    """Everything the view needs: per-case results, points and the overall status."""

    info: Info
    hidden: bool
    cases: list[CaseResult] = field(default_factory=list)
    problem: str = ""  # set when the object could not be checked at all

    @property
    def passed(self) -> int:
        return sum(c.status == PASSED for c in self.cases)

    @property
    def points(self) -> float:
        """Partial credit: the exercise's points times the weighted share of the cases passed."""
        if not self.cases or self.status == NOT_ATTEMPTED:
            return 0.0
        return _credit(self.info.points, self.cases)

    @property
    def status(self) -> str:
        if self.problem:
            return ERROR
        if self.cases and all(c.status == NOT_ATTEMPTED for c in self.cases):
            return NOT_ATTEMPTED
        if self.cases and all(c.status == PASSED for c in self.cases):
            return PASSED
        return FAILED

    def public_points(self) -> float:
        """Points on the public cases alone (what the learner's own notebook can show)."""
        public = [c for c in self.cases if not c.hidden]
        if self.problem or not public or all(c.status == NOT_ATTEMPTED for c in public):
            return 0.0
        return _credit(self.info.points, public)


def _credit(points: float, cases: list[CaseResult]) -> float:
    total = sum(c.weight for c in cases)
    return round(points * sum(c.weight for c in cases if c.status == PASSED) / total, 2) if total else 0.0


@dataclass
class Answer:
    """A decoded reply: the target's description and each step's decoded result."""

    target: dict | None
    steps: list[dict]
    kernel: list[str] = field(default_factory=list)  # what the kernel's shim noticed ("displayhook"): flags only

    @property
    def failure(self) -> dict | None:
        return next((s for s in self.steps if s["status"] != "ok"), None)

    def values(self, request: dict) -> list:
        """The values of the steps that send one, in order."""
        return [s["value"] for step, s in zip(request["steps"], self.steps) if "value" in s]


def _text(value, limit: int) -> str:
    """A string field of a reply, cut to ``limit``; anything that is not a plain string reads as ''."""
    return value[:limit] if type(value) is str else ""


KERNEL_FACTS = {"displayhook"}


def read_reply(reply) -> Answer:
    """Decode a raw reply with :func:`wire.decode` only; raises WireError if it is malformed.

    Every field is type-checked before use (no ``str()`` or ``repr()`` of a kernel's structure), and a
    structure too deep to walk is a WireError, the submission's fault, never the grader's.
    """
    try:
        return _read_reply(reply)
    except RecursionError:
        raise wire.WireError(wire.TOO_DEEP) from None


def _read_reply(reply) -> Answer:
    if type(reply) is dict and "oversize" in reply:
        size = reply["oversize"]
        raise wire.WireError(wire.too_large(wire.MAX_REPLY_BYTES) + (
            f" ({size / 2**20:.0f} MB)" if type(size) is int and size > wire.MAX_REPLY_BYTES else ""))
    if type(reply) is not dict or type(reply.get("steps")) is not list:
        raise wire.WireError("the reply is not a protocol reply")
    target = reply.get("target")
    if target is not None and (type(target) is not dict or type(target.get("callable")) is not bool):
        raise wire.WireError("bad target description")
    steps = []
    for raw in reply["steps"]:
        if type(raw) is not dict or raw.get("status") not in ("ok", "raised", "protocol"):
            raise wire.WireError("bad step result")
        step = {"status": raw["status"], "type": _text(raw.get("type"), 80),
                "message": _text(raw.get("message"), wire.MAX_TEXT)}
        if "value" in raw:
            step["value"] = wire.decode(raw["value"])
        if "inputs" in raw:
            step["inputs"] = wire.decode(raw["inputs"])
        if type(raw.get("subclass")) is str:
            step["subclass"] = raw["subclass"][:80]
        warnings = raw.get("warnings", [])
        step["warnings"] = [{"category": _text(w.get("category"), 80), "message": _text(w.get("message"), wire.MAX_TEXT)}
                            for w in (warnings if type(warnings) is list else []) if type(w) is dict]
        steps.append(step)
    kernel = reply.get("kernel")
    facts = [f for f in kernel if type(f) is str and f in KERNEL_FACTS] if type(kernel) is list else []
    return Answer(target and {"type": _text(target.get("type"), 80), "callable": target["callable"],
                              "repr": _text(target.get("repr"), 200)}, steps, list(dict.fromkeys(facts)))


def calls_target(request: dict) -> bool:
    """True when the request calls the learner's object (False for an answer read back as a value)."""
    return any(str(step.get("call", "")).startswith("@") for step in request["steps"])


def target_problem(answer: Answer, name: str, request: dict | None = None) -> str:
    """Why the learner's object cannot be checked at all ('' when it can)."""
    if answer.target is None:
        return f"`{name}` is not defined: run the cell where you define it, then run this check again."
    if request is not None and not calls_target(request):
        return ""
    if not answer.target["callable"]:
        return (f"expected a function, got {answer.target['type']}: {answer.target['repr']}. "
                "Pass the function itself, without calling it.")
    return ""


def _raised_message(failure: dict) -> tuple[str, str]:
    kind, text = failure["type"], failure["message"]
    if failure["status"] == "protocol":
        return ERROR, f"the grader could not run this case: {text}"
    if kind == "NotImplementedError":
        return NOT_ATTEMPTED, "not attempted yet (the stub raises NotImplementedError)"
    if kind == "SystemExit":
        return ERROR, "your code called sys.exit() (SystemExit) inside the function: return the value instead"
    if kind == "KeyboardInterrupt":
        return ERROR, "your code did not finish in time and was stopped (an endless loop?)"
    if kind == "MemoryError":
        return ERROR, "your code ran out of memory (the grader's memory limit); does it build a huge array?"
    if kind == "BlockingIOError" and "Resource temporarily unavailable" in text:
        return ERROR, "your code hit the grader's limit on processes: it starts too many"
    return ERROR, f"your code raised {kind}: {text}"


def _same_answer(a: Answer, b: Answer, request: dict) -> bool:
    fa, fb = a.failure, b.failure
    if fa or fb:
        return bool(fa and fb and (fa["type"], fa["message"]) == (fb["type"], fb["message"]))
    va, vb = a.values(request), b.values(request)
    return len(va) == len(vb) and all(same_value(x, y) for x, y in zip(va, vb))


def _changed_inputs(answer: Answer, request: dict) -> bool:
    for step, result in zip(request["steps"], answer.steps):
        if "inputs" in result:
            original = [wire.decode({"t": "list", "v": step.get("args", [])}),
                        wire.decode({"t": "dict", "v": [[k, v] for k, v in step.get("kwargs", {}).items()]})]
            if not same_inputs(original[0], list(result["inputs"][0])) or not same_inputs(original[1], result["inputs"][1]):
                return True
    return False


def integrity_notes(answer: Answer) -> list[str]:
    """What in a reply looks like an attempt to game the check rather than to solve the exercise."""
    notes = [f"returned a {s['subclass']}, a home-made subclass of a plain type (graded by its plain value)"
             for s in answer.steps if s.get("subclass")]
    if "displayhook" in answer.kernel:
        notes.append("replaced sys.displayhook (the kernel's own report)")
    failure = answer.failure
    if failure and failure["type"] == "SystemExit":
        notes.append("raised SystemExit (sys.exit or exit()) inside the graded function")
    if failure and "solutions" in failure["message"] and failure["type"] in (
            "ModuleNotFoundError", "ImportError", "FileNotFoundError", "PermissionError", "OSError", "NotADirectoryError"):
        notes.append("tried to reach the reference library")
    return notes


def judge(label: str, hidden: bool, request: dict, answer: Answer, expected: Answer, compare: Comparison,
          forbid_warnings: bool = False) -> CaseResult:
    """The result of one case: run, then inputs intact, then every sent value compared.

    With ``forbid_warnings`` a correct value computed with a RuntimeWarning (an overflow) fails. Known
    mistakes are named afterwards, over all cases at once (:func:`name_mistakes`).
    """
    result = _judge(label, hidden, request, answer, expected, compare)
    warned = [w for s in answer.steps for w in s["warnings"] if w.get("category") == "RuntimeWarning"]
    if forbid_warnings and warned and result.status == PASSED:
        result = CaseResult(label, FAILED, f"right values, but NumPy warned: {str(warned[0].get('message', ''))[:200]}; "
                            "compute it so that nothing overflows (subtract the max, or split by sign)",
                            hidden=hidden, diagnosable=True)
    result.notes = integrity_notes(answer)
    return result


def _judge(label: str, hidden: bool, request: dict, answer: Answer, expected: Answer, compare: Comparison) -> CaseResult:
    failure = answer.failure
    if failure:
        status, message = _raised_message(failure)
        if expected.failure and failure["type"] == expected.failure["type"]:
            return CaseResult(label, PASSED, hidden=hidden)  # the case expects this error
        return CaseResult(label, status, message, hidden=hidden, diagnosable=status == ERROR)
    if not calls_target(request) and answer.values(request) == [None]:
        return CaseResult(label, NOT_ATTEMPTED, "not answered yet (the answer is still None)", hidden=hidden)
    if expected.failure:
        return CaseResult(label, FAILED, f"expected your code to raise {expected.failure['type']}, "
                          "but it returned normally", hidden=hidden)
    if _changed_inputs(answer, request):
        return CaseResult(label, FAILED, "your function changed its input in place; work on a copy "
                          "(e.g. `x = x.copy()` or `x = x - m` instead of `x -= m`)", hidden=hidden)
    got, want = answer.values(request), expected.values(request)
    if len(got) != len(want):
        return CaseResult(label, FAILED, f"expected {len(want)} values back, got {len(got)}: {describe(got)}",
                          hidden=hidden)
    for index, (value, target) in enumerate(zip(got, want)):
        try:
            compare(value, target)
        except Mismatch as exc:
            message = exc.redacted if hidden else str(exc)
            if len(want) > 1:
                message = f"value {index + 1} of {len(want)}: {message}"
            overflow = [w for s in answer.steps for w in s["warnings"] if w.get("category") == "RuntimeWarning"]
            if overflow:
                message += f" NumPy warned: {str(overflow[0].get('message', ''))[:200]}."
            return CaseResult(label, FAILED, message, hidden=hidden, diagnosable=exc.kind != "precision")
        except Exception as exc:  # a comparison never crashes: say what could not be compared
            return CaseResult(label, FAILED, f"your result could not be compared with the expected one "
                              f"({type(exc).__name__}: {exc}); got {describe(value)}", hidden=hidden)
    return CaseResult(label, PASSED, hidden=hidden)


def name_mistakes(results: list[CaseResult], runs: list[tuple[dict, Answer]],
                  mistakes: Callable[[int], list[tuple[str, str, Answer]]]) -> None:
    """Name a catalogued mistake on the failed cases, only if the learner's replies match it on EVERY case.

    ``runs[i]`` is case i's request and the learner's answer; ``mistakes(i)`` the catalogue's answers
    for case i. A wrong type or shape is never blamed on a formula: only wrong values and errors are
    named. Partial resemblance names nothing: a guess that is right on two cases of seven misleads.
    """
    failed = [i for i, r in enumerate(results) if r.diagnosable]
    if not failed or len(runs) != len(results):
        return
    per_case = [mistakes(i) for i in range(len(runs))]
    for k, (name, diagnosis, _) in enumerate(per_case[0] if per_case else []):
        if all(_same_answer(answer, per_case[i][k][2], request) for i, (request, answer) in enumerate(runs)):
            for i in failed:
                results[i].likely_mistake = f"{name}: {diagnosis}"
            return
