"""Trusted grading: the score of every grade cell is decided here, outside the learner's kernel.

:class:`TrustedExecute` replaces nbgrader's ``Execute`` at autograding. It runs the notebook top to
bottom in an isolated kernel (:mod:`autograder.grading.sandbox`). At each grade cell, after the kernel ran
the cell (the learner's own feedback), it reads the exercise id and the learner's object name from
the grade cell's source (restored by nbgrader from the gradebook, so trustworthy), and checks the
object through :mod:`autograder.learner.wire`: one request per case, each case's inputs sent as plain data,
the reply decoded here and judged here against the reference and the hidden cases, which never
leave this process. The grade cell's outputs are then replaced by the trusted report (hidden cases
redacted) ending with the trusted score, which is what nbgrader records. When the notebook's own
display claimed more than the trusted public score, the cell is flagged.

A kernel that dies (``os._exit``, a crash, a limit) costs only the cell it died in: the grader
starts a new kernel, replays the cells before it (except grade cells and cells that killed a
kernel) and goes on. Every such event gets a one-line reason in the log and in the notebook's
``nncourse_grading`` metadata, with the isolation level and any flags.
"""
from __future__ import annotations

import ast
import json
import tempfile
from functools import lru_cache
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool, Dict, Integer, Unicode

from autograder import registry
from autograder.grading import engine
from autograder.grading.sandbox import SandboxedKernelManager
from autograder.grading.secret import load_or_create
from autograder.learner import bundle, report, wire
from autograder.learner.api import GRADE_MIME

WIRE_SOURCE = Path(wire.__file__).read_text()
METADATA_KEY = "nncourse_grading"


@lru_cache(maxsize=32)
def _public_checks(exercise_ids: tuple[str, ...]) -> str:
    """The kernel's public checks for these exercises, built once per grading process (not per student)."""
    return json.dumps(bundle.build([registry.EXERCISES[i] for i in exercise_ids]))


class KernelGone(Exception):
    """The kernel stopped answering during trusted checks; ``reason`` says why."""


def grade_calls(source: str) -> list[tuple[str, str]]:
    """``(exercise id, object name)`` of each ``grade("id", name)`` call in a grade cell, in order, once each."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "grade"
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str) and isinstance(node.args[1], ast.Name)):
            call = (node.args[0].value, node.args[1].id)
            if call not in found:
                found.append(call)
    return found


def syntax_error_defining(nb, name: str) -> str:
    """Where the code cell that defines ``name`` has a syntax error ('' when none does)."""
    from IPython.core.inputtransformer2 import TransformerManager

    from autograder.learner.api import _defined_names

    for cell in nb.cells:
        if cell.cell_type == "code" and name in _defined_names(cell.source):
            try:
                ast.parse(TransformerManager().transform_cell(cell.source))
            except SyntaxError as exc:
                return f"line {exc.lineno}: {exc.msg}"
    return ""


SILENCERS = ("errstate(", "seterr(", "filterwarnings(", "simplefilter(", "catch_warnings(", "resetwarnings(",
             "showwarning", "warnings.warn =", "sys.warnoptions")


def silenced_warnings(nb, exercise) -> list[str]:
    """A flag when an exercise that forbids warnings sits in a notebook whose solution cells silence them.

    Only a flag for the instructor: the points come from the values on the inputs where the naive
    formula overflows (to inf, nan or a wrong 0), which silencing does not change.
    """
    if not getattr(exercise, "forbid_warnings", False):
        return []
    found = sorted({word.rstrip("( =") for cell in nb.cells if cell.cell_type == "code" and is_solution(cell)
                    for word in SILENCERS if word in cell.source})
    if not found:
        return []
    return [f"a solution cell silences NumPy warnings ({', '.join(found)}) in a notebook with an exercise that "
            "forbids overflow warnings; check it by hand"]


def public_answers_only(outcome) -> list[str]:
    """A flag when every public case passes and every hidden case gets a wrong value.

    The public cases' expected values ship in the class release, so this is what a table of them
    scores (10% of the points, :data:`engine.PUBLIC_SHARE`). Honest code with a bug the public cases
    miss can look the same: the flag asks for a look, it changes no points.
    """
    public = [case for case in outcome.cases if not case.hidden]
    hidden = [case for case in outcome.cases if case.hidden]
    if public and hidden and all(c.status == engine.PASSED for c in public) and \
            all(c.status == engine.FAILED for c in hidden):
        return [f"passed every public case and none of the {len(hidden)} hidden ones (answers copied from the "
                "public checks?); check it by hand"]
    return []


def _kernel_claim(cell) -> float | None:
    """The largest score the kernel's own check showed: the number the cell ended with, or its report.

    In the kernel both are the public checks' points; None when it showed neither.
    """
    shown = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.get("output_type") == "execute_result":
            shown.append(data.get("text/plain"))
        elif output.get("output_type") == "display_data" and isinstance(data.get(GRADE_MIME), dict):
            shown.append(data[GRADE_MIME].get("public_points", data[GRADE_MIME].get("points")))
    numbers = []
    for value in shown:
        try:
            numbers.append(float("".join(value) if isinstance(value, list) else value))
        except (TypeError, ValueError):
            continue
    return max(numbers) if numbers else None


# -- what the trusted side reads from the kernel: bounded as it arrives ------------------------------
UNREADABLE = "nncourse_unreadable"  # the msg_type of a kernel message that was too large or too deep to read
TRUNCATED = "nncourse_truncated"    # metadata key of the one output that stands for a cell's dropped outputs
OUTPUT_TYPES = frozenset({"stream", "display_data", "execute_result", "error", "update_display_data"})
HEADER_BYTES = 2**20                # a message's header, parent header or metadata frame


def _megabytes(n: int) -> str:
    return f"{n / 2**20:g} MB"


def _read_message(session, frames, limit: int, shell: bool) -> dict:
    """One kernel message from its ZeroMQ frames, or a small stand-in when it is too large or too deep.

    The size of the content and buffers is read from the frames before anything is parsed, so a
    message over ``limit`` bytes is never decoded into Python objects. A stand-in keeps the parent
    header (so nbclient files it under the right cell) and says why; on the shell channel it is an
    ``error`` reply, so the cell ends as an error, not a timeout.
    """
    _, parts = session.feed_identities(frames, copy=False)
    size = sum(len(part) for part in parts[4:])
    reason = ""
    if len(parts) < 5 or any(len(part) > HEADER_BYTES for part in parts[1:4]):
        reason = "a malformed message"
    elif size > limit:
        reason = f"more than {_megabytes(limit)} in one message"
    else:
        try:
            msg = session.deserialize(parts, copy=False)
            msg["nncourse_bytes"] = size
            return msg
        except RecursionError:
            reason = "a message nested too deeply to read"
    header, parent = {}, {}
    if len(parts) >= 5 and reason != "a malformed message":
        try:
            header, parent = (session.unpack(bytes(parts[i].bytes)) for i in (1, 2))
        except (RecursionError, ValueError, TypeError):
            header, parent = {}, {}
    header = header if isinstance(header, dict) else {}
    parent = parent if isinstance(parent, dict) and isinstance(parent.get("msg_id"), str) else {}
    msg_type = header.get("msg_type") if shell and isinstance(header.get("msg_type"), str) else UNREADABLE
    content = {"reason": reason, "bytes": size}
    if shell:
        content = {"status": "error", "ename": "OutputTooLarge", "evalue": f"the kernel sent {reason}",
                   "traceback": [f"OutputTooLarge: the kernel sent {reason}; the grader did not read it"],
                   "execution_count": None, "user_expressions": {}, "payload": []}
    return {"header": {"msg_type": msg_type, "msg_id": ""}, "msg_id": "", "msg_type": msg_type,
            "parent_header": parent, "metadata": {}, "content": content, "buffers": [], "nncourse_bytes": 0}


def _bounded_recv(channel, limit: int, shell: bool):
    """A replacement for a jupyter_client channel's ``_recv`` that reads through :func:`_read_message`."""
    socket, session = channel.socket, channel.session

    async def _recv(**kwargs):
        frames = await socket.recv_multipart(copy=False)
        try:
            return _read_message(session, frames, limit, shell)
        except Exception:  # nothing a kernel sends may stop the grading: an unreadable message is dropped
            return {"header": {"msg_type": UNREADABLE, "msg_id": ""}, "msg_id": "", "msg_type": UNREADABLE,
                    "parent_header": {}, "metadata": {}, "content": {"reason": "a malformed message", "bytes": 0},
                    "buffers": [], "nncourse_bytes": 0}

    return _recv


class TrustedExecute(Execute):
    """nbgrader's Execute, with every grade cell scored by the trusted side (see the module docstring)."""

    isolation = Unicode("auto", help="namespace, limits, auto (the best available) or none").tag(config=True)
    limits = Dict(help="overrides of autograder.grading.sandbox.Limits, e.g. {'memory_bytes': 2147483648}").tag(config=True)
    use_course_secret = Bool(True, help="draw hidden cases from the course's secret (else the self-paced set)"
                             ).tag(config=True)
    max_kernel_restarts = Integer(3, help="kernels started again after a death before giving up").tag(config=True)
    max_reply_bytes = Integer(wire.MAX_REPLY_BYTES, help="the largest reply (JSON text) a kernel may send for one "
                              "request; larger is the submission's fault").tag(config=True)
    max_message_bytes = Integer(2 * wire.MAX_REPLY_BYTES + 2**20, help="the largest kernel message read at all "
                                "(content and buffers); larger ones are dropped unread").tag(config=True)
    max_cell_output_bytes = Integer(2 * wire.MAX_REPLY_BYTES + 2**20, help="outputs read per executed cell or "
                                    "request; beyond it they are dropped").tag(config=True)
    max_notebook_output_bytes = Integer(64 * 2**20, help="outputs kept in the graded notebook, all cells "
                                        "together; beyond it they are dropped").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        # Only the grader writes nncourse_grading: whatever the learner's file holds under that key is dropped.
        nb.metadata.pop(METADATA_KEY, None)
        for cell in nb.cells:
            cell.metadata.pop(METADATA_KEY, None)
        NotebookClient.__init__(self, nb, km)  # as nbconvert's ExecutePreprocessor.preprocess does
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.events: list[str] = []
        self.flags: list[str] = []
        root = Path(CourseDirectory(config=self.config).root or ".").resolve()
        self.course_root = root
        self.secret = load_or_create(root) if self.use_course_secret else None
        with tempfile.TemporaryDirectory(prefix="nncourse-checks-") as scratch:
            self.checks_file = Path(scratch) / bundle.FILENAME
            self.checks_file.write_text(_public_checks(tuple(ex.id for ex in self._exercises())))
            self._run_all()
        self.nb.metadata[METADATA_KEY] = {"isolation": getattr(self, "isolation_used", "none"),
                                          "sandbox": getattr(self, "sandbox_report", {}),
                                          "events": self.events, "flags": self.flags}
        self.set_widgets_metadata()
        return self.nb, self.resources

    # -- the kernel ------------------------------------------------------------------------------
    def create_kernel_manager(self):
        if self.isolation == "none":
            return super().create_kernel_manager()
        self.km = SandboxedKernelManager(kernel_name=self.nb.metadata.get("kernelspec", {}).get("name", "python3"),
                                         config=self.config)
        self.km.level, self.km.limits = self.isolation, dict(self.limits)
        self.km.course_root, self.km.checks_file = str(self.course_root), str(self.checks_file)
        return self.km

    def start_new_kernel_client(self):
        """nbclient's client, reading iopub and shell through :func:`_bounded_recv`."""
        kc = super().start_new_kernel_client()
        kc.iopub_channel._recv = _bounded_recv(kc.iopub_channel, self.max_message_bytes, shell=False)
        kc.shell_channel._recv = _bounded_recv(kc.shell_channel, self.max_message_bytes, shell=True)
        return kc

    def process_message(self, msg, cell, cell_index):
        """nbclient's, with a byte budget per execution and per notebook, enforced as messages arrive.

        Outputs beyond ``max_cell_output_bytes`` for one execution (a cell, or one request to the
        kernel), or beyond ``max_notebook_output_bytes`` kept in the notebook, are dropped and stand
        as one ``display_data`` output marked ``nncourse_truncated``.
        """
        parent = msg.get("parent_header", {}).get("msg_id")
        budget = getattr(self, "_budget", None)
        if budget is None or budget["parent"] != parent:
            budget = self._budget = {"parent": parent, "used": 0, "truncated": False}
        msg_type = msg.get("msg_type")
        if msg_type == UNREADABLE:
            self._truncate(cell, cell_index, msg["content"].get("reason", "an unreadable message"))
            return None
        if msg_type in OUTPUT_TYPES:
            size = int(msg.get("nncourse_bytes", 0))
            aside = getattr(self, "_aside", 0) > 0
            kept = getattr(self, "_kept_bytes", 0)
            if budget["truncated"] or budget["used"] + size > self.max_cell_output_bytes:
                self._truncate(cell, cell_index, f"more than {_megabytes(self.max_cell_output_bytes)} of output")
                return None
            if not aside and kept + size > self.max_notebook_output_bytes:
                self._truncate(cell, cell_index, f"more than {_megabytes(self.max_notebook_output_bytes)} of "
                               "output in the notebook")
                return None
            budget["used"] += size
            if not aside:
                self._kept_bytes = kept + size
        return super().process_message(msg, cell, cell_index)

    def _truncate(self, cell, cell_index: int, reason: str) -> None:
        """Stand for the outputs dropped from this execution (once), and say so."""
        budget = self._budget
        if budget["truncated"]:
            return
        budget["truncated"] = True
        cell.outputs.append(NotebookNode(output_type="display_data", metadata={TRUNCATED: reason},
                                         data={"text/plain": f"[the grader dropped the rest of this cell's output: "
                                                             f"{reason}]"}))
        if getattr(self, "_aside", 0) <= 0:
            self.events.append(f"cell {cell_index}: output dropped ({reason})")
            self.log.warning("%s: cell %d: output dropped (%s)", self._who(), cell_index, reason)

    def _death_reason(self) -> str:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        limits = getattr(self.km, "report", {}).get("limits", {})
        if code is None:
            return "the kernel stopped responding"
        if code in (-24, 152):  # SIGXCPU
            return f"the kernel hit the CPU-time limit ({limits.get('cpu_seconds', '?')} s)"
        oom = getattr(self.km, "oom_killed", lambda: False)()
        if oom or code in (-9, 137):
            memory = getattr(self.km, "report", {}).get("memory", "")
            if oom:
                return f"the submission ran out of memory: its processes together used more than its limit ({memory}) and it was stopped"
            return "the kernel was killed (out of memory, or a limit)"
        if code in (-11, 139):
            return "the kernel crashed (segmentation fault)"
        return f"the kernel exited with status {code} (os._exit or sys.exit in the notebook?)"

    def _run_all(self) -> None:
        self._kept_bytes = 0  # outputs kept in this notebook (max_notebook_output_bytes)
        start, skipped, restarts = 0, set(), 0
        while start is not None:
            start = self._run_session(start, skipped)
            if start is not None:
                restarts += 1
                if restarts > self.max_kernel_restarts:
                    self._give_up(start, f"not graded: the kernel died {restarts} times")
                    return

    def _run_session(self, start: int, skipped: set) -> int | None:
        """Run cells from ``start`` in a new kernel; the index to go on from after a death, else None."""
        resume = None
        with self.setup_kernel():
            manager = self.km
            self.isolation_used = getattr(manager, "report", {}).get("isolation", "none")
            self.sandbox_report = {key: value for key, value in getattr(manager, "report", {}).items()
                                   if key in ("memory", "network", "transport", "limits")}
            info_msg = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            try:
                self._replay(start, skipped)
            except (DeadKernelError, CellTimeoutError):
                self._give_up(start, "not graded: the kernel died again while the cells before were run again")
                return None
            index = start
            try:
                for index in range(start, len(self.nb.cells)):
                    self._run_cell(index)
            except (DeadKernelError, KernelGone, CellTimeoutError) as exc:
                if isinstance(exc, CellTimeoutError):
                    reason = f"the cell did not finish within {self.timeout} s and ignored the interrupt"
                else:
                    reason = exc.args[0] if isinstance(exc, KernelGone) else self._death_reason()
                self._record_death(index, reason, graded=isinstance(exc, KernelGone))
                skipped.add(index)
                resume = index + 1 if index + 1 < len(self.nb.cells) else None
        left = getattr(manager, "report", {}).get("leftover_processes")
        if left:
            self.events.append(f"{left} process(es) the notebook left running were stopped")
        return resume

    def _replay(self, start: int, skipped: set) -> None:
        """After a restart: run again the cells before ``start`` (outputs kept from the first run)."""
        for index in range(start):
            cell = self.nb.cells[index]
            if cell.cell_type == "code" and index not in skipped and not is_grade(cell):
                self.execute_aside(from_dict(json.loads(json.dumps(cell))), index)

    def execute_aside(self, cell, index: int, timeout: int | None = None):
        """Execute a cell that is not part of the notebook (nbclient would store it at ``index``)."""
        original, saved_timeout = self.nb.cells[index], self.timeout
        if timeout is not None:
            self.timeout = timeout
        self._aside = getattr(self, "_aside", 0) + 1  # its outputs are not kept: outside the notebook's budget
        try:
            return self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index], self.timeout = original, saved_timeout
            self._aside -= 1

    def _record_death(self, index: int, reason: str, graded: bool) -> None:
        cell = self.nb.cells[index]
        self.events.append(f"cell {index}: {reason}")
        self.log.warning("%s: cell %d: %s", self._who(), index, reason)
        if graded or cell.cell_type != "code":
            return
        if is_grade(cell) and not is_solution(cell):
            self._write_result(cell, None, f"Not graded: {reason} while this cell ran.")
        else:
            cell.outputs.append(NotebookNode(output_type="error", ename="KernelDied", evalue=reason,
                                             traceback=[f"KernelDied: {reason} in this cell; the grader "
                                                        "started a new kernel and went on without it"]))

    def _give_up(self, start: int, reason: str) -> None:
        self.events.append(reason)
        for cell in self.nb.cells[start:]:
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
                self._write_result(cell, None, reason)

    def _who(self) -> str:
        nbg = (self.resources or {}).get("nbgrader", {})
        return f"{nbg.get('student', '?')}/{nbg.get('notebook', '?')}"

    # -- cells -----------------------------------------------------------------------------------
    def _exercises(self):
        ids = [exercise_id for cell in self.nb.cells if cell.cell_type == "code" and is_grade(cell)
               for exercise_id, _ in grade_calls(cell.source) if exercise_id in registry.EXERCISES]
        return [registry.EXERCISES[i] for i in dict.fromkeys(ids)]

    def _run_cell(self, index: int) -> None:
        cell = self.nb.cells[index]
        self.preprocess_cell(cell, self.resources, index)
        if any(o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt" for o in cell.get("outputs", [])):
            self.events.append(f"cell {index}: did not finish within {self.timeout} s and was stopped")
            self.log.warning("%s: cell %d: did not finish within %s s and was stopped", self._who(), index, self.timeout)
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            try:
                self._grade_cell(cell, index)
            except (DeadKernelError, KernelGone, CellTimeoutError):
                raise
            except Exception as exc:  # a fault of the grader's: this cell earns nothing, the instructor is told
                self.log.exception("%s: cell %d: the grader failed", self._who(), index)
                self.flags.append(f"cell {index}: the grader failed ({type(exc).__name__}: {exc}); regrade after a fix")
                self._write_result(cell, None, "This exercise could not be graded (a fault of the grader's, "
                                   "reported to the instructor).")

    def _grade_cell(self, cell, index: int) -> None:
        calls = grade_calls(cell.source)
        known = [(registry.EXERCISES[i], name) for i, name in calls if i in registry.EXERCISES]
        claimed = _kernel_claim(cell)
        if len(known) != 1 or len(calls) != 1:
            self._write_result(cell, None, "This grade cell does not call grade(...) on one course exercise.")
            return
        exercise, name = known[0]
        worker = KernelWorker(self, index)
        outcome = engine.run(exercise, worker=worker, target=name, hidden=True, secret=self.secret, graded=True)
        where = syntax_error_defining(self.nb, name) if "is not defined" in outcome.problem else ""
        if where:
            outcome.problem = (f"`{name}` is not defined because the cell that defines it has a syntax error "
                               f"({where}): fix that cell and run it.")
        flags = []
        if claimed is None and not any(o.get("output_type") == "error" for o in cell.outputs):
            flags.append("the notebook's own check showed no score (was grade(...) replaced?)")
        elif claimed is not None and claimed > max(outcome.public_points(), outcome.points) + 1e-9:
            flags.append(f"the notebook's own check showed {claimed:g} points for the public cases; "
                         f"the grader measured {outcome.public_points():g}")
        flags += list(dict.fromkeys([*(note for case in outcome.cases for note in case.notes), *worker.notes]))
        flags += silenced_warnings(self.nb, exercise) + public_answers_only(outcome)
        for flag in flags:
            self.flags.append(f"{exercise.id}: {flag}")
            self.log.warning("%s: %s: %s", self._who(), exercise.id, flag)
        self._write_result(cell, outcome, flags=flags, kernel_points=claimed)
        if worker.gone:
            raise KernelGone(worker.gone)

    def _write_result(self, cell, outcome, reason: str = "", *, flags: list[str] = (),
                      kernel_points: float | None = None) -> None:
        """Replace the grade cell's outputs with the trusted report and score (nbgrader reads the number).

        The cell's ``nncourse_grading`` metadata keeps the result for the class report: exercise,
        points, status (passed, partial, failed, error, not attempted, timeout), named mistakes, flags.
        """
        points = outcome.points if outcome is not None else 0.0
        text = report.render(outcome) if outcome is not None else reason
        record = {"points": points, "trusted": True}
        if outcome is not None:
            record.update(id=outcome.info.id, max_points=outcome.info.points, status=outcome.status,
                          message=report.summary(outcome))
        else:
            record.update(status="error", message=reason)
        calls = grade_calls(cell.source)
        cell.metadata[METADATA_KEY] = {
            "exercise": outcome.info.id if outcome is not None else (calls[0][0] if calls else ""),
            "points": points, "max_points": float(cell.metadata["nbgrader"].get("points", 0)),
            "status": result_status(outcome, reason), "message": record["message"],
            "mistakes": list(dict.fromkeys(c.likely_mistake.split(":")[0] for c in (outcome.cases if outcome else [])
                                           if c.likely_mistake)),
            "kernel_points": kernel_points, "flags": list(flags)}
        cell.outputs = [
            NotebookNode(output_type="display_data", metadata={}, data={"text/plain": text, GRADE_MIME: record}),
            NotebookNode(output_type="execute_result", metadata={}, execution_count=cell.get("execution_count"),
                         data={"text/plain": repr(float(points))}),
        ]


def result_status(outcome, reason: str = "") -> str:
    """One word for the class report: passed, partial, failed, error, not attempted or timeout."""
    if outcome is None:
        return "timeout" if "did not finish" in reason else "error"
    if "did not finish" in outcome.problem or any("did not finish" in c.message for c in outcome.cases):
        return "timeout"
    if outcome.status == "failed" and outcome.points > 0:
        return "partial"
    return outcome.status


class KernelWorker:
    """The worker for :func:`engine.run` at grading: one kernel execution per request."""

    def __init__(self, client: TrustedExecute, index: int):
        self.client, self.index, self.gone = client, index, ""
        self.notes: list[str] = []  # for the instructor: replies that broke a limit

    def __call__(self, request: dict) -> dict:
        if self.gone:
            raise engine.WorkerLost(f"not run: {self.gone}")
        limit = getattr(self.client, "max_reply_bytes", wire.MAX_REPLY_BYTES)
        request = dict(request, max_reply_bytes=limit)
        code = (f"(lambda ns: (exec(compile({WIRE_SOURCE!r}, '<nncourse-wire>', 'exec'), ns), "
                f"ns['serve_in_kernel']({json.dumps(request)!r})))({{'__name__': 'nncourse_wire'}})\nNone")
        scratch = NotebookNode(cell_type="code", source=code, metadata={}, outputs=[], execution_count=None)
        try:
            self.client.execute_aside(scratch, self.index)
        except DeadKernelError:
            self.gone = self.client._death_reason()
            raise engine.WorkerLost(f"not graded: {self.gone} while checking this exercise") from None
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in scratch.outputs):
            timeout = self.client.timeout
            if not self._responsive():
                self.gone = f"the kernel did not respond after a {timeout} s timeout"
            raise engine.WorkerLost(f"your code did not finish within {timeout} s and was stopped (an endless loop?)")
        return self.read(scratch.outputs, request["nonce"], limit)

    def read(self, outputs: list, nonce: str, limit: int) -> dict:
        """The reply among one request's outputs, size-checked before it is parsed (a WireError if none).

        A reply over ``limit``, one the kernel itself reported as oversize, outputs the client dropped
        for their size, or a reply nested too deeply: the submission's fault, with a one-line reason
        in the report and a note for the instructor.
        """
        truncated = [o["metadata"][TRUNCATED] for o in outputs if TRUNCATED in o.get("metadata", {})]
        replies = [o["data"][wire.MIME] for o in outputs
                   if o.get("output_type") == "display_data" and wire.MIME in o.get("data", {})
                   and TRUNCATED not in o.get("metadata", {})]
        try:
            if truncated and not replies:
                raise wire.WireError(wire.too_large(limit) + f" (the kernel sent {truncated[0]})")
            if not replies:
                raise wire.WireError("no reply from the kernel (did the notebook replace parts of Python?)")
            reply = wire.loads(replies[-1], limit)
            if isinstance(reply, dict) and "oversize" in reply and reply.get("nonce") == nonce:
                raise wire.WireError(wire.too_large(limit))
        except wire.WireError as exc:
            if "larger than" in str(exc) or "nested" in str(exc):
                self.notes.append(f"the kernel's reply broke a limit: {exc}")
            raise
        if not isinstance(reply, dict) or reply.get("nonce") != nonce:
            raise wire.WireError("no reply from the kernel (did the notebook replace parts of Python?)")
        return reply

    def _responsive(self) -> bool:
        probe = NotebookNode(cell_type="code", source="None", metadata={}, outputs=[], execution_count=None)
        try:
            self.client.execute_aside(probe, self.index, timeout=10)
        except DeadKernelError:
            return False
        return not any(o.get("ename") == "CellTimeoutError" for o in probe.outputs)
