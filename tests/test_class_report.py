"""The class report: exact statistics in its CSVs, its flagged students, valid plots, and the edge cases.

The synthetic class has 30 students and two assignments. In 01, s01 did not submit, s02's notebook could not be
graded, and s03..s30 were graded on four exercises (01.warmup is worth 0 points and nobody did it, so it must
never be called the hardest). s07 carries an integrity flag, s11 one on an exercise, s15 a reason. In 02,
s30 did not submit and the others were graded on two exercises.
"""
from __future__ import annotations

import csv
import struct

import matplotlib
import pytest

from autograder.classroom.class_report import write_report
from autograder.classroom.notebooks import CourseError

A1, A2 = "01_neurons_and_parameters", "02_activation_functions"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FLAG_07 = "01.neuron: the notebook's own check showed 2 points for the public cases; the grader measured 0"
FLAG_11 = "the solution cell reads the hidden inputs"
REASON_15 = "solution cell 'neuron_solution' was split in two; graded as one"
REASON_02 = "the notebook is not valid JSON; resubmit it"


def exercise(id_: str, points: float, max_points: float, status: str, mistakes=(), flags=()) -> dict:
    return {"id": id_, "points": points, "max_points": max_points, "status": status, "mistakes": list(mistakes),
            "flags": list(flags)}


def assignment_01(k: int) -> dict:
    student = f"s{k:02d}"
    if k == 1:
        return {"student": student, "assignment": A1, "score": 0.0, "max_score": 10.0, "status": "no submission",
                "reasons": [], "flags": [], "exercises": []}
    if k == 2:
        return {"student": student, "assignment": A1, "score": None, "max_score": 10.0, "status": "not graded",
                "reasons": [REASON_02], "flags": [], "exercises": []}
    neuron = (exercise("01.neuron", 2.0, 2.0, "passed") if k <= 23 else
              exercise("01.neuron", 1.0, 2.0, "partial", ["forgot the bias"]) if k <= 28 else
              exercise("01.neuron", 0.0, 2.0, "failed", ["wrong sign"]))
    bias = (exercise("01.bias", 3.0, 3.0, "passed") if k % 3 == 0 else
            exercise("01.bias", 1.5, 3.0, "partial", ["bias added twice", "bias added twice"]) if k % 3 == 1 else
            exercise("01.bias", 0.0, 3.0, "failed", ["no bias"]))
    layer = (exercise("01.layer", 0.0, 5.0, "error") if k == 30 else
             exercise("01.layer", 5.0, 5.0, "passed", flags=[FLAG_11] if k == 11 else []))
    warmup = exercise("01.warmup", 0.0, 0.0, "not attempted")
    exercises = [neuron, bias, layer, warmup] if k != 4 else [warmup, layer, bias, neuron]  # order: s03's
    return {"student": student, "assignment": A1, "score": sum(e["points"] for e in exercises), "max_score": 10.0,
            "status": "graded", "reasons": [REASON_15] if k == 15 else [], "flags": [FLAG_07] if k == 7 else [],
            "exercises": exercises}


def assignment_02(k: int) -> dict:
    student = f"s{k:02d}"
    if k == 30:
        return {"student": student, "assignment": A2, "score": 0.0, "max_score": 2.0, "status": "no submission",
                "reasons": [], "flags": [], "exercises": []}
    sigmoid = (exercise("02.sigmoid", 1.0, 1.0, "passed") if k <= 10 else
               exercise("02.sigmoid", 0.0, 1.0, "failed", ["overflow for large inputs"]))
    exercises = [exercise("02.relu", 1.0, 1.0, "passed"), sigmoid]
    return {"student": student, "assignment": A2, "score": sum(e["points"] for e in exercises), "max_score": 2.0,
            "status": "graded", "reasons": [], "flags": [], "exercises": exercises}


CLASS = [assignment_01(k) for k in range(1, 31)] + [assignment_02(k) for k in range(1, 31)]


def read_csv(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    grades = out.parent / "grades.csv"
    return out, write_report(CLASS, out, grades_csv=grades)


def test_exercises_csv_has_exact_pass_rates_means_and_mistakes_in_notebook_order(report):
    out, _ = report
    rows = read_csv(out / "exercises.csv")
    assert [(r["assignment"], r["exercise"]) for r in rows] == [
        (A1, "01.neuron"), (A1, "01.bias"), (A1, "01.layer"), (A1, "01.warmup"), (A2, "02.relu"), (A2, "02.sigmoid")]
    by_id = {r["exercise"]: r for r in rows}
    assert [by_id[e]["submissions"] for e in by_id] == ["28", "28", "28", "28", "29", "29"]
    assert float(by_id["01.neuron"]["pass_rate"]) == pytest.approx(21 / 28, abs=1e-4)
    assert float(by_id["01.neuron"]["mean_points"]) == pytest.approx(47 / 28, abs=1e-4)
    assert by_id["01.neuron"]["most_common_mistakes"] == "forgot the bias (5); wrong sign (2)"
    assert float(by_id["01.bias"]["pass_rate"]) == pytest.approx(10 / 28, abs=1e-4)
    assert float(by_id["01.bias"]["mean_points"]) == pytest.approx((10 * 3 + 9 * 1.5) / 28, abs=1e-4)
    # a mistake named twice in one submission counts once; a tie keeps first appearance (s04 before s05)
    assert by_id["01.bias"]["most_common_mistakes"] == "bias added twice (9); no bias (9)"
    assert float(by_id["01.layer"]["pass_rate"]) == pytest.approx(27 / 28, abs=1e-4)
    assert by_id["01.layer"]["most_common_mistakes"] == ""
    assert (by_id["01.warmup"]["max_points"], by_id["01.warmup"]["pass_rate"], by_id["01.warmup"]["mean_points"]) \
        == ("0", "0", "0")
    assert (by_id["02.relu"]["pass_rate"], by_id["02.relu"]["mean_points"]) == ("1", "1")
    assert float(by_id["02.sigmoid"]["pass_rate"]) == pytest.approx(10 / 29, abs=1e-4)
    assert by_id["02.sigmoid"]["most_common_mistakes"] == "overflow for large inputs (19)"


def test_students_csv_has_one_row_per_result_with_reasons_and_flags(report):
    out, _ = report
    rows = read_csv(out / "students.csv")
    assert len(rows) == 60
    row = {(r["student"], r["assignment"]): r for r in rows}
    assert row["s07", A1]["flags"] == FLAG_07
    assert row["s11", A1]["flags"] == f"01.layer: {FLAG_11}"  # an exercise's flag, named by its exercise
    assert row["s15", A1]["reasons"] == REASON_15
    assert (row["s02", A1]["score"], row["s02", A1]["status"], row["s02", A1]["reasons"]) == \
        ("", "not graded", REASON_02)
    assert (row["s03", A1]["score"], row["s03", A1]["max_score"]) == ("10", "10")
    assert (row["s30", A1]["score"], row["s30", A2]["status"]) == ("3", "no submission")


def test_flagged_csv_lists_integrity_first_then_ungraded_then_reasons(report):
    out, _ = report
    rows = read_csv(out / "flagged.csv")
    assert [(r["assignment"], r["student"]) for r in rows] == [
        (A1, "s07"), (A1, "s11"), (A1, "s01"), (A1, "s02"), (A1, "s15"), (A2, "s30")]


def test_plots_are_non_empty_png_files_and_leave_the_backend_alone(tmp_path):
    backend = matplotlib.get_backend()
    write_report(CLASS, tmp_path)
    assert matplotlib.get_backend() == backend
    for name in ("score_distribution.png", "pass_rates.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 300 and height >= 200 and len(data) > 5000


def test_summary_text_names_the_hardest_exercises_mistakes_and_flagged_students(report):
    out, text = report
    lines = text.splitlines()
    assert 10 <= len(lines) <= 25
    assert lines[0] == "Class report: 30 students, 2 assignments"
    assert f"{A1}: 30 students: 28 graded, 1 not graded, 1 no submission; mean 8.05, median 8.5 of 10" in lines
    assert "  hardest: 01.bias (36% full points), 01.neuron (75% full points), 01.layer (96% full points)" in lines
    assert "  top mistakes: bias added twice (9, 01.bias); no bias (9, 01.bias); forgot the bias (5, 01.neuron)" \
        in lines
    assert "  needing attention: 5 (and 2 more in flagged.csv)" in lines
    assert f"    s07: flag: {FLAG_07}"[:100] in text
    assert f"    s11: flag: 01.layer: {FLAG_11}" in lines
    assert "    s01: no submission" in lines
    assert f"{A2}: 30 students: 29 graded, 1 no submission; mean 1.34, median 1 of 2" in lines
    assert "  hardest: 02.sigmoid (34% full points), 02.relu (100% full points)" in lines
    assert "    s30: no submission" in lines
    assert str(out / "summary.md") in lines[-2] and lines[-1] == f"Grades: {out.parent / 'grades.csv'}"


def test_summary_markdown_links_the_files_and_lists_students_needing_attention(report):
    out, _ = report
    md = (out / "summary.md").read_text(encoding="utf-8")
    for link in ("(exercises.csv)", "(students.csv)", "(flagged.csv)", "(score_distribution.png)",
                 "(pass_rates.png)", "[grades.csv](../grades.csv)"):
        assert link in md
    assert "- Hardest exercise: **01.bias**, 36% of 28 graded submissions with full points" in md
    assert "- Hardest exercise: **02.sigmoid**" in md
    assert "### Students needing attention (5)" in md and "### Students needing attention (1)" in md
    assert f"- **s07**: flag: {FLAG_07}" in md
    assert f"- **s02**: not graded; {REASON_02}" in md
    assert f"- **s15**: {REASON_15}".replace("_", "\\_") in md  # learner text is escaped Markdown
    assert "| 01.warmup | 0 | 28 | 0% | 0 | — |" in md


def test_empty_results_write_every_file_and_say_so(tmp_path):
    out = tmp_path / "new" / "reports"
    text = write_report([], out)
    assert text.splitlines()[0] == "Class report: no results, nothing was graded."
    assert [r for r in read_csv(out / "exercises.csv")] == []
    assert (out / "flagged.csv").read_text(encoding="utf-8").splitlines() == \
        ["student,assignment,score,max_score,status,reasons,flags"]
    assert (out / "pass_rates.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "score_distribution.png").read_bytes()[:8] == PNG_MAGIC
    assert "No results: nothing was graded" in (out / "summary.md").read_text(encoding="utf-8")


def test_an_assignment_nobody_submitted_has_no_scores_and_no_hardest_exercise(tmp_path):
    results = [{"student": f"s{k:02d}", "assignment": "03_losses", "score": 0.0, "max_score": 5.0,
                "status": "no submission", "reasons": [], "flags": [], "exercises": []} for k in range(1, 6)]
    text = write_report(results, tmp_path)
    assert "03_losses: 5 students: 0 graded, 5 no submission; no graded scores" in text
    assert "  hardest: none (no exercise was graded)" in text and "  top mistakes: none named" in text
    assert "  needing attention: 5 (and 2 more in flagged.csv)" in text
    assert read_csv(tmp_path / "exercises.csv") == []
    assert len(read_csv(tmp_path / "flagged.csv")) == 5
    assert "- Hardest exercise: none (no exercise worth points was graded)" in \
        (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_zero_point_exercises_and_results_without_exercises_or_optional_keys(tmp_path):
    results = [
        {"student": "a", "assignment": A1, "score": 0.0, "max_score": 0.0, "status": "graded",
         "exercises": [exercise("01.warmup", 0.0, 0.0, "passed")]},
        {"student": "b", "assignment": A1, "score": 0.0, "max_score": 0.0, "status": "graded",
         "exercises": [exercise("01.warmup", 0.0, 0.0, "failed", ["printed instead of returning"])]},
        {"student": "c", "assignment": A1, "status": "not graded"},
        {"student": "d", "assignment": A1, "score": 0.0, "status": "not graded",  # not counted: not graded
         "exercises": [exercise("01.warmup", 0.0, 0.0, "passed"), exercise("01.extra", 0.0, 1.0, "failed")]},
    ]
    text = write_report(results, tmp_path)
    [row] = read_csv(tmp_path / "exercises.csv")
    assert (row["submissions"], row["pass_rate"], row["mean_points"]) == ("2", "0.5", "0")
    assert "  hardest: none (no exercise was graded)" in text  # a 0-point exercise is never the hardest
    assert "mean 0, median 0 of 0" in text
    assert "    c: not graded" in text and "    d: not graded" in text
    assert read_csv(tmp_path / "students.csv")[2]["score"] == ""


def test_a_second_run_overwrites_the_report(tmp_path):
    write_report(CLASS, tmp_path)
    write_report([assignment_02(1)], tmp_path)
    assert [r["student"] for r in read_csv(tmp_path / "students.csv")] == ["s01"]
    assert read_csv(tmp_path / "flagged.csv") == []
    assert "01.bias" not in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_bad_input_and_an_unwritable_folder_are_one_line_errors(tmp_path):
    with pytest.raises(CourseError, match=r"^result 2 of 2 names no student or assignment; each result needs"):
        write_report([assignment_02(1), {"student": "s02"}], tmp_path)
    with pytest.raises(CourseError, match=r"^result 1 of 1 \(s01, 02_activation_functions\) has a score or points"):
        write_report([{**assignment_02(1), "score": "1.5"}], tmp_path)
    with pytest.raises(CourseError, match=r"^result 1 of 1 \(s01, 02_activation_functions\) has an exercise without"):
        write_report([{**assignment_02(1), "exercises": [{"points": 1.0}]}], tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(CourseError, match=r"^cannot write the class report into .*a_file.*choose a folder"):
        write_report(CLASS, blocker)
