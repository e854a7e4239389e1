"""Importing platform exports into submitted/: every naming style, zips, re-imports, and what is reported."""
from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from nbgrader.utils import parse_utc

from autograder.classroom.intake import (
    CORRUPT_ZIP,
    DUPLICATE,
    EMPTY,
    EXTRA,
    IGNORED,
    IMPORTED,
    MISSING,
    REJECTED,
    RENAMED,
    REPLACED,
    TIMESTAMP,
    UNCHANGED,
    UNMATCHED,
    ZipLimits,
    import_submissions,
)
from autograder.classroom.notebooks import CourseError

A = "01_neurons_and_parameters"
NB = f"{A}.ipynb"
MTIME = 1709294400.0  # 2024-03-01 12:00:00 UTC


def notebook(tag: str) -> bytes:
    return ('{"cells": [], "metadata": {"who": "%s"}, "nbformat": 4, "nbformat_minor": 5}\n' % tag).encode()


def put(path: Path, data: bytes, mtime: float = MTIME) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def put_zip(path: Path, members: dict[str, bytes], mtime: float = MTIME) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    os.utime(path, (mtime, mtime))
    return path


def put_roster(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def submitted(root: Path, student: str, name: str = NB) -> Path:
    return root / "submitted" / student / A / name


def outcomes(report) -> list[tuple[str, str, str | None]]:
    return sorted((e.outcome, e.source, e.student) for e in report.entries)


@pytest.fixture
def export(tmp_path):
    return tmp_path / "export"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "course"


def test_moodle_files_and_folders_matched_by_roster_name_without_case_or_accents(export, root, tmp_path):
    put(export / f"Jane Doe_1234567_assignsubmission_file_{NB}", notebook("jane"))
    put(export / "José Núñez_7654321_assignsubmission_file_" / NB, notebook("jose"))
    roster = put_roster(tmp_path / "roster.csv", "student_id,name\ns001,JANE DOE\ns002,Jose Nunez\n")

    report = import_submissions(export, root, A, [NB], roster)

    assert submitted(root, "s001").read_bytes() == notebook("jane")
    assert submitted(root, "s002").read_bytes() == notebook("jose")
    assert report.student_ids == ["s001", "s002"]
    assert not report.of(RENAMED) and not report.problems
    assert [(e.source, e.student) for e in report.of(IMPORTED)] == [
        (f"Jane Doe_1234567_assignsubmission_file_{NB}", "s001"),
        (f"José Núñez_7654321_assignsubmission_file_/{NB}", "s002")]


def test_moodle_without_roster_derives_safe_ids(export, root):
    put(export / f"Jane Doe_1234567_assignsubmission_file_{NB}", notebook("jane"))
    put(export / "José Núñez_7654321_assignsubmission_file_" / NB, notebook("jose"))

    report = import_submissions(export, root, A, [NB])

    assert report.student_ids == ["jane_doe", "jose_nunez"]
    assert submitted(root, "jose_nunez").read_bytes() == notebook("jose")


def test_canvas_resubmission_wins_by_platform_order_even_when_older_on_disk(export, root, tmp_path):
    first = put(export / f"doejane_12345_678901_{NB}", notebook("first"), mtime=MTIME + 100)
    late = put(export / f"doejane_late_12345_678902_{A}-1.ipynb", notebook("late"), mtime=MTIME)
    roster = put_roster(tmp_path / "roster.csv", "student_id,name,email\ns001,Jane Doe,jane.doe@uni.example\n")

    report = import_submissions(export, root, A, [NB], roster)

    assert submitted(root, "s001").read_bytes() == notebook("late")
    assert outcomes(report) == [(DUPLICATE, first.name, "s001"), (IMPORTED, late.name, "s001"),
                                (RENAMED, late.name, "s001"), (TIMESTAMP, f"submitted/s001/{A}/timestamp.txt", "s001")]
    assert late.name in report.of(DUPLICATE)[0].detail
    assert report.of(RENAMED)[0].detail == f"stored as {NB}"


def test_canvas_login_column_and_no_roster(export, root, tmp_path):
    put(export / f"doejane_12345_678901_{NB}", notebook("jane"))
    roster = put_roster(tmp_path / "roster.csv", "Student_ID,Login\nu77,DoeJane\n")

    assert import_submissions(export, root, A, [NB], roster).student_ids == ["u77"]
    assert import_submissions(export, tmp_path / "other", A, [NB]).student_ids == ["doejane"]


def test_blackboard_latest_attempt_wins_and_receipt_is_reported(export, root):
    old = put(export / f"{A}_jdoe_attempt_2024-03-01-09-00-00_{NB}", notebook("old"), mtime=MTIME + 100)
    new = put(export / f"{A}_jdoe_attempt_2024-03-02-09-00-00_my work.ipynb", notebook("new"))
    receipt = put(export / f"{A}_jdoe_attempt_2024-03-02-09-00-00.txt", b"receipt")

    report = import_submissions(export, root, A, [NB])

    assert submitted(root, "jdoe").read_bytes() == notebook("new")
    assert [e.source for e in report.of(DUPLICATE)] == [old.name]
    assert [e.source for e in report.of(RENAMED)] == [new.name]
    assert [e.source for e in report.of(IGNORED)] == [receipt.name]


def test_plain_names_zip_with_folder_and_junk_and_a_student_folder(export, root):
    put(export / "jdoe.ipynb", notebook("jdoe"))
    put(export / f"mlee_{NB}", notebook("mlee"))
    put_zip(export / "asmith.zip", {f"asmith/{NB}": notebook("asmith"),
                                    f"__MACOSX/asmith/._{NB}": b"\x00\x05junk",
                                    f"asmith/.ipynb_checkpoints/{A}-checkpoint.ipynb": notebook("checkpoint"),
                                    "asmith/.DS_Store": b"junk"})
    put(export / "bkim" / "lab" / "Untitled (1).ipynb", notebook("bkim"))
    put(export / ".DS_Store", b"junk")

    report = import_submissions(export, root, A, [NB])

    for student in ("asmith", "bkim", "jdoe", "mlee"):
        assert submitted(root, student).read_bytes() == notebook(student)
    assert sorted(p.name for p in submitted(root, "asmith").parent.iterdir()) == [NB, "timestamp.txt"]
    assert report.student_ids == ["asmith", "bkim", "jdoe", "mlee"]
    assert sorted(e.source for e in report.of(RENAMED)) == ["bkim/lab/Untitled (1).ipynb", "jdoe.ipynb", f"mlee_{NB}"]
    assert [e.source for e in report.of(IMPORTED) if e.student == "asmith"] == [f"asmith.zip!asmith/{NB}"]
    assert not report.problems


def test_zip_slip_absolute_and_symlink_members_are_rejected(export, root, tmp_path):
    path = put_zip(export / "jdoe.zip", {NB: notebook("jdoe"), f"../{NB}": notebook("evil"),
                                         f"/tmp/{NB}": notebook("abs")})
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo(f"link/{NB}")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")

    report = import_submissions(export, root, A, [NB])

    assert submitted(root, "jdoe").read_bytes() == notebook("jdoe")
    assert sorted((e.source, e.detail) for e in report.of(REJECTED)) == [
        (f"jdoe.zip!../{NB}", "path leads out of the zip's folder (..); not imported"),
        (f"jdoe.zip!/tmp/{NB}", "absolute path; not imported"),
        (f"jdoe.zip!link/{NB}", "symbolic link; not imported")]
    assert not (tmp_path / NB).exists() and not (export / NB).exists() and not report.of(DUPLICATE)


def test_oversized_member_and_oversized_zip_are_rejected(export, root):
    put_zip(export / "big.zip", {NB: b"x" * 2000})
    put_zip(export / "many.zip", {f"a/{NB}": notebook("a" * 300), f"b/{NB}": notebook("b" * 300)})
    put_zip(export / "crowded.zip", {f"{i}.txt": b"" for i in range(11)})
    put(export / "ok.ipynb", b"y" * 2000)  # loose notebooks are not zip members: no cap

    report = import_submissions(export, root, A, [NB], limits=ZipLimits(member_bytes=1000, total_bytes=500, members=10))

    assert report.student_ids == ["ok"]
    assert sorted((e.source, e.detail) for e in report.of(REJECTED)) == [
        (f"big.zip!{NB}", "over the limit of 0.000953674 MB uncompressed per file; not imported"),
        ("crowded.zip", "holds 11 files, more than the limit of 10; nothing imported from it"),
        ("many.zip", "its notebooks are over the limit of 0.000476837 MB uncompressed; nothing imported from it")]
    assert not (root / "submitted" / "big").exists() and not (root / "submitted" / "many").exists()


def test_default_limits_are_the_documented_ones():
    assert ZipLimits() == ZipLimits(member_bytes=50 * 2**20, total_bytes=200 * 2**20, members=5000)


def test_corrupt_zips_and_lying_sizes_are_reported_for_their_student_only(export, root):
    put(export / "broken.zip", b"PK\x03\x04 this is not a zip")
    damaged = put_zip(export / "damaged.zip", {})
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(NB, notebook("damaged"))
    raw = bytearray(damaged.read_bytes())
    raw[raw.index(b'"cells"')] ^= 0xFF  # the data no longer fits its CRC
    damaged.write_bytes(bytes(raw))
    liar = put_zip(export / "liar.zip", {}, mtime=MTIME)
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(NB, b"x" * 5000)
    raw = bytearray(liar.read_bytes())
    for offset in (22, raw.index(b"PK\x01\x02") + 24):  # declared size, local header and directory: 100
        struct.pack_into("<I", raw, offset, 100)
    liar.write_bytes(bytes(raw))
    put(export / "jdoe.ipynb", notebook("jdoe"))

    report = import_submissions(export, root, A, [NB], limits=ZipLimits(member_bytes=1000))

    assert report.student_ids == ["jdoe"]
    assert [(e.source, e.student) for e in report.of(CORRUPT_ZIP)] == [("broken.zip", "broken"),
                                                                        ("damaged.zip", "damaged"),
                                                                        ("liar.zip", "liar")]
    assert "ask the student to upload it again" in report.of(CORRUPT_ZIP)[0].detail
    assert not report.of(EMPTY)
    assert not (root / "submitted" / "broken").exists() and not (root / "submitted" / "damaged").exists()


def test_invalid_json_is_copied_byte_for_byte(export, root):
    data = b'{"cells": [ not json \xff\r\n'
    put(export / "jdoe.ipynb", data)

    import_submissions(export, root, A, [NB])

    assert submitted(root, "jdoe").read_bytes() == data


def test_timestamp_is_nbgrader_format_from_mtime_and_written_once(export, root):
    put(export / "jdoe.ipynb", notebook("jdoe"))

    import_submissions(export, root, A, [NB])

    stamp = submitted(root, "jdoe", "timestamp.txt")
    assert stamp.read_text() == "2024-03-01 12:00:00.000000 UTC"
    assert parse_utc(stamp.read_text()).timestamp() == parse_utc("2024-03-01 12:00:00").timestamp()
    stamp.write_text("2024-02-01 08:00:00.000000 UTC")
    put(export / "jdoe.ipynb", notebook("changed"), mtime=MTIME + 3600)
    report = import_submissions(export, root, A, [NB])
    assert stamp.read_text() == "2024-02-01 08:00:00.000000 UTC" and not report.of(TIMESTAMP)


def test_importing_twice_changes_nothing(export, root, tmp_path):
    put(export / f"Jane Doe_1234567_assignsubmission_file_{A}-1.ipynb", notebook("jane"))
    put_zip(export / "asmith.zip", {f"asmith/{NB}": notebook("asmith")})
    roster = put_roster(tmp_path / "roster.csv", "student_id,name,login\ns001,Jane Doe,\ns002,,asmith\n")
    import_submissions(export, root, A, [NB], roster)
    before = {p: (p.read_bytes(), p.stat().st_mtime) for p in root.rglob("*") if p.is_file()}

    report = import_submissions(export, root, A, [NB], roster)

    assert {p: (p.read_bytes(), p.stat().st_mtime) for p in root.rglob("*") if p.is_file()} == before
    assert sorted(e.outcome for e in report.entries) == [RENAMED, UNCHANGED, UNCHANGED]
    assert report.student_ids == ["s001", "s002"]


def test_changed_reexport_moves_the_old_notebook_aside_and_keeps_both(export, root):
    put(export / "jdoe.ipynb", notebook("v1"))
    import_submissions(export, root, A, [NB])
    put(export / "jdoe.ipynb", notebook("v2"), mtime=MTIME + 60)

    report = import_submissions(export, root, A, [NB])

    folder = submitted(root, "jdoe").parent
    aside = [p for p in folder.iterdir() if p.name.startswith(f"{NB}.replaced-")]
    assert len(aside) == 1 and not aside[0].name.endswith(".ipynb") and aside[0].name.endswith("Z")
    assert aside[0].read_bytes() == notebook("v1") and submitted(root, "jdoe").read_bytes() == notebook("v2")
    assert sorted(p.name for p in folder.iterdir()) == sorted([NB, aside[0].name, "timestamp.txt"])
    assert [e.detail for e in report.of(REPLACED)] == [
        f"submitted/jdoe/{A}/{NB} written; the different one that was there is kept as {aside[0].name}"]


def test_unmatched_and_ambiguous_files_are_reported_and_the_rest_imported(export, root, tmp_path):
    put(export / f"Jane Doe_1234567_assignsubmission_file_{NB}", notebook("jane"))
    put(export / f"Who Ever_7777777_assignsubmission_file_{NB}", notebook("who"))
    put(export / f"Sam Lee_8888888_assignsubmission_file_{NB}", notebook("sam"))
    roster = put_roster(tmp_path / "roster.csv",
                        "student_id,name\ns001,Jane Doe\ns002,Sam Lee\ns003,Sam Lee\n\n")

    report = import_submissions(export, root, A, [NB], roster)

    assert report.student_ids == ["s001"]
    assert sorted((e.source, e.detail) for e in report.of(UNMATCHED)) == [
        (f"Sam Lee_8888888_assignsubmission_file_{NB}", "'Sam Lee' fits several roster students (s002, s003); "
         "give each a distinct value in a `file` column; nothing imported, the file stays in the export"),
        (f"Who Ever_7777777_assignsubmission_file_{NB}", "no roster student has the name, login, email or file "
         "'Who Ever'; add it to the roster; nothing imported, the file stays in the export")]
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["s001"]


def test_two_entries_for_one_student_keep_the_newest_by_mtime(export, root, tmp_path):
    put(export / f"Jane Doe_1234567_assignsubmission_file_{NB}", notebook("older"), mtime=MTIME)
    put(export / "jdoe.ipynb", notebook("newer"), mtime=MTIME + 10)
    roster = put_roster(tmp_path / "roster.csv", "student_id,name,email\ns001,Jane Doe,jdoe@uni.example\n")

    report = import_submissions(export, root, A, [NB], roster)

    assert submitted(root, "s001").read_bytes() == notebook("newer")
    assert [e.source for e in report.of(DUPLICATE)] == [f"Jane Doe_1234567_assignsubmission_file_{NB}"]
    assert submitted(root, "s001", "timestamp.txt").read_text() == "2024-03-01 12:00:10.000000 UTC"


def test_several_notebooks_extra_and_missing(export, root):
    notebooks = ["part_a.ipynb", "part_b.ipynb"]
    put_zip(export / "jdoe.zip", {"hw/part_a.ipynb": notebook("a"), "hw/part_b (1).ipynb": notebook("b"),
                                  "hw/scratch.ipynb": notebook("s"), "hw/data.csv": b"1,2"})
    put(export / "asmith" / "part_a.ipynb", notebook("only a"))

    report = import_submissions(export, root, A, notebooks)

    folder = root / "submitted" / "jdoe" / A
    assert (folder / "part_a.ipynb").read_bytes() == notebook("a")
    assert (folder / "part_b.ipynb").read_bytes() == notebook("b")
    assert [e.source for e in report.of(RENAMED)] == ["jdoe.zip!hw/part_b (1).ipynb"]
    assert [e.source for e in report.of(EXTRA)] == ["jdoe.zip!hw/scratch.ipynb"]
    assert [(e.source, e.detail) for e in report.of(IGNORED)] == [
        ("jdoe.zip", "not notebooks, not imported: hw/data.csv")]
    assert [(e.student, e.detail) for e in report.of(MISSING)] == [("asmith", "no part_b.ipynb in the export")]


def test_empty_folder_and_ignored_files(export, root):
    (export / "jdoe").mkdir(parents=True)
    put(export / "jdoe" / "notes.txt", b"hi")
    put_zip(export / "asmith.zip", {"readme.md": b"hi"})
    put(export / "grades.csv", b"a,b")

    report = import_submissions(export, root, A, [NB])

    assert outcomes(report) == [(EMPTY, "asmith.zip", "asmith"), (EMPTY, "jdoe/", "jdoe"),
                                (IGNORED, "asmith.zip", "asmith"), (IGNORED, "grades.csv", None),
                                (IGNORED, "jdoe/", "jdoe")]
    assert report.student_ids == [] and not (root / "submitted").exists()


def test_report_prints_a_summary_and_one_line_per_fact(export, root):
    put(export / "jdoe.ipynb", notebook("jdoe"))
    put(export / "grades.csv", b"a,b")

    report = import_submissions(export, root, A, [NB])

    assert report.lines() == [
        f"{A}: 1 student(s) in submitted/ (1 imported, 1 renamed, 1 ignored)",
        "ignored     grades.csv: not a notebook, a zip or a folder; left in the export",
        f"renamed     jdoe.ipynb -> jdoe: stored as {NB}",
        f"imported    jdoe.ipynb -> jdoe: submitted/jdoe/{A}/{NB} written",
        f"timestamp   submitted/jdoe/{A}/timestamp.txt -> jdoe: 2024-03-01 12:00:00.000000 UTC "
        "(the file's modification time)"]
    assert str(report) == "\n".join(report.lines())


@pytest.mark.parametrize("roster_text, message", [
    ("name,login\nJane,jdoe\n", "has no student_id column (it has: name, login); add one"),
    ("student_id,name\n../x,Jane\n", "line 2: student_id '../x' is not a usable id"),
])
def test_unusable_roster_is_one_clear_error(export, root, tmp_path, roster_text, message):
    export.mkdir()
    roster = put_roster(tmp_path / "roster.csv", roster_text)
    with pytest.raises(CourseError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        import_submissions(export, root, A, [NB], roster)


def test_unusable_arguments_are_one_clear_error(export, root, tmp_path):
    with pytest.raises(CourseError, match="is not a folder; give the folder you downloaded"):
        import_submissions(export, root, A, [NB])
    put_zip(tmp_path / "all.zip", {})
    with pytest.raises(CourseError, match="is not a folder; unzip it and give the folder"):
        import_submissions(tmp_path / "all.zip", root, A, [NB])
    export.mkdir()
    with pytest.raises(CourseError, match="roster .* not found"):
        import_submissions(export, root, A, [NB], tmp_path / "nope.csv")
    with pytest.raises(CourseError, match="plain file names ending in .ipynb"):
        import_submissions(export, root, A, ["../x.ipynb"])


def test_a_notebook_named_only_after_the_assignment_is_unmatched(export, root):
    put(export / NB, notebook("whose?"))

    report = import_submissions(export, root, A, [NB])

    assert [(e.source, e.detail) for e in report.entries] == [
        (NB, "the name has no student part (it is just the notebook's name); rename it after its student; "
             "nothing imported, the file stays in the export")]


def test_unwritable_course_folder_is_one_clear_error(export, tmp_path):
    put(export / "jdoe.ipynb", notebook("jdoe"))
    blocker = put(tmp_path / "course", b"a file where the course folder should be")

    with pytest.raises(CourseError, match=r"^cannot read or write .*course/submitted.*; fix that and import again"):
        import_submissions(export, blocker, A, [NB])


# --- links and paths out of the export: refused, never followed; modes never copied or changed ----------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def rejected(report) -> dict[str, str]:
    return {e.source: e.detail for e in report.of(REJECTED)}


def test_a_link_to_another_students_submitted_notebook_is_refused(export, root):
    put(export / "alice.ipynb", notebook("alice"))
    import_submissions(export, root, A, [NB])
    alice = submitted(root, "alice")
    alice.chmod(0o640)
    (export / "alice.ipynb").unlink()
    (export / "mallory.ipynb").symlink_to(alice)  # absolute link into the course directory
    (export / "eve.ipynb").symlink_to(export / "bob.ipynb")  # a link to a notebook inside the export
    put(export / "bob.ipynb", notebook("bob"))

    report = import_submissions(export, root, A, [NB])

    assert rejected(report) == {
        "mallory.ipynb": f"a symbolic link (to {alice}), not a file of the export; links are never followed: "
                         "nothing imported from it",
        "eve.ipynb": f"a symbolic link (to {export / 'bob.ipynb'}), not a file of the export; links are never "
                     "followed: nothing imported from it"}
    assert report.student_ids == ["bob"] and submitted(root, "bob").read_bytes() == notebook("bob")
    assert not (root / "submitted" / "mallory").exists() and not (root / "submitted" / "eve").exists()
    assert alice.read_bytes() == notebook("alice") and mode(alice) == 0o640
    assert "rejected    mallory.ipynb: a symbolic link (to " in str(report)


def test_a_link_to_a_private_file_outside_the_export_is_refused_and_its_mode_kept(export, root, tmp_path):
    secret = put(tmp_path / "course-secrets" / ".nncourse_secret", b"0123456789abcdef" * 4)
    secret.chmod(0o600)
    put(export / "jdoe.ipynb", notebook("jdoe"))
    (export / "mallory.ipynb").symlink_to(secret)
    (export / "mallory_b.zip").symlink_to(secret)
    honest = export / "jdoe.ipynb"
    honest.chmod(0o600)  # a private source: its mode is not copied, the stored file gets the umask's mode

    report = import_submissions(export, root, A, [NB])

    assert sorted(rejected(report)) == ["mallory.ipynb", "mallory_b.zip"]
    assert all(f"(to {secret})" in why for why in rejected(report).values())
    assert report.student_ids == ["jdoe"]
    assert mode(secret) == 0o600 and mode(honest) == 0o600
    assert mode(submitted(root, "jdoe")) == mode(submitted(root, "jdoe", "timestamp.txt")) == new_file_mode()
    leaked = [p for p in root.rglob("*") if p.is_file() and b"0123456789abcdef" in p.read_bytes()]
    assert leaked == []


def test_linked_folders_are_refused_at_the_top_and_inside_a_students_folder(export, root, tmp_path):
    elsewhere = put(tmp_path / "elsewhere" / NB, notebook("elsewhere")).parent
    put(export / "bkim" / "lab" / NB, notebook("bkim"))
    (export / "mallory").symlink_to(elsewhere, target_is_directory=True)
    (export / "bkim" / "more").symlink_to(elsewhere, target_is_directory=True)
    (export / "bkim" / "up").symlink_to("..", target_is_directory=True)  # a loop back to the export's top

    report = import_submissions(export, root, A, [NB])

    assert rejected(report) == {
        "mallory/": f"a symbolic link (to {elsewhere}), not a folder of the export; links are never followed: "
                    "nothing imported from it",
        "bkim/more/": f"a symbolic link (to {elsewhere}), not a folder of the export; links are never followed: "
                      "nothing imported from it",
        "bkim/up/": "a symbolic link (to ..), not a folder of the export; links are never followed: "
                    "nothing imported from it"}
    assert report.student_ids == ["bkim"] and submitted(root, "bkim").read_bytes() == notebook("bkim")
    assert not report.of(DUPLICATE)


def test_a_hard_to_spot_dot_dot_path_is_refused(export, root, tmp_path):
    secret = put(tmp_path / "course" / ".nncourse_secret", b"s" * 64)
    secret.chmod(0o600)
    put(export / "jdoe" / "lab" / NB, notebook("jdoe"))
    # An innocent-looking relative link deep in a folder that climbs out of the export through "lab/..".
    (export / "asmith" / "lab").mkdir(parents=True)
    target = "../../asmith/lab/../../../course/.nncourse_secret"
    (export / "asmith" / "lab" / NB).symlink_to(target)
    put_zip(export / "mlee.zip", {f"mlee/{NB}": notebook("mlee"), f"mlee\\..\\..\\{A}-1.ipynb": notebook("out")})

    report = import_submissions(export, root, A, [NB])

    assert rejected(report) == {
        f"asmith/lab/{NB}": f"a symbolic link (to {target}), not a file of the export; links are never followed: "
                            "nothing imported from it",
        f"mlee.zip!mlee\\..\\..\\{A}-1.ipynb": "path leads out of the zip's folder (..); not imported"}
    assert report.student_ids == ["jdoe", "mlee"]
    assert submitted(root, "mlee").read_bytes() == notebook("mlee")
    assert not (root / "submitted" / "asmith").exists() and mode(secret) == 0o600
    assert not report.of(EMPTY)


def test_a_pipe_is_refused_without_blocking(export, root):
    put(export / "jdoe.ipynb", notebook("jdoe"))
    os.mkfifo(export / "mallory.ipynb")

    report = import_submissions(export, root, A, [NB])

    assert rejected(report) == {"mallory.ipynb": "not a regular file or folder (a pipe, socket or device); "
                                                 "nothing imported from it"}
    assert report.student_ids == ["jdoe"]


def test_a_link_planted_in_submitted_is_replaced_not_written_through(export, root, tmp_path):
    outside = put(tmp_path / "outside.txt", b"keep me")
    outside.chmod(0o444)
    folder = submitted(root, "jdoe").parent
    folder.mkdir(parents=True)
    submitted(root, "jdoe").symlink_to(outside)
    (folder / f".{NB}.intake").symlink_to(outside)  # a leftover temporary name, as a link
    (folder / "timestamp.txt").symlink_to(tmp_path / "nowhere.txt")
    put(export / "jdoe.ipynb", notebook("jdoe"))

    report = import_submissions(export, root, A, [NB])

    assert outside.read_bytes() == b"keep me" and mode(outside) == 0o444 and not (tmp_path / "nowhere.txt").exists()
    assert submitted(root, "jdoe").read_bytes() == notebook("jdoe") and not submitted(root, "jdoe").is_symlink()
    assert sorted(e.outcome for e in report.entries if e.source == "jdoe.ipynb") == [RENAMED, REPLACED]
