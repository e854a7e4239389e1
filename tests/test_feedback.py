"""Feedback that is right about what went wrong: learner-style answers that tripped the old messages.

Each case is a solution a learner really writes; the report must name the actual problem (type and
shape first), never blame a catalogued mistake the answer only resembles, never crash, and advise
what fits the value at hand.
"""
import nbformat
import numpy as np
import pytest

from autograder.grading import engine
from autograder.grading.trusted import syntax_error_defining
from autograder.learner import report
from autograder.registry import EXERCISES

COUNT, OUTPUT, DENSE, NEURON = (EXERCISES[i] for i in ("01.count_dense_params", "01.output_layer",
                                                      "01.dense_forward", "01.neuron"))


def _text(exercise, fn, hidden=False):
    outcome = engine.run(exercise, fn, hidden=hidden)
    return outcome, report.render(outcome)


def test_a_float_count_is_a_type_problem_not_counted_neurons():
    outcome, text = _text(COUNT, lambda sizes: float(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))))
    assert "return an int" in text and "likely mistake" not in text
    assert outcome.points == 0.0


def test_an_off_by_one_is_not_blamed_on_a_mistake_it_resembles_once():
    outcome, text = _text(COUNT, lambda sizes: sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + 1, hidden=True)
    assert "likely mistake" not in text and "expected 21, got 22" in text


def test_a_named_mistake_matches_on_every_case():
    _, text = _text(COUNT, lambda sizes: sum(a * b for a, b in zip(sizes[:-1], sizes[1:])), hidden=True)
    assert text.count("likely mistake: forgot the biases") == 1 and "on every check" in text


def test_a_list_for_a_tuple_is_a_reasonable_reading():
    outcome, _ = _text(OUTPUT, lambda task, n=None: [n if task == "multiclass" else 1,
                                                   {"binary": "sigmoid", "multiclass": "softmax"}.get(task, "linear")])
    assert outcome.points == OUTPUT.points


@pytest.mark.parametrize("returned,says", [
    (lambda task, n=None: np.array([1, 2]), "expected a tuple of 2 values"),
    (lambda task, n=None: (x for x in (1, "sigmoid")), "got generator"),
    (lambda task, n=None: None, "got NoneType"),
    (lambda task, n=None: object(), "got object"),
    (lambda task, n=None: (1, "sigmoid", "extra"), "got tuple of 3"),
])
def test_a_comparison_never_crashes(returned, says):
    outcome, text = _text(OUTPUT, returned)
    assert says in text and outcome.points == 0.0


def test_a_tuple_for_an_array_is_not_told_to_wrap_it_with_np_array():
    _, text = _text(DENSE, lambda X, W, b: (X @ W, b))
    assert "np.array" not in text and "return several values" in text


def test_a_list_of_numbers_is_told_to_wrap_it():
    _, text = _text(DENSE, lambda X, W, b: (X @ W + b).tolist())
    assert "wrap it with np.array" in text


def test_float32_within_the_tolerance_earns_full_points():
    outcome, _ = _text(DENSE, lambda X, W, b: (X.astype(np.float32) @ W.astype(np.float32) + b.astype(np.float32)))
    assert outcome.points == DENSE.points, report.render(outcome)


def test_float32_outside_the_tolerance_says_precision_was_the_problem():
    outcome, text = _text(NEURON, lambda x, w, b, f: np.float32(f(np.dot(w, x) + b)) + np.float32(1e-6))
    assert "float32" in text and "float64" in text and "likely mistake" not in text


def test_numbers_in_reports_are_rounded_and_plain():
    _, text = _text(NEURON, lambda x, w, b, f: f(np.dot(w, x)))
    assert "np.float64" not in text and "0.549834" in text and "0.5498339973124778" not in text


def test_a_zero_d_array_is_named_as_such():
    _, text = _text(DENSE, lambda X, W, b: np.sum(X @ W + b))
    assert "single number" in text


def test_near_misses_do_not_score_high():
    only_the_degenerate_case = lambda sizes: 0  # noqa: E731 (right only for an input layer alone)
    assert engine.run(COUNT, only_the_degenerate_case, hidden=True).points < 0.1 * COUNT.points


def test_a_syntax_error_in_the_defining_cell_is_found():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
                nbformat.v4.new_code_cell("def neuron(x, w, b, activation)\n    return 0"),
                nbformat.v4.new_code_cell("def relu(z):\n    return z")]
    assert syntax_error_defining(nb, "neuron").startswith("line 1")
    assert syntax_error_defining(nb, "relu") == ""


def test_a_syntax_error_is_reported_in_the_notebook(tmp_path):
    """In a real kernel: the grade cell's NameError says that the defining cell has a syntax error."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("from autograder import grade"),
                nbformat.v4.new_code_cell("def neuron(x, w, b, activation)\n    return 0"),
                nbformat.v4.new_code_cell('grade("01.neuron", neuron)')]
    NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "has a syntax error (line 1: expected ':')" in shown, nb.cells[2].outputs


def test_an_untouched_check_cell_says_not_attempted_to_nbgrader_validate(tmp_path):
    """nbgrader's Validate shows a failing grade cell's error: it must say "not attempted", not "partial credit"."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("from autograder import grade\ndef neuron(x, w, b, activation):\n"
                                          "    raise NotImplementedError()"),
                nbformat.v4.new_code_cell('grade("01.neuron", neuron)'),
                nbformat.v4.new_code_cell('grade("01.nope", neuron)')]
    NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    error = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    assert error.ename == "NotAttempted" and error.traceback == [f"NotAttempted: {error.evalue}"]
    assert "not attempted yet" in error.evalue
    unknown = "".join(o.get("data", {}).get("text/plain", "") for o in nb.cells[2].outputs)
    assert "No such exercise" in unknown and "01.neuron" in unknown
    assert not any(o.output_type == "error" for o in nb.cells[2].outputs)


def test_a_grade_cell_shows_one_report_and_a_readable_score(tmp_path):
    from nbclient import NotebookClient

    from autograder.learner.api import GRADE_MIME

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("from autograder import grade\nimport numpy as np\n"
                                          "def dense_forward(X, W, b):\n    return X @ W"),
                nbformat.v4.new_code_cell('grade("01.dense_forward", dense_forward)\n'
                                          'grade("01.dense_forward", dense_forward, hidden=True)')]
    NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    reports = [o for o in outputs if o.output_type == "display_data" and GRADE_MIME in o.data]
    assert len(reports) == 1 and reports[0].data[GRADE_MIME]["hidden"] is True  # the hidden report replaced it
    assert "<pre" in reports[0].data["text/html"] and "hidden check" in reports[0].data["text/plain"]
    score = next(o for o in outputs if o.output_type == "execute_result")
    assert score.data["text/plain"] == "0.0" and score.data["text/html"] == "<b>0 / 3 points</b>"


def _count_recursive(sizes):
    return 0 if len(sizes) < 2 else sizes[0] * sizes[1] + sizes[1] + _count_recursive(sizes[1:])


OTHER_STYLES_01 = {
    "01.neuron": [lambda x, w, b, f: f(sum(wi * xi for wi, xi in zip(w, x)) + b),
                  lambda x, w, b, f: f(float(np.einsum("i,i->", w, x)) + b)],
    "01.dense_forward": [lambda X, W, b: np.einsum("nd,do->no", X, W) + b,
                         lambda X, W, b: np.array([[sum(X[n, i] * W[i, j] for i in range(W.shape[0])) + b[j]
                                                    for j in range(W.shape[1])] for n in range(X.shape[0])]),
                         lambda X, W, b: np.matmul(X, W) + b[np.newaxis, :]],
    "01.count_dense_params": [_count_recursive,
                              lambda s: int(np.sum(np.array(s[:-1]) * np.array(s[1:])) + np.sum(s[1:])) if len(s) > 1 else 0],
    "01.output_layer": [lambda task, n=None: {"binary": (1, "sigmoid"), "regression": (1, "linear")}.get(task, (n, "softmax")),
                        lambda task, n=None: (n, "softmax") if task == "multiclass" else (1, "sigmoid" if task == "binary"
                                                                                          else "linear")],
}


@pytest.mark.parametrize("exercise_id,index", [(e, i) for e, fns in OTHER_STYLES_01.items() for i in range(len(fns))])
def test_other_correct_styles_of_notebook_01_earn_full_points(exercise_id, index):
    exercise = EXERCISES[exercise_id]
    outcome = engine.run(exercise, OTHER_STYLES_01[exercise_id][index], hidden=True)
    assert outcome.points == exercise.points, report.render(outcome)
