"""``python -m autograder SUBCOMMAND``: lab, progress, check (learners); course, grade, feedback, formgrader,
release, validate (instructors)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.classroom import course
from autograder.classroom.notebooks import HOW_SCORED, CourseError, NotebookScore, run_notebook

PROGRESS_NOTEBOOK = course.LEARNER_LAB_CONFIG / "progress.ipynb"


def running_lab(workspace: Path) -> dict | None:
    """The info of a running Jupyter server whose root is ``workspace`` (its process alive), if any."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:  # pragma: no cover - jupyter_server comes with JupyterLab
        return None
    for info in list_running_servers():  # reads the runtime folder's jpserver-*.json, live pids only
        root = info.get("root_dir") or info.get("notebook_dir")
        if root and Path(root).expanduser().resolve() == workspace:
            return info
    return None


def lab_url(info: dict) -> str:
    """The address that opens JupyterLab on a running server (with its token, as Jupyter prints it)."""
    url = info.get("url") or f"http://{info.get('hostname', 'localhost')}:{info.get('port')}{info.get('base_url', '/')}"
    url = url.rstrip("/") + "/lab"
    return f"{url}?token={info['token']}" if info.get("token") else url


def cmd_lab(args) -> int:
    workspace = Path(args.workspace).resolve()
    with tempfile.TemporaryDirectory(prefix="learner-") as tmp:
        release = course.generate_learner_versions(Path(tmp) / "release")
        shutil.copy2(PROGRESS_NOTEBOOK, release / PROGRESS_NOTEBOOK.name)  # not an assignment: no nbgrader
        copied, kept = course.copy_without_overwriting(release, workspace)
    print(f"Workspace {workspace}: {len(copied)} new file(s); {len(kept)} existing file(s) left as they were.")
    if args.no_browser_launch:
        return 0
    serving = running_lab(workspace)
    if serving is not None:
        print(f"JupyterLab is already serving this workspace at {lab_url(serving)} (process {serving.get('pid')}); "
              "open that address, or stop that server (Ctrl+C in its terminal) to start a new one.")
        return 0
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return subprocess.call(command, env=course.learner_lab_env())


def cmd_release(args) -> int:
    args.assignments = course.resolve_assignments(args.assignments) if args.assignments else None
    out = Path(args.out).resolve() if args.out else course.ROOT / "release"
    Path(args.course_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        course.generate_learner_versions(Path(tmp), args.assignments or None,
                                         gradebook_root=Path(args.course_dir).resolve())
        if args.mode == "class":
            course.add_class_checks(Path(tmp), args.assignments or None, solutions=args.allow_solutions)
        copied, kept = course.copy_without_overwriting(Path(tmp), out, overwrite=args.force)
    what = ("class release: public checks only, no reference code, no hidden cases"
            + (", reference solutions included" if args.allow_solutions else ", solution() disabled")
            if args.mode == "class" else "self-paced: students need the full course installed")
    print(f"Learner versions in {out} ({what}): {len(copied)} file(s) written.")
    if kept:
        print(f"{len(kept)} existing file(s) kept as they were (--force replaces them): "
              + ", ".join(str(p.relative_to(out)) for p in kept))
    return 0


def _table(scores: list[NotebookScore]) -> str:
    rows = [("notebook", "points", "seconds")]
    rows += [(Path(s.notebook).name, f"{s.score:g} / {s.max_score:g}", f"{s.seconds:.1f}") for s in scores]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)


def cmd_validate(args) -> int:
    scores = [run_notebook(nb, timeout=args.timeout) for nb in course.source_notebooks(args.assignments)]
    print(_table(scores))
    failing = [(s, e) for s in scores for e in s.exercises if e.points < e.max_points]
    for s, e in failing:
        print(f"FAIL {Path(s.notebook).name} {e.id}: {e.points:g}/{e.max_points:g} ({e.status}) {e.message}")
    empty = [s for s in scores if not s.exercises]
    for s in empty:
        print(f"FAIL {Path(s.notebook).name}: no grade cells")
    return 1 if failing or empty else 0


def cmd_check(args) -> int:
    results, failed = [], 0
    for name in args.notebooks:
        try:  # a file that is not a course notebook is one line, before any kernel starts
            results.append(run_notebook(Path(name), timeout=args.timeout, mode="check",
                                        public_only=args.public_only, course_only=True))
        except CourseError as exc:  # one unreadable notebook does not stop the others
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    if args.json:
        payload = [r.as_json() for r in results]
        if payload:
            print(json.dumps(payload[0] if len(args.notebooks) == 1 else payload, indent=2))
    elif results:
        cases = results[0].cases
        print(f"Cases run: {cases}; {HOW_SCORED[cases]}.")
        for r in results:
            print(f"{r.notebook}: {r.score:g} / {r.max_score:g} points ({r.cases})")
            for e in r.exercises:
                print(f"  {e.id:<28} {e.points:>5g} / {e.max_points:<3g} {e.status:<14} {e.message}")
    return 2 if failed else 0


def cmd_progress(args) -> int:
    from autograder.classroom import progress

    found = progress.collect(args.folder)
    print(progress.render(found))
    if args.plot:
        if not found.notebooks:
            print("No plot written: there is nothing to plot yet.")
        else:
            print(f"Plot of points per notebook: {progress.plot(found, Path(args.plot).resolve())}")
    return 0


def cmd_course_init(args) -> int:
    from autograder.classroom import course_dir

    for line in course_dir.init(Path(args.directory), db_url=args.db, assignments=args.assignments or None):
        print(line)
    root = Path(args.directory).expanduser().resolve()
    print(f"Course directory ready. Give students {root / 'release'}/<assignment>/; put what they hand in under "
          f"{root / 'submitted'}/<student>/<assignment>/ (or use `grade --from`), then run:\n"
          f"  {sys.executable} -m autograder grade --course {root}")
    return 0


def cmd_grade(args) -> int:
    from autograder.classroom import class_grading, course_dir

    opened = course_dir.open_course(args.course)
    if args.export_folder:
        from autograder.classroom import intake

        if len(args.assignments) != 1:
            raise CourseError("--from imports one assignment: name it, e.g. `grade 01 --from FOLDER`")
        assignment = course.resolve_assignment(args.assignments[0])
        report = intake.import_submissions(Path(args.export_folder).expanduser().resolve(), opened.root, assignment,
                                           opened.notebooks(assignment),
                                           roster=Path(args.roster).expanduser().resolve() if args.roster else None)
        print(report)
    run = class_grading.grade_class(opened.root, args.assignments or None, workers=args.workers,
                                    scheduler=args.scheduler, force=args.force,
                                    progress=not args.no_progress and sys.stderr.isatty())
    print(class_grading.finish(opened.root, run))
    return 130 if run.interrupted else 0


def cmd_feedback(args) -> int:
    from autograder.classroom import course_dir

    opened = course_dir.open_course(args.course)
    for assignment in course.resolve_assignments(args.assignments) if args.assignments else opened.assignments:
        if not any((opened.root / "autograded").glob(f"*/{assignment}")):
            print(f"No feedback for {assignment}: nothing of it is graded yet (run `grade` first).")
            continue
        course.run_nbgrader(["generate_feedback", assignment, *(["--force"] if args.force else [])], opened.root,
                            own_config=True)
        print(f"Feedback for {assignment}: {opened.root / 'feedback'}/<student>/{assignment}/ (one HTML page each)")
    return 0


def cmd_formgrader(args) -> int:
    from autograder.classroom import course_dir

    opened = course_dir.open_course(args.course)
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={opened.root}",
               "--ServerApp.default_url=/formgrader"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    if args.no_browser:
        command.append("--no-browser")
    if args.port:
        command.append(f"--ServerApp.port={args.port}")
    print(f"Starting the formgrader on {opened.root} (manual grading, the gradebook, feedback); Ctrl+C stops it.")
    return subprocess.call(command, cwd=opened.root, env=course.tool_env())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="copy the learner notebooks into a workspace (never overwriting) and open JupyterLab")
    lab.add_argument("--workspace", default=str(course.DEFAULT_WORKSPACE), help="default: workspace/ in the repository")
    lab.add_argument("--no-browser-launch", action="store_true", help="prepare the workspace only; do not start JupyterLab")
    lab.set_defaults(func=cmd_lab)

    prog = sub.add_parser("progress", help="which exercises are done, partial or untouched in your saved notebooks "
                                           "(nothing is run, nothing is sent anywhere)")
    prog.add_argument("folder", nargs="?", default=None, help="default: workspace/ in the repository")
    prog.add_argument("--plot", metavar="FILE.png", help="also write a bar chart of points per notebook")
    prog.set_defaults(func=cmd_progress)

    release = sub.add_parser("release", help="learner versions via nbgrader generate_assignment")
    release.add_argument("assignments", nargs="*", help="default: all; a number or unique prefix (01, 1) is enough")
    release.add_argument("--out", help="default: release/ in the repository")
    release.add_argument("--force", action="store_true", help="replace files that already exist in the output folder")
    release.add_argument("--course-dir", default=str(course.ROOT),
                         help="nbgrader course directory whose gradebook records the assignment (default: the repository)")
    release.add_argument("--mode", choices=["class", "self-paced"], default="class",
                         help="class (default): each assignment folder carries its public checks as data and the "
                              "learner-side checker, and no reference code; self-paced: notebooks only")
    release.add_argument("--allow-solutions", action="store_true",
                         help="class mode: let solution(...) show the reference solutions")
    release.set_defaults(func=cmd_release)

    course_cmd = sub.add_parser("course", help="instructors: make a course directory for grading a class")
    course_sub = course_cmd.add_subparsers(dest="course_command", required=True)
    init = course_sub.add_parser("init", help="create (or complete) an nbgrader course directory anywhere, with the "
                                               "course's configuration, gradebook, grading secret and class release")
    init.add_argument("directory")
    init.add_argument("--assignments", nargs="*", help="default: all; numbers or unique prefixes (01, 1) are enough")
    init.add_argument("--db", metavar="URL", help="gradebook database (default: SQLite gradebook.db in the directory), "
                                                  "e.g. postgresql+psycopg2://user@host/gradebook")
    init.set_defaults(func=cmd_course_init)

    grade = sub.add_parser("grade", help="instructors: grade every submission of a class with nbgrader, in parallel, "
                                         "then write grades.csv and the class report")
    grade.add_argument("assignments", nargs="*", help="default: every assignment of the course")
    grade.add_argument("--course", default=".", help="the course directory (default: the current directory)")
    grade.add_argument("--workers", type=int, help="parallel graders (default: one per CPU core)")
    grade.add_argument("--scheduler", metavar="ADDR", help="grade on a Dask cluster, e.g. tcp://10.0.0.5:8786 "
                                                           "(the course directory must be on a shared filesystem)")
    grade.add_argument("--force", action="store_true", help="grade again submissions that did not change")
    grade.add_argument("--from", dest="export_folder", metavar="FOLDER",
                       help="first import a learning platform's export (notebooks or zips named by student)")
    grade.add_argument("--roster", metavar="CSV", help="with --from: student_id plus name/login/email/file columns")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.set_defaults(func=cmd_grade)

    feedback = sub.add_parser("feedback", help="instructors: one HTML feedback page per student (nbgrader "
                                               "generate_feedback), readable offline")
    feedback.add_argument("assignments", nargs="*", help="default: every assignment of the course")
    feedback.add_argument("--course", default=".", help="the course directory (default: the current directory)")
    feedback.add_argument("--force", action="store_true", help="write feedback again where it exists")
    feedback.set_defaults(func=cmd_feedback)

    formgrader = sub.add_parser("formgrader", help="instructors: open nbgrader's formgrader on a course directory")
    formgrader.add_argument("--course", default=".", help="the course directory (default: the current directory)")
    formgrader.add_argument("--no-browser", action="store_true", help="print the address; do not open a browser")
    formgrader.add_argument("--port", type=int, help="default: Jupyter's (8888, or the next free one)")
    formgrader.set_defaults(func=cmd_formgrader)

    validate = sub.add_parser("validate", help="run the source notebooks; fail unless every grade cell earns full points")
    validate.add_argument("assignments", nargs="*", help="default: all; a number or unique prefix (01, 1) is enough")
    validate.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    validate.set_defaults(func=cmd_validate)

    check = sub.add_parser("check", help="run a learner's notebook in a fresh kernel and score it (public and "
                                         "self-paced hidden cases, as nbgrader autograde scores them)")
    check.add_argument("notebooks", nargs="+")
    check.add_argument("--public-only", action="store_true",
                       help="run the public cases only, as the notebook's own check cells and nbgrader validate do")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ["PATH"] = course.tool_env()["PATH"]  # nbgrader runs `alembic` from PATH: this Python's first
    try:
        return args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # never a bare traceback; AUTOGRADER_DEBUG=1 shows it
        if os.environ.get("AUTOGRADER_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {exc} (set AUTOGRADER_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1
