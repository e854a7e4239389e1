"""Bring a learning platform's export of submissions into nbgrader's ``submitted/`` layout, losing nothing.

An export is a folder of *entries*, one per upload: a notebook, a zip or a folder, whose name says
whose it is, in the platform's way:

- Moodle:     ``Jane Doe_1234567_assignsubmission_file_<file>`` (or a folder ``..._file_/`` holding it)
- Canvas:     ``doejane[_late]_<user id>_<submission id>_<file>`` (a re-upload's file gets ``-1``)
- Blackboard: ``<assignment>_<login>_attempt_<YYYY-MM-DD-HH-MM-SS>[_<file>]``
- otherwise:  the name itself (``jdoe.ipynb``, ``jdoe.zip``, ``jdoe/``)

Each entry goes through three steps:

1. *whose*: the student part of its name becomes a student id, through the roster (full name,
   login, email or an explicit ``file`` token, compared without case or accents) or, without one,
   made a safe id. A name that fits no roster student, or several, is reported and left alone.
2. *what*: its notebooks become the assignment's notebooks. A zip is read in memory under
   :class:`ZipLimits` and only notebook bytes are taken from it, never its paths; unsafe, oversized
   and unreadable members are reported. A single notebook stands for a one-notebook assignment
   whatever its name; otherwise names are matched without the platform's prefix and copy suffixes
   (``-1``, `` (1)``). Where several notebooks claim one place, the newest wins: Blackboard attempt
   time, then copy number, then modification time.
3. *store*: the winner is copied byte for byte (the grader judges its JSON later) to
   ``submitted/<id>/<assignment>/<notebook>``. A different notebook already there is moved aside to
   ``<notebook>.replaced-<UTC time>``; an identical one is left as it is; ``timestamp.txt`` is only
   written where there is none. So importing twice changes nothing.

Everything that is not stored gets a report line saying why; the export itself is only read.

Only what lies in the export is read: a symbolic link (a file or a folder, at the top or deeper, or a
zip member) is never followed but refused with a line naming it and where it points, as is anything
that is not a regular file or folder, and every file read must resolve inside the export. Files are
opened without following a link (``O_NOFOLLOW``), so one swapped in later is refused too. Only content
is copied: a stored file is created new with the mode the umask gives, never with the source's mode,
and no existing file's mode is changed.
"""
from __future__ import annotations

import calendar
import csv
import io
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from autograder.classroom.notebooks import CourseError

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's CourseDirectory.timestamp_format, written in UTC
MB = 2**20

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in for a file must not block the import

# Report outcomes. The first three mean the student's notebook is in submitted/ after the import.
IMPORTED, UNCHANGED, REPLACED = "imported", "unchanged", "replaced"
RENAMED, TIMESTAMP = "renamed", "timestamp"
UNMATCHED, DUPLICATE, CORRUPT_ZIP, REJECTED = "unmatched", "duplicate", "corrupt zip", "rejected"
EXTRA, MISSING, EMPTY, IGNORED = "extra", "missing", "empty", "ignored"
STORED = (IMPORTED, UNCHANGED, REPLACED)
NEEDS_ATTENTION = (UNMATCHED, DUPLICATE, CORRUPT_ZIP, REJECTED, EXTRA, MISSING, EMPTY, IGNORED)

MOODLE = re.compile(r"^(?P<student>.+?)_\d+_assignsubmission_[a-z]+_?(?P<file>.*)$")
BLACKBOARD = re.compile(r"^.+?_(?P<student>[^_]+)_attempt_(?P<attempt>\d{4}(?:-\d\d){5})(?:_(?P<file>.+))?$")
CANVAS = re.compile(r"^(?P<student>[^_]+)(?:_late)?_\d+_\d+_(?P<file>.+)$", re.IGNORECASE)
COPY_SUFFIX = re.compile(r"(?:-(\d+)| ?\((\d+)\))$")  # "name-1", "name (1)": a re-upload or a re-download
DOWNLOAD_COPY = re.compile(r" ?\((\d+)\)$")
UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
ROSTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
JUNK_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini"}  # plus every dot-file and dot-folder


@dataclass(frozen=True)
class ZipLimits:
    """What one uploaded zip may hold before it is refused (uncompressed sizes)."""
    member_bytes: int = 50 * MB
    total_bytes: int = 200 * MB
    members: int = 5000


@dataclass(frozen=True)
class IntakeLine:
    outcome: str
    source: str  # relative to the export; a zip member as "jdoe.zip!folder/nb.ipynb"
    student: str | None
    detail: str

    def __str__(self) -> str:
        who = f" -> {self.student}" if self.student else ""
        return f"{self.outcome:<11} {self.source}{who}: {self.detail}"


@dataclass
class IntakeReport:
    assignment: str
    entries: list[IntakeLine] = field(default_factory=list)

    def add(self, outcome: str, source: str, student: str | None, detail: str) -> None:
        self.entries.append(IntakeLine(outcome, source, student, detail))

    def of(self, outcome: str) -> list[IntakeLine]:
        return [e for e in self.entries if e.outcome == outcome]

    @property
    def student_ids(self) -> list[str]:
        """The students whose notebooks are in submitted/ for this assignment after the import."""
        return sorted({e.student for e in self.entries if e.outcome in STORED and e.student})

    @property
    def problems(self) -> list[IntakeLine]:
        return [e for e in self.entries if e.outcome in NEEDS_ATTENTION]

    def lines(self) -> list[str]:
        counts = Counter(e.outcome for e in self.entries)
        tally = ", ".join(f"{counts[o]} {o}" for o in (*STORED, RENAMED, *NEEDS_ATTENTION) if counts[o])
        summary = f"{self.assignment}: {len(self.student_ids)} student(s) in submitted/"
        return [summary + (f" ({tally})" if tally else ""), *(str(e) for e in self.entries)]

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class Candidate:
    """A notebook found in the export, and what decides whether it is the newest of its kind."""
    source: str
    name: str  # its own file name, without the platform's prefix
    content: bytes | Path
    mtime: float  # what timestamp.txt is written from
    order: tuple  # larger is newer: (attempt time, entry copy number, copy number, mtime, time inside a zip)

    def data(self) -> bytes:
        """Its bytes; raises Refused if its file is no longer a regular file (a link swapped in)."""
        if not isinstance(self.content, Path):
            return self.content
        with open_regular(self.content) as f:
            return f.read()


class Refused(Exception):
    """A path of the export that is not read: why, in words."""


def link_text(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def refusal(path: Path, root: Path) -> str:
    """Why ``path`` of the export must not be read ("" if it may): a link, a special file, outside the export."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        kind = "folder" if path.is_dir() else "file"
        return (f"a symbolic link (to {link_text(path)}), not a {kind} of the export; links are never followed: "
                "nothing imported from it")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "not a regular file or folder (a pipe, socket or device); nothing imported from it"
    if not path.resolve().is_relative_to(root):
        return f"resolves to {path.resolve()}, outside the export; nothing imported from it"
    return ""


def open_regular(path: Path):
    """``path`` opened for reading if it is a regular file and not a link; raises Refused otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | NONBLOCK)
    except OSError:
        if path.is_symlink():
            raise Refused(f"became a symbolic link (to {link_text(path)}); links are never followed: "
                          "not imported") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Refused("is not a regular file; not imported")
    return os.fdopen(fd, "rb")


def import_submissions(export: Path, course_root: Path, assignment: str, notebooks: list[str],
                       roster: Path | None = None, *, limits: ZipLimits = ZipLimits()) -> IntakeReport:
    """Copy the notebooks of a platform's export into ``course_root/submitted/<id>/<assignment>/``.

    ``notebooks`` are the assignment's notebook file names; ``roster`` a CSV with a ``student_id``
    column and any of ``name``, ``login``, ``email``, ``file``. Raises CourseError for an export,
    roster or notebook list that cannot be used; everything about single entries is in the report.
    """
    export, course_root = Path(export), Path(course_root)
    check_arguments(export, notebooks)
    find_student = Roster.load(Path(roster)).find if roster else derived_id
    report = IntakeReport(assignment)
    try:
        claims = collect(export, notebooks, find_student, limits, report)
        store_all(claims, course_root / "submitted", assignment, notebooks, report)
    except OSError as exc:
        raise CourseError(f"cannot read or write {exc.filename or 'a file'} ({exc.strerror or exc}); fix that and "
                          "import again (what was imported is kept, and an import never repeats its work)") from None
    return report


def collect(export: Path, notebooks: list[str], find_student, limits: ZipLimits,
            report: IntakeReport) -> dict[tuple[str, str], list[Candidate]]:
    """Every notebook of the export that may be a student's, by (student id, assignment notebook)."""
    stems = [nb[: -len(".ipynb")] for nb in notebooks]
    claims: dict[tuple[str, str], list[Candidate]] = {}
    root = export.resolve()
    for path in sorted(p for p in export.iterdir() if not is_junk(p.name)):
        is_folder = stat.S_ISDIR(path.lstat().st_mode)  # a link to a folder is no folder of the export
        source = path.name + ("/" if path.is_dir() else "")
        why = refusal(path, root)
        if why:
            report.add(REJECTED, source, None, why)
            continue
        if not is_folder and path.suffix.lower() not in (".ipynb", ".zip"):
            report.add(IGNORED, source, None, "not a notebook, a zip or a folder; left in the export")
            continue
        token, own_name, attempt = parse_entry_name(path.name, stems)
        student, why_not = find_student(token) if token else (None, "the name has no student part (it is just the "
                                                                     "notebook's name); rename it after its student")
        if student is None:
            report.add(UNMATCHED, source, None, f"{why_not}; nothing imported, the file stays in the export")
            continue
        reported_before = len(report.entries)
        candidates = scan_entry(path, source, own_name, (attempt, copy_number(own_name)), student, limits, report,
                                root)
        refused = any(e.outcome in (CORRUPT_ZIP, REJECTED) for e in report.entries[reported_before:])
        if not candidates and not refused:
            report.add(EMPTY, source, student, "holds no notebook")
        for notebook, candidate in place(candidates, notebooks, student, report):
            claims.setdefault((student, notebook), []).append(candidate)
    return claims


def check_arguments(export: Path, notebooks: list[str]) -> None:
    if not export.is_dir():
        hint = "unzip it and give the folder" if export.is_file() else "give the folder you downloaded"
        raise CourseError(f"export {export} is not a folder; {hint}")
    if not notebooks or any(not nb.endswith(".ipynb") or "/" in nb or "\\" in nb for nb in notebooks):
        raise CourseError(f"notebook names {notebooks!r} must be one or more plain file names ending in .ipynb")


def is_junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK_NAMES


# --- whose: names and student ids -------------------------------------------------------------

def parse_entry_name(name: str, stems: list[str]) -> tuple[str, str, str]:
    """(student part, the file's own name, attempt time) of an export entry's name."""
    for pattern in (MOODLE, BLACKBOARD, CANVAS):
        match = pattern.match(name)
        if match:
            parts = match.groupdict()
            return parts["student"], parts.get("file") or "", parts.get("attempt") or ""
    stem = re.sub(r"\.(ipynb|zip)$", "", name, flags=re.IGNORECASE)
    stem = DOWNLOAD_COPY.sub("", stem)
    for notebook_stem in stems:  # "jdoe_01_neurons_and_parameters.ipynb": the student is "jdoe"
        if stem.casefold().endswith(notebook_stem.casefold()):
            stem = stem[: -len(notebook_stem)].rstrip("_- ")
    return stem, name, ""


def fold(text: str) -> str:
    """Letters and digits only, lower case, accents removed: "José Núñez" -> "josenunez"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).casefold()  # accents decompose into non-alnum marks


def derived_id(token: str) -> tuple[str | None, str]:
    """A safe nbgrader id (ASCII letters, digits, _ -, lower case) made from a file name's student part."""
    ascii_text = unicodedata.normalize("NFKD", token).encode("ascii", "ignore").decode()
    student = UNSAFE_ID_CHARS.sub("_", ascii_text).strip("_-").lower()
    return (student, "") if student else (None, f"the name's student part {token!r} has no letter or digit to "
                                                f"make an id from; give a roster with a `file` column")


def name_variants(name: str) -> set[str]:
    """A full name as given and surname first ("Jane Doe", "Doe Jane"): Canvas writes "doejane"."""
    if "," in name:
        last, first = name.split(",", 1)
        return {name, f"{first} {last}"}
    words = name.split()
    return {name, " ".join(words[-1:] + words[:-1])}


class Roster:
    """Student ids by every folded key a platform may write for them."""

    def __init__(self, index: dict[str, set[str]]):
        self.index = index

    @classmethod
    def load(cls, path: Path) -> "Roster":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CourseError(f"roster {path} not found; give a CSV file with a student_id column") from None
        except UnicodeDecodeError:
            raise CourseError(f"roster {path} is not UTF-8 text; save it as 'CSV UTF-8' and try again") from None
        except OSError as exc:
            raise CourseError(f"cannot read roster {path} ({exc.strerror}); give a readable CSV file") from None
        reader = csv.DictReader(io.StringIO(text))
        columns = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
        if "student_id" not in columns:
            raise CourseError(f"roster {path} has no student_id column (it has: {', '.join(columns) or 'none'}); "
                              "add one, with name, login, email or file columns to match the files")
        index: dict[str, set[str]] = {}
        try:
            for row in reader:
                values = {key: (row.get(column) or "").strip() for key, column in columns.items()}
                student = values["student_id"]
                if not student and not any(values.values()):
                    continue
                if not ROSTER_ID.fullmatch(student):
                    raise CourseError(f"roster {path} line {reader.line_num}: student_id {student!r} is not a usable "
                                      "id (letters, digits, . _ - @, not starting with a dot); correct it")
                keys = {student, values.get("login", ""), values.get("file", ""), values.get("email", "")}
                keys.add(values.get("email", "").split("@")[0])
                keys |= name_variants(values.get("name", ""))
                for key in filter(None, map(fold, keys)):
                    index.setdefault(key, set()).add(student)
        except csv.Error as exc:
            raise CourseError(f"roster {path} line {reader.line_num} is not valid CSV ({exc}); correct it") from None
        return cls(index)

    def find(self, token: str) -> tuple[str | None, str]:
        students = sorted(self.index.get(fold(token), ()))
        if len(students) == 1:
            return students[0], ""
        if students:
            return None, (f"{token!r} fits several roster students ({', '.join(students)}); "
                          "give each a distinct value in a `file` column")
        return None, f"no roster student has the name, login, email or file {token!r}; add it to the roster"


# --- what: the notebooks an entry holds ---------------------------------------------------------

def copy_number(name: str) -> int:
    match = COPY_SUFFIX.search(re.sub(r"\.(ipynb|zip)$", "", name, flags=re.IGNORECASE))
    return int(match.group(1) or match.group(2)) if match else 0


def scan_entry(path: Path, source: str, own_name: str, base_order: tuple, student: str,
               limits: ZipLimits, report: IntakeReport, root: Path) -> list[Candidate]:
    """The notebooks of one entry of the export (checked by :func:`refusal` already)."""
    if stat.S_ISDIR(path.lstat().st_mode):
        return scan_folder(path, source, base_order, student, limits, report, root)
    if path.suffix.lower() == ".zip":
        return scan_zip(path, source, base_order, student, limits, report)
    mtime = path.lstat().st_mtime
    name = own_name or path.name
    return [Candidate(source, name, path, mtime, (*base_order, copy_number(name), mtime, 0.0))]


def scan_folder(folder: Path, source: str, base_order: tuple, student: str,
                limits: ZipLimits, report: IntakeReport, root: Path) -> list[Candidate]:
    found, others = [], []
    for here, dirs, files in os.walk(folder):  # never descends into a linked folder (followlinks=False)
        kept = []
        for name in sorted(d for d in dirs if not is_junk(d)):
            path = Path(here) / name
            why = refusal(path, root)
            if why:
                report.add(REJECTED, source + path.relative_to(folder).as_posix() + "/", student, why)
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(f for f in files if not is_junk(f)):
            path = Path(here) / name
            label = source + path.relative_to(folder).as_posix()
            why = refusal(path, root)
            if why:
                report.add(REJECTED, label, student, why)
                continue
            if name.lower().endswith(".ipynb"):
                mtime = path.lstat().st_mtime
                found.append(Candidate(label, name, path, mtime, (*base_order, copy_number(name), mtime, 0.0)))
            elif name.lower().endswith(".zip"):
                found += scan_zip(path, label, base_order, student, limits, report)
            else:
                others.append(path.relative_to(folder).as_posix())
    if others:
        report.add(IGNORED, source, student, f"not notebooks, not imported: {', '.join(others)}")
    return found


def unsafe_member(info: zipfile.ZipInfo) -> str:
    """Why a zip member must not be taken ("" if it may)."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in PurePosixPath(name).parts:
        return "path leads out of the zip's folder (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return ""


def member_time(info: zipfile.ZipInfo) -> float:
    try:
        return float(calendar.timegm((*info.date_time, 0, 0, 0)))
    except ValueError:  # an impossible date in the zip's directory
        return 0.0


def scan_zip(path: Path, source: str, base_order: tuple, student: str,
             limits: ZipLimits, report: IntakeReport) -> list[Candidate]:
    """The notebooks of an uploaded zip, read in memory; what is refused, and why, goes in the report."""
    found, others, total = [], [], 0
    mtime = path.lstat().st_mtime
    try:
        with open_regular(path) as raw, zipfile.ZipFile(raw) as archive:
            members = archive.infolist()
            if len(members) > limits.members:
                report.add(REJECTED, source, student, f"holds {len(members)} files, more than the limit of "
                                                      f"{limits.members}; nothing imported from it")
                return []
            for info in members:
                label = f"{source}!{info.filename}"
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                problem = unsafe_member(info)
                if problem:
                    report.add(REJECTED, label, student, f"{problem}; not imported")
                    continue
                if info.is_dir() or any(is_junk(p) for p in parts):
                    continue
                if not parts[-1].lower().endswith(".ipynb"):
                    others.append(info.filename)
                    continue
                data = read_member(archive, info, limits.member_bytes)
                if isinstance(data, str):
                    report.add(REJECTED, label, student, data)
                    continue
                total += len(data)
                if total > limits.total_bytes:
                    report.add(REJECTED, source, student, f"its notebooks are over the limit of {limits.total_bytes / MB:g}"
                                                          " MB uncompressed; nothing imported from it")
                    return []
                found.append(Candidate(label, parts[-1], data, mtime,
                                       (*base_order, copy_number(parts[-1]), mtime, member_time(info))))
    except Refused as exc:
        report.add(REJECTED, source, student, str(exc))
        return []
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        report.add(CORRUPT_ZIP, source, student, f"cannot be read as a zip ({exc}); nothing imported from it, "
                                                 "ask the student to upload it again")
        return []
    if others:
        report.add(IGNORED, source, student, f"not notebooks, not imported: {', '.join(others)}")
    return found


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes | str:
    """The member's bytes, or why they were refused.

    Checking the declared size is enough: zipfile never returns more than it, and a member whose
    data does not fit its declared size and CRC raises BadZipFile (the zip is then corrupt).
    """
    if info.file_size > cap:
        return f"over the limit of {cap / MB:g} MB uncompressed per file; not imported"
    try:
        return archive.read(info)
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression zipfile cannot undo
        return f"cannot be read ({exc}); not imported"


def notebook_for(name: str, notebooks: list[str]) -> str | None:
    """The assignment notebook a file name means: the same name, maybe with a prefix or a copy suffix."""
    stem = re.sub(r"\.ipynb$", "", name, flags=re.IGNORECASE).casefold()
    forms = [stem, COPY_SUFFIX.sub("", stem)]
    wanted = {nb: nb[: -len(".ipynb")].casefold() for nb in notebooks}
    for form in forms:
        for nb, want in wanted.items():
            if form == want:
                return nb
    for form in forms:
        for nb, want in wanted.items():
            if form.endswith(want) and form[-len(want) - 1] in "_- ":
                return nb
    return None


def place(candidates: list[Candidate], notebooks: list[str], student: str,
          report: IntakeReport) -> list[tuple[str, Candidate]]:
    """Which of the assignment's notebooks each candidate is; those that are none are reported as extra."""
    if len(notebooks) == 1 and len(candidates) == 1:
        return [(notebooks[0], candidates[0])]
    placed = []
    for candidate in candidates:
        notebook = notebook_for(candidate.name, notebooks)
        if notebook is None:
            report.add(EXTRA, candidate.source, student, f"not one of the assignment's notebooks "
                                                         f"({', '.join(notebooks)}); not imported")
        else:
            placed.append((notebook, candidate))
    return placed


# --- store: into submitted/ -----------------------------------------------------------------------

def store_all(claims: dict[tuple[str, str], list[Candidate]], submitted: Path, assignment: str,
              notebooks: list[str], report: IntakeReport) -> None:
    newest_mtime: dict[str, float] = {}
    for (student, notebook), candidates in sorted(claims.items()):
        winner = max(candidates, key=lambda c: c.order)  # the first of equals, in the export's order
        for other in candidates:
            if other is not winner:
                report.add(DUPLICATE, other.source, student,
                           f"older than {winner.source}, which is kept; not imported (it stays in the export)")
        if winner.name != notebook:
            report.add(RENAMED, winner.source, student, f"stored as {notebook}")
        if store(winner, submitted / student / assignment / notebook, student, report):
            newest_mtime[student] = max(newest_mtime.get(student, 0.0), winner.mtime)
    for student, mtime in newest_mtime.items():
        folder = submitted / student / assignment
        write_timestamp(folder / "timestamp.txt", mtime, student, report)
        for notebook in notebooks:
            if not (folder / notebook).exists():
                report.add(MISSING, f"submitted/{student}/{assignment}/", student, f"no {notebook} in the export")


def store(candidate: Candidate, target: Path, student: str, report: IntakeReport) -> bool:
    """Write the candidate's bytes to ``target``: a new file (the umask's mode), replaced atomically.

    Returns whether ``target`` holds them now.
    """
    try:
        data = candidate.data()
    except Refused as exc:
        report.add(REJECTED, candidate.source, student, str(exc))
        return False
    relative = "/".join(target.parts[-4:])
    submitted = target.parents[2]
    if not target.parent.resolve().is_relative_to(submitted.resolve()):  # checked before anything is created
        report.add(REJECTED, candidate.source, student, f"{'/'.join(target.parts[-4:-1])}/ leads out of submitted/ "
                                                        "(a symbolic link?); nothing written")
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        if stat.S_ISREG(target.lstat().st_mode) and same_bytes(target, data):
            report.add(UNCHANGED, candidate.source, student, f"{relative} already holds this notebook")
            return True
        aside = moved_aside(target)
        report.add(REPLACED, candidate.source, student, f"{relative} written; the different one that was "
                                                        f"there is kept as {aside.name}")
    else:
        report.add(IMPORTED, candidate.source, student, f"{relative} written")
    temporary = target.with_name(f".{target.name}.intake")
    write_new(temporary, data, candidate.mtime)
    os.replace(temporary, target)
    return True


def same_bytes(path: Path, data: bytes) -> bool:
    try:
        with open_regular(path) as f:
            return f.read() == data
    except Refused:
        return False


def write_new(path: Path, data: bytes, mtime: float | None = None) -> None:
    """Create ``path`` as a new file (mode 0666 less the umask; never through a link) holding ``data``.

    A leftover of an interrupted import (or anything else by that name) is removed first: removing a
    link removes the link, not what it points to.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        path.unlink()
        fd = os.open(path, flags, 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        if mtime is not None:
            os.utime(f.fileno(), (mtime, mtime))


def moved_aside(target: Path) -> Path:
    """Rename ``target`` to a name no other file has, ``<name>.replaced-<UTC time>``, and return it."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    aside, n = target.with_name(f"{target.name}.replaced-{stamp}"), 1
    while os.path.lexists(aside):
        n += 1
        aside = target.with_name(f"{target.name}.replaced-{stamp}-{n}")
    target.rename(aside)
    return aside


def write_timestamp(path: Path, mtime: float, student: str, report: IntakeReport) -> None:
    if os.path.lexists(path):
        return
    text = datetime.fromtimestamp(mtime, timezone.utc).strftime(TIMESTAMP_FORMAT)
    write_new(path, text.encode())  # as nbgrader submit writes it
    report.add(TIMESTAMP, "/".join(path.parts[-4:]), student, f"{text} (the file's modification time)")
