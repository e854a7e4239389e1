"""What crosses back from the learner's kernel is data, and is bounded.

Fast tests drive the trusted side's pieces in-process with fake kernel replies and fake ZeroMQ
frames: the reader (:func:`trusted._read_message`), the per-execution budget
(``TrustedExecute.process_message``), :class:`trusted.KernelWorker`'s reply check and the engine.
The slow ones run a real kernel (``isolation="none"``) through the trusted grader.
"""
import json
import tracemalloc
import warnings

import nbformat
import numpy as np
import pytest
import zmq
from jupyter_client.session import Session

from autograder import registry
from autograder.classroom.notebooks import execute, score
from autograder.grading import engine, trusted
from autograder.learner import judge, wire

MB = 2**20
SOFTMAX, SIGMOID = registry.EXERCISES["02.softmax"], registry.EXERCISES["02.stable_sigmoid"]


def _naive_softmax(Z):
    e = np.exp(Z)
    return e / np.sum(e, axis=-1, keepdims=True)


def _naive_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _silenced(fn):
    def silenced(*args):
        with np.errstate(all="ignore"):
            return fn(*args)
    return silenced


def _forging_worker(fn, drop=("warnings",)):
    """A kernel that drops fields from its replies (a patched display function)."""
    def worker(request):
        reply = wire.serve(request, {request["target"]: fn})
        for step in reply["steps"]:
            for key in drop:
                step.pop(key, None)
        return reply
    return worker


# ----------------------------------------------------------------------------- (a) size
class _Client:
    max_reply_bytes = 1 * MB


def _reply_output(text, **metadata):
    return nbformat.NotebookNode(output_type="display_data", metadata=metadata, data={wire.MIME: text})


def test_an_oversize_reply_is_refused_before_it_is_parsed():
    worker = trusted.KernelWorker(_Client(), 0)
    huge = json.dumps({"v": 1, "nonce": "n", "target": None, "steps": [], "pad": "x" * (2 * MB)})
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match="larger than 1 MB"):
            worker.read([_reply_output(huge)], "n", _Client.max_reply_bytes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MB // 4  # nothing of it was decoded
    assert worker.notes and "larger than 1 MB" in worker.notes[0]


def test_the_shim_replaces_an_oversize_reply_and_the_trusted_side_says_why():
    big = np.zeros(300_000)  # 2.4 MB of float64, 3.2 MB as base64
    request = dict(SOFTMAX.suite(False)[0][0].request("answer"), nonce="n", max_reply_bytes=MB)
    published = []
    reply = wire.serve(request, {"answer": lambda Z: big})
    text = json.dumps(reply)
    assert len(text) > MB
    published.append(json.dumps({"v": 1, "nonce": "n", "target": reply["target"], "steps": [],
                                 "oversize": len(text)}))
    worker = trusted.KernelWorker(_Client(), 0)
    with pytest.raises(wire.WireError, match="larger than 1 MB"):
        worker.read([_reply_output(published[0])], "n", MB)


def test_outputs_the_client_dropped_for_size_are_the_submissions_fault():
    worker = trusted.KernelWorker(_Client(), 0)
    marker = nbformat.NotebookNode(output_type="display_data", metadata={trusted.TRUNCATED: "more than 33 MB"},
                                   data={"text/plain": "[dropped]"})
    with pytest.raises(wire.WireError, match="larger than 1 MB"):
        worker.read([marker], "n", MB)


def test_an_oversize_reply_costs_its_cases_with_a_reason_not_a_grader_fault():
    def worker(request):
        raise wire.WireError(wire.too_large(wire.MAX_REPLY_BYTES))
    outcome = engine.run(SOFTMAX, worker=worker, hidden=True)
    assert outcome.points == 0.0 and not outcome.problem
    assert all(c.status == engine.ERROR and "larger than 16 MB" in c.message for c in outcome.cases)


def _frames(session, msg_type, content, parent_id="p1"):
    msg = session.msg(msg_type, content, parent={"msg_id": parent_id, "msg_type": "execute_request",
                                                 "session": "s", "username": "u", "version": "5.3", "date": None})
    return [zmq.Frame(f) for f in [b"<IDS|MSG>", *session.serialize(msg)[1:]]]


def test_the_reader_never_parses_a_message_over_the_limit():
    session = Session(key=b"k")
    frames = _frames(session, "display_data", {"data": {wire.MIME: "x" * (3 * MB)}, "metadata": {}})
    tracemalloc.start()
    try:
        msg = trusted._read_message(session, frames, 1 * MB, shell=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert msg["msg_type"] == trusted.UNREADABLE and "more than 1 MB" in msg["content"]["reason"]
    assert msg["parent_header"]["msg_id"] == "p1"  # filed under the right cell
    assert peak < MB // 2


def test_the_reader_turns_an_oversize_shell_reply_into_an_error_reply():
    session = Session(key=b"k")
    frames = _frames(session, "execute_reply", {"status": "ok", "payload": [{"x": "y" * (2 * MB)}]})
    msg = trusted._read_message(session, frames, MB, shell=True)
    assert msg["msg_type"] == "execute_reply" and msg["content"]["status"] == "error"
    assert msg["content"]["ename"] == "OutputTooLarge"


def test_the_reader_survives_a_message_nested_too_deeply():
    session = Session(key=b"k")
    deep = "[" * 200_000 + "]" * 200_000
    msg = session.msg("display_data", {}, parent={"msg_id": "p1"})
    frames = [b"<IDS|MSG>", *session.serialize(msg)[1:]]
    frames[5] = deep.encode()                                 # the content frame
    frames[1] = session.sign(frames[2:6])                     # a kernel holds the key: it can sign anything
    read = trusted._read_message(session, [zmq.Frame(f) for f in frames], 4 * MB, shell=False)
    assert read["msg_type"] == trusted.UNREADABLE and "deep" in read["content"]["reason"]


class _Budgeted(trusted.TrustedExecute):
    """TrustedExecute's message handling alone, without a kernel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.events, self._kept_bytes, self.clear_before_next_output = [], 0, False

    def _who(self):
        return "test"


def _stream(parent, size):
    return {"msg_type": "stream", "header": {"msg_type": "stream"}, "parent_header": {"msg_id": parent},
            "content": {"name": "stdout", "text": "x" * size}, "nncourse_bytes": size, "metadata": {}}


def test_a_cells_outputs_stop_at_the_budget_as_they_arrive():
    client = _Budgeted(max_cell_output_bytes=10_000, max_notebook_output_bytes=10**9)
    client.reset_execution_trackers()
    cell = nbformat.v4.new_code_cell("print")
    for _ in range(1000):                                     # 4 MB sent, 10 kB allowed
        client.process_message(_stream("p1", 4000), cell, 0)
    kept = sum(len(o.get("text", "")) for o in cell.outputs)
    assert kept <= 10_000
    assert [o.metadata[trusted.TRUNCATED] for o in cell.outputs if trusted.TRUNCATED in o.get("metadata", {})]
    assert client.events and "output dropped" in client.events[0]
    other = nbformat.v4.new_code_cell("print")               # a new execution gets a new budget
    client.process_message(_stream("p2", 4000), other, 1)
    assert len(other.outputs) == 1 and other.outputs[0].output_type == "stream"


def test_the_notebook_keeps_at_most_its_budget_of_outputs():
    client = _Budgeted(max_cell_output_bytes=10_000, max_notebook_output_bytes=25_000)
    client.reset_execution_trackers()
    cells = [nbformat.v4.new_code_cell("print") for _ in range(10)]
    for index, cell in enumerate(cells):
        client.process_message(_stream(f"p{index}", 8000), cell, index)
    kept = sum(len(o.get("text", "")) for c in cells for o in c.outputs)
    assert kept <= 25_000 and client._kept_bytes <= 25_000


# ----------------------------------------------------------------------------- (b) depth
def test_a_deeply_nested_reply_is_the_submissions_fault():
    deep = '{"v": 1, "nonce": "n", "steps": ' + "[" * 200_000 + "]" * 200_000 + "}"
    worker = trusted.KernelWorker(_Client(), 0)
    with pytest.raises(wire.WireError, match="nested"):
        worker.read([_reply_output(deep)], "n", 4 * MB)
    assert worker.notes and "nested" in worker.notes[0]


def test_a_value_nested_past_the_limit_is_refused_in_decoding():
    value = 1.0
    for _ in range(wire.MAX_DEPTH + 5):
        value = {"t": "list", "v": [value]}
    reply = {"v": 1, "nonce": "n", "target": {"type": "function", "callable": True, "repr": "f"},
             "steps": [{"status": "ok", "value": value, "warnings": []}]}
    with pytest.raises(wire.WireError, match="nested too deeply"):
        judge.read_reply(reply)


def test_deep_structures_in_text_fields_are_not_walked():
    deep = []
    for _ in range(5000):
        deep = [deep]
    reply = {"v": 1, "nonce": "n", "target": {"type": deep, "callable": True, "repr": deep},
             "steps": [{"status": "raised", "type": deep, "message": deep, "warnings": [{"message": deep}]}]}
    answer = judge.read_reply(reply)                        # no RecursionError: non-strings read as ''
    assert answer.steps[0]["message"] == "" and answer.target["repr"] == ""


def test_a_deep_reply_through_the_engine_is_a_case_error_with_a_reason():
    def worker(request):
        return trusted.KernelWorker(_Client(), 0).read(
            [_reply_output('{"nonce": "' + request["nonce"] + '", "steps": ' + "[" * 100_000 + "]" * 100_000 + "}")],
            request["nonce"], MB)
    outcome = engine.run(SOFTMAX, worker=worker, hidden=True)
    assert outcome.points == 0.0 and not outcome.problem
    assert all("nested" in c.message for c in outcome.cases)


# ----------------------------------------------------------------------------- (c) warnings
def test_an_errstate_silenced_naive_softmax_loses_the_no_overflow_points():
    honest = engine.run(SOFTMAX, _naive_softmax, hidden=True)
    silenced = engine.run(SOFTMAX, _silenced(_naive_softmax), hidden=True)
    assert silenced.points <= honest.points < SOFTMAX.points
    for outcome in (silenced,):
        assert any(not c.hidden and c.status != engine.PASSED for c in outcome.cases)
        assert any(c.hidden and c.status != engine.PASSED for c in outcome.cases)


@pytest.mark.parametrize("ex_id", sorted(i for i, e in registry.EXERCISES.items() if e.forbid_warnings))
def test_every_exercise_that_forbids_warnings_shows_the_overflow_in_values(ex_id):
    """Each catalogued overflowing formula, silenced, still fails a public and a hidden case by its values."""
    exercise = registry.EXERCISES[ex_id]
    overflowing = []
    for mistake in exercise.mistakes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = engine.run(exercise, mistake.impl, hidden=True)
        if any("NumPy warned" in c.message for c in outcome.cases):
            overflowing.append(mistake)
    if ex_id == "05.softmax_loss":  # its catalogue has no overflowing mistake: a naive softmax inside
        def naive(scores, y):
            p = _naive_softmax(scores)
            n = len(y)
            d = p.copy()
            d[np.arange(n), y] -= 1
            return -np.mean(np.log(p[np.arange(n), y])), d / n
        overflowing.append(type("M", (), {"impl": staticmethod(naive), "name": "naive softmax"}))
    assert overflowing, ex_id
    for mistake in overflowing:
        outcome = engine.run(exercise, worker=_forging_worker(_silenced(mistake.impl)), hidden=True)
        assert any(not c.hidden and c.status != engine.PASSED for c in outcome.cases), (ex_id, mistake.name)
        assert any(c.hidden and c.status != engine.PASSED for c in outcome.cases), (ex_id, mistake.name)
        assert outcome.points < exercise.points


@pytest.mark.parametrize("exercise,naive", [(SOFTMAX, _naive_softmax), (SIGMOID, _naive_sigmoid)])
def test_a_forged_warnings_field_cannot_raise_points(exercise, naive):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        honest = engine.run(exercise, naive, hidden=True)
    forged = engine.run(exercise, worker=_forging_worker(naive), hidden=True)
    assert forged.points < exercise.points
    values_only = engine.run(exercise, worker=_forging_worker(_silenced(naive)), hidden=True)
    assert forged.points == values_only.points                 # what the values earn, nothing from the field
    assert honest.points <= forged.points                       # a reported warning can only cost points


def test_silencing_in_a_solution_cell_is_flagged_for_an_exercise_that_forbids_warnings():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("def softmax(Z):\n    with np.errstate(all='ignore'):\n        return Z")]
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "s", "schema_version": 3}
    flags = trusted.silenced_warnings(nb, SOFTMAX)
    assert flags and "errstate" in flags[0]
    assert trusted.silenced_warnings(nb, registry.EXERCISES["02.relu"]) == []
    nb.cells[0].source = "def softmax(Z):\n    return Z"
    assert trusted.silenced_warnings(nb, SOFTMAX) == []


# ----------------------------------------------------------------------------- (d) SystemExit, displayhook
def test_system_exit_in_a_graded_function_is_flagged_and_costs_only_its_cases():
    import sys

    def exits(Z):
        sys.exit(0)
    outcome = engine.run(SOFTMAX, exits, hidden=True)
    assert outcome.points == 0.0
    assert all("sys.exit" in c.message for c in outcome.cases)
    assert any("SystemExit" in note for c in outcome.cases for note in c.notes)
    assert engine.run(SOFTMAX, SOFTMAX.reference, hidden=True).points == SOFTMAX.points


def test_a_replaced_displayhook_reported_by_the_kernel_is_a_note_never_points():
    def worker(request):
        return dict(wire.serve(request, {request["target"]: SOFTMAX.reference}), kernel=["displayhook", "x" * 999])
    outcome = engine.run(SOFTMAX, worker=worker, hidden=True)
    assert outcome.points == SOFTMAX.points
    assert {n for c in outcome.cases for n in c.notes} == {"replaced sys.displayhook (the kernel's own report)"}


# ----------------------------------------------------------------------------- a real kernel
def _notebook(solution: str, grade: str):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\n" + solution), nbformat.v4.new_code_cell(grade)]
    nb.cells[0].metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                        "grade_id": "sol", "schema_version": 3}
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 3,
                                        "grade_id": "grade_softmax", "schema_version": 3}
    return nb


@pytest.mark.slow
def test_a_real_kernels_huge_and_deep_replies_are_bounded_and_the_submissions_fault(tmp_path):
    """A function returning 40 MB, then a kernel that publishes 60 MB directly: refused, with a reason."""
    solution = '''
def softmax(Z):
    return np.zeros(5_000_000)                       # 40 MB: the shim refuses it
from IPython.display import publish_display_data
publish_display_data({"text/plain": "x" * (60 * 2**20)})   # 60 MB in one message: never parsed
'''
    nb = _notebook(solution, 'from autograder import grade\ngrade("02.softmax", softmax)')
    execute(nb, tmp_path, timeout=120, isolation="none")
    (scored,) = score(nb)
    assert scored.points == 0.0
    text = json.dumps(nb.cells[1].outputs)
    assert "larger than 16 MB" in text
    assert trusted.TRUNCATED in json.dumps(nb.cells[0].outputs)
    assert sum(len(json.dumps(c.outputs)) for c in nb.cells) < 40 * MB


@pytest.mark.slow
def test_limit_attacks_through_real_nbgrader_earn_their_honest_work_and_are_flagged(tmp_path):
    from autograder.grading import sandbox
    if not sandbox.namespaces_available():
        pytest.skip("the namespace sandbox needs root on Linux with unshare")
    from nbgrader.api import Gradebook

    from tests.fixtures import hostile_01 as hostile
    from tests.fixtures import submissions_01 as subs
    from tests.test_grading_trust import _flags, _grade_class
    from tests.test_nbgrader_e2e import ASSIGNMENT

    students = {"honest_learner": subs.CORRECT_BUT_DIFFERENT}
    students.update({name: solutions for name, (solutions, _) in hostile.LIMIT_ATTACKS.items()})
    result = _grade_class(tmp_path, students)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert scores["honest_learner"] == 10.0, result.stderr[-3000:]
    for student, (_, attacked) in hostile.LIMIT_ATTACKS.items():
        assert scores[student] == pytest.approx(hostile.HONEST_POINTS, abs=1e-9), (student, result.stderr[-3000:])
        flags = _flags(tmp_path, student)
        for exercise_id in attacked:
            assert any("broke a limit" in f for f in flags[exercise_id]), (student, flags)
        assert not any(f for e, f in flags.items() if e not in attacked), (student, flags)
    assert "the grader failed" not in result.stderr
