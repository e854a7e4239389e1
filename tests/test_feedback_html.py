"""Feedback HTML a learner can read offline (autograder/classroom/feedback.py).

Math becomes MathML (every formula of the course converts, none falls back to LaTeX), code keeps
its dollars, no script or stylesheet comes from a URL; a timeout is one line and any other error
keeps only the learner's own frames, without colour codes or the grader's paths. End to end:
nbgrader's autograde and generate_feedback on two real submissions of notebook 01.
"""
from __future__ import annotations

import glob
import json
import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from autograder.classroom.feedback import (
    FALLBACK_CLASS,
    TIMEOUT_MESSAGE,
    CleanErrorsForLearner,
    MathMLRenderer,
    OfflineFeedbackExporter,
    UnconvertibleMath,
    clean_text,
    clean_traceback,
    configure,
    latex_to_html,
    learner_outputs,
    markdown_to_html,
    self_contained,
    to_mathml,
)
from autograder.grading.sanitise import SanitiseLearnerOutputs

REPO = Path(__file__).resolve().parents[1]
COURSE_NOTEBOOKS = sorted(glob.glob(str(REPO / "course" / "*" / "*.ipynb")))


# -- math ---------------------------------------------------------------------------------------------
def _maths(page: str) -> list[str]:
    return re.findall(r"<math\b.*?</math>", page, re.S)


def test_inline_and_display_math_become_mathml():
    page = markdown_to_html(r"A neuron computes $z = \mathbf{w}^\top \mathbf{x} + b$:" "\n\n"
                            r"$$\sigma(z) = \frac{1}{1 + e^{-z}}$$")
    inline, display = _maths(page)
    assert 'display="inline"' in inline and "<msup><mi>&#x1D430;</mi><mo>&#x022A4;</mo></msup>" in inline
    assert 'display="block"' in display and "<mfrac>" in display
    assert "$" not in page and FALLBACK_CLASS not in page


def test_math_in_a_heading_stays_mathml_a_browser_renders():
    page = markdown_to_html("## 6 · The famous $(p - y)/N$")
    assert "<h2" in page and len(_maths(page)) == 1 and "ns0:" not in page and "xmlns" not in page


@pytest.mark.parametrize("markdown", [r"\(x_i\)", r"\\(x_i\\)", r"\[x_i\]", r"\\[x_i\\]", r"$x_i$", r"$$x_i$$"])
def test_every_delimiter_jupyter_accepts_is_math(markdown):
    page = markdown_to_html(f"before {markdown} after")
    assert _maths(page) and "<msub><mi>x</mi><mi>i</mi></msub>" in page
    assert "\\" not in page and "$" not in page


def test_aligned_environment_becomes_a_table_of_rows():
    page = markdown_to_html(r"$$\begin{aligned} a &= b + c \\ \frac{\partial L}{\partial w} &= x \odot \delta"
                            r"\end{aligned}$$")
    (math,) = _maths(page)
    assert math.count("<mtr>") == 2 and '<mtd columnalign="right">' in math and "&&" not in math


def test_text_inside_math_reads_as_written():
    mathml = to_mathml(r"\text{rel\_error}(a, b) = \max_i \frac{|a_i - b_i|}{\max\left(10^{-8},\ |a_i| + |b_i|\right)}")
    assert "<mtext>rel_error</mtext>" in mathml
    assert "<mtext>a\xa0&lt;\xa0b\xa0&amp;\xa0c</mtext>" in to_mathml(r"\text{a < b \& c}")  # spaces: no-break


@pytest.mark.parametrize("latex", [r"\frac{1}{", r"\foo x", r"a & b", r"\left( x"])
def test_math_that_cannot_convert_stays_readable_latex_in_code(latex):
    with pytest.raises(UnconvertibleMath):
        to_mathml(latex)
    escaped = latex.replace("&", "&amp;")
    assert latex_to_html(latex) == f'<code class="{FALLBACK_CLASS}">{escaped}</code>'
    page = markdown_to_html(f"Broken ${latex}$ but fine $y$.")
    assert f'<code class="{FALLBACK_CLASS}">{escaped}</code>' in page and len(_maths(page)) == 1


def test_dollars_in_code_spans_and_code_blocks_are_left_alone():
    page = markdown_to_html("Run `echo $HOME` or `cost = $5`, then $x$.\n\n```python\nprice = '$3 and $4'\n```\n")
    assert "<code>echo $HOME</code>" in page and "<code>cost = $5</code>" in page
    assert BeautifulSoup(page, "html.parser").find("pre").get_text() == "price = '$3 and $4'\n"
    assert len(_maths(page)) == 1


class _RecordingRenderer(MathMLRenderer):
    """Records each formula the parser finds, with whether it is displayed."""

    def __init__(self):
        super().__init__(escape=False)
        self.formulas = []

    def block_math(self, body):
        self.formulas.append((body, True))
        return super().block_math(body)

    def inline_math(self, body):
        self.formulas.append((body, False))
        return super().inline_math(body)

    def latex_environment(self, name, body):
        self.formulas.append((f"\\begin{{{name}}}{body}\\end{{{name}}}", True))
        return super().latex_environment(name, body)


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=lambda p: Path(p).parent.name)
def test_every_formula_of_the_course_converts(path):
    formulas, pages = [], []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            renderer = _RecordingRenderer()
            pages.append(markdown_to_html(cell.source, renderer))
            formulas += renderer.formulas
    assert len(formulas) > 20, "the course's notebooks are full of math: the parser found too little"
    failed = []
    for latex, display in formulas:
        try:
            to_mathml(latex, display=display)
        except UnconvertibleMath as exc:
            failed.append(f"{latex!r}: {exc}")
    assert failed == []
    page = "\n".join(pages)
    assert FALLBACK_CLASS not in page and len(_maths(page)) == len(formulas)


# -- the page -----------------------------------------------------------------------------------------
def test_the_page_loads_nothing_from_a_url():
    page = self_contained(
        "<html><head><!-- Loading mathjax macro -->"
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"> </script>'
        '<script type="text/x-mathjax-config">MathJax.Hub.Config({});</script>'
        '<link rel="stylesheet" href="//cdn.example.org/theme.css">'
        '<link rel="icon" href="data:image/png;base64,AAAA">'
        "<script>var local = 1;</script><style>p {color: red}</style></head>"
        "<body><p>kept</p></body></html>")
    soup = BeautifulSoup(page, "html.parser")
    assert [s.string for s in soup.find_all("script")] == ["var local = 1;"]
    assert [link["href"] for link in soup.find_all("link")] == ["data:image/png;base64,AAAA"]
    assert "mathjax" not in page.lower() and "<p>kept</p>" in page and "p {color: red}" in page


# -- errors -------------------------------------------------------------------------------------------
# Exactly what nbclient leaves when it interrupts `while True: pass` after the timeout (IPython 9).
TIMEOUT_OUTPUTS = [
    {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": [
        "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
        "\x1b[31mKeyboardInterrupt\x1b[39m                         Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 1\x1b[39m\n\x1b[32m----> \x1b[39m"
        "\x1b[32m1\x1b[39m \x1b[38;5;28;01mwhile\x1b[39;00m \x1b[38;5;28;01mTrue\x1b[39;00m:\n\x1b[32m      2\x1b[39m     "
        "\x1b[38;5;28;01mpass\x1b[39;00m\n",
        "\x1b[31mKeyboardInterrupt\x1b[39m: "]},
    {"output_type": "error", "ename": "CellTimeoutError", "evalue": "",
     "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"]},
]
SITE = "/root/.venv/lib/python3.11/site-packages/numpy/lib/_function_base_impl.py"
# A learner's function, called by numpy, uses a name they never defined (IPython 9 with colours).
NAME_ERROR = {"output_type": "error", "ename": "NameError", "evalue": "name 'sigmoid' is not defined", "traceback": [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mNameError\x1b[39m                                 Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 4\x1b[39m\n\x1b[32m      1\x1b[39m "
    "\x1b[38;5;28;01mimport\x1b[39;00m numpy \x1b[38;5;28;01mas\x1b[39;00m np\n\x1b[32m      2\x1b[39m "
    "\x1b[38;5;28;01mdef\x1b[39;00m squash(z):\n\x1b[32m      3\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m sigmoid(z)\n"
    "\x1b[32m----> \x1b[39m\x1b[32m4\x1b[39m np.vectorize(squash)(np.ones(\x1b[32m3\x1b[39m))\n",
    f"\x1b[36mFile \x1b[39m\x1b[32m{SITE}:2518\x1b[39m, in \x1b[36mvectorize.__call__\x1b[39m\x1b[34m(self, *args, **kwargs)"
    "\x1b[39m\n\x1b[32m-> \x1b[39m\x1b[32m2518\x1b[39m \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[30;43mself\x1b[39;49m"
    "\x1b[30;43m.\x1b[39;49m\x1b[30;43m_call_as_normal\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43m*\x1b[39;49m"
    "\x1b[30;43margs\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n",
    f"\x1b[36mFile \x1b[39m\x1b[32m{SITE}:2556\x1b[39m, in \x1b[36mvectorize._get_ufunc_and_otypes\x1b[39m\x1b[34m(self, func, "
    "args)\x1b[39m\n\x1b[32m-> \x1b[39m\x1b[32m2556\x1b[39m outputs = \x1b[30;43mfunc\x1b[39;49m\x1b[30;43m(\x1b[39;49m"
    "\x1b[30;43m*\x1b[39;49m\x1b[30;43minputs\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 3\x1b[39m, in \x1b[36msquash\x1b[39m\x1b[34m(z)"
    "\x1b[39m\n\x1b[32m      2\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m squash(z):\n\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     "
    "\x1b[38;5;28;01mreturn\x1b[39;00m sigmoid(z)\n",
    "\x1b[31mNameError\x1b[39m: name 'sigmoid' is not defined"]}


def _outputs(*outputs):
    return [nbformat.from_dict(json.loads(json.dumps(o))) for o in outputs]


def test_a_timeout_is_one_line_without_traceback():
    outputs = _outputs({"output_type": "stream", "name": "stdout", "text": "epoch 1\n"}, *TIMEOUT_OUTPUTS)
    cleaned = learner_outputs(outputs)
    assert cleaned[0] == outputs[0]
    assert len(cleaned) == 2 and cleaned[1]["traceback"] == [TIMEOUT_MESSAGE]
    assert "KeyboardInterrupt" not in json.dumps(cleaned) and "Traceback" not in json.dumps(cleaned)
    assert outputs[1]["ename"] == "KeyboardInterrupt" and len(outputs[1]["traceback"]) == 4  # input not changed


def test_the_graders_kernel_died_after_a_timeout_is_the_same_one_line():
    died = {"output_type": "error", "ename": "KernelDied",
            "evalue": "the cell did not finish within 5 s and ignored the interrupt",
            "traceback": ["KernelDied: the cell did not finish within 5 s and ignored the interrupt in this cell; "
                          "the grader started a new kernel and went on without it"]}
    assert [o["traceback"] for o in learner_outputs(_outputs(died))] == [[TIMEOUT_MESSAGE]]
    crashed = dict(died, evalue="the kernel exited with status 1 (os._exit or sys.exit in the notebook?)",
                   traceback=["KernelDied: the kernel exited with status 1 (os._exit or sys.exit in the notebook?) in "
                              "this cell; the grader started a new kernel and went on without it"])
    assert [o["traceback"] for o in learner_outputs(_outputs(crashed))] == [crashed["traceback"]]


def test_an_error_keeps_the_learners_frames_and_its_last_line_only():
    (cleaned,) = learner_outputs(_outputs(NAME_ERROR))
    assert cleaned["traceback"] == [
        "Cell In[1], line 4\n      1 import numpy as np\n      2 def squash(z):\n      3     return sigmoid(z)\n"
        "----> 4 np.vectorize(squash)(np.ones(3))\n",
        "Cell In[1], line 3, in squash(z)\n      2 def squash(z):\n----> 3     return sigmoid(z)\n",
        "NameError: name 'sigmoid' is not defined",
    ]
    assert cleaned["ename"] == "NameError" and cleaned["evalue"] == "name 'sigmoid' is not defined"


def test_paths_of_the_grader_are_cut_to_their_file_name():
    error = {"output_type": "error", "ename": "FileNotFoundError",
             "evalue": "[Errno 2] No such file or directory: '/home/grader/nn-course/autograded/ada/01/data.csv'",
             "traceback": ["\x1b[31mFileNotFoundError\x1b[39m      Traceback (most recent call last)",
                           "\x1b[36mCell\x1b[39m\x1b[32m In[7]\x1b[39m, line 1\n----> 1 open(name)\n",
                           f"\x1b[36mFile \x1b[39m\x1b[32m{SITE}:9\x1b[39m, in \x1b[36mload\x1b[39m\n",
                           "\x1b[31mFileNotFoundError\x1b[39m: [Errno 2] No such file or directory: "
                           "'/home/grader/nn-course/autograded/ada/01/data.csv'"]}
    warning = {"output_type": "stream", "name": "stderr",
               "text": f"{SITE}:12: RuntimeWarning: overflow encountered in exp\n"}
    error_out, warning_out = learner_outputs(_outputs(error, warning))
    assert error_out["traceback"] == ["Cell In[7], line 1\n----> 1 open(name)\n",
                                      "FileNotFoundError: [Errno 2] No such file or directory: 'data.csv'"]
    assert error_out["evalue"] == "[Errno 2] No such file or directory: 'data.csv'"
    assert warning_out["text"] == "_function_base_impl.py:12: RuntimeWarning: overflow encountered in exp\n"


@pytest.mark.parametrize("text", ["see https://example.org/docs/a/b", "x = a/b/c", "1/2/3", "(p - Y)/N", "/tmp"])
def test_text_that_is_not_an_absolute_path_is_kept(text):
    assert clean_text(text) == text


def test_a_syntax_error_and_a_message_of_its_own_are_kept_whole():
    syntax = ["\x1b[36m  Cell \x1b[39m\x1b[32mIn[3]\x1b[39m, line 1\n    def f(:\n          ^\n"
              "\x1b[31mSyntaxError\x1b[39m: invalid syntax\n"]
    assert clean_traceback("SyntaxError", "invalid syntax (1063758517.py, line 1)", syntax) == [
        "  Cell In[3], line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n"]
    own = ["NotAttempted: `neuron` still raises NotImplementedError: write your code where it says # YOUR CODE HERE"]
    assert clean_traceback("NotAttempted", "x", own) == own


def test_the_preprocessor_cleans_code_cells_of_the_exported_copy():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("while True: pass"),
                                         nbformat.v4.new_markdown_cell("text")])
    nb.cells[0].outputs = _outputs(*TIMEOUT_OUTPUTS)
    cleaned, _ = CleanErrorsForLearner()(nb, {})
    assert cleaned.cells[0].outputs == [NotebookNode(output_type="error", ename="TimeLimit", evalue=TIMEOUT_MESSAGE,
                                                     traceback=[TIMEOUT_MESSAGE])]


# -- nbgrader configuration ---------------------------------------------------------------------------
def test_configure_adds_to_nbgraders_feedback_preprocessors_once():
    c = Config()
    configure(c)
    configure(c)
    assert c.GenerateFeedback.preprocessors == [GetGrades, CSSHTMLHeaderPreprocessor, CleanErrorsForLearner,
                                                SanitiseLearnerOutputs]
    assert c.GenerateFeedback.exporter_class is OfflineFeedbackExporter


def test_configure_keeps_preprocessors_already_configured():
    c = Config()
    kept = [GetGrades, "autograder.classroom.feedback.CleanErrorsForLearner",
            "autograder.grading.sanitise.SanitiseLearnerOutputs"]
    c.GenerateFeedback.preprocessors = list(kept)
    configure(c)
    assert c.GenerateFeedback.preprocessors == kept


# -- end to end ---------------------------------------------------------------------------------------
ASSIGNMENT = "01_neurons_and_parameters"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


@pytest.fixture(scope="module")
def feedback_course(tmp_path_factory):
    from autograder.classroom.course import generate_learner_versions, run_nbgrader
    from tests.fixtures import submissions_01 as subs

    root = tmp_path_factory.mktemp("feedback-course")
    release = generate_learner_versions(root / "release", [ASSIGNMENT], gradebook_root=root)
    released = nbformat.read(release / ASSIGNMENT / NOTEBOOK, as_version=4)
    students = {"correct": subs.CORRECT_BUT_DIFFERENT,
                "looper": dict(subs.CORRECT_BUT_DIFFERENT, neuron_solution="while True:\n    pass")}
    for student, solutions in students.items():
        nb = nbformat.from_dict(json.loads(json.dumps(released)))
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in solutions:
                cell.source = solutions[grade_id].strip("\n")
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    (root / "nbgrader_config.py").write_text("from autograder.classroom.feedback import configure\nconfigure(get_config())\n")

    # 10 s: the looper's cell is stopped, and every other cell stays within it on a loaded machine
    autograde = run_nbgrader(["autograde", ASSIGNMENT, "--create", "--Execute.timeout=10"], root, check=False)
    assert autograde.returncode == 0, autograde.stderr[-3000:]
    generated = run_nbgrader(["generate_feedback", ASSIGNMENT], root, check=False)
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert "CleanErrorsForLearner" not in generated.stderr, generated.stderr[-3000:]  # no config warning about it
    pages = {s: (root / "feedback" / s / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text() for s in students}
    return root, pages


def _without_stylesheets(page: str) -> str:
    """The page without its <style> sheets (pygments' CSS names a token class "Generic.Traceback")."""
    soup = BeautifulSoup(page, "html.parser")
    for style in soup.find_all("style"):
        style.decompose()
    return str(soup)


@pytest.mark.slow
@pytest.mark.parametrize("student", ["correct", "looper"])
def test_feedback_is_readable_offline(feedback_course, student):
    _, pages = feedback_course
    page = pages[student]
    soup = BeautifulSoup(page, "html.parser")
    assert len(soup.find_all("math")) > 20 and FALLBACK_CLASS not in page
    assert "mathjax" not in page.lower()
    urls = [tag.get("src") or tag.get("href") or "" for tag in soup.find_all(["script", "link"])]
    assert [url for url in urls if "http" in url or url.startswith("//")] == []


@pytest.mark.slow
def test_feedback_keeps_the_scores(feedback_course):
    _, pages = feedback_course
    assert f"{ASSIGNMENT} (Score: 10.0 / 10.0)" in pages["correct"]
    assert f"{ASSIGNMENT} (Score: 8.0 / 10.0)" in pages["looper"]
    looper_toc = [li.get_text(" ", strip=True) for li in BeautifulSoup(pages["looper"], "html.parser").select("#toc li")]
    assert looper_toc == ["Test cell (Score: 0.0 / 2.0)", "Test cell (Score: 3.0 / 3.0)",
                          "Test cell (Score: 2.0 / 2.0)", "Test cell (Score: 3.0 / 3.0)"]
    assert "Score: 2.0 / 2.0" in pages["correct"]  # the per-cell heading of the neuron's grade cell


@pytest.mark.slow
def test_a_timeout_in_feedback_is_one_line_and_the_instructors_copy_is_unchanged(feedback_course):
    root, pages = feedback_course
    page = pages["looper"]
    errors = [div.get_text().strip() for div in BeautifulSoup(page, "html.parser").select("div.output_error")]
    assert errors == [TIMEOUT_MESSAGE]
    for leak in ("KeyboardInterrupt", "CellTimeoutError", "site-packages", str(root), "\x1b"):
        assert leak not in page
    assert "Traceback" not in _without_stylesheets(page)
    autograded = nbformat.read(root / "autograded" / "looper" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = next(c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "neuron_solution")
    assert [o.get("ename") for o in solution.outputs if o.output_type == "error"][0] == "KeyboardInterrupt"
