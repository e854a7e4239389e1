"""``python -m autograder SUBCOMMAND``: lab, release, validate, check."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import course
from autograder.notebooks import CourseError, NotebookScore, run_notebook


def cmd_lab(args) -> int:
    workspace = Path(args.workspace).resolve()
    with tempfile.TemporaryDirectory(prefix="learner-") as tmp:
        course.generate_learner_versions(Path(tmp) / "release")
        copied, kept = course.copy_without_overwriting(Path(tmp) / "release", workspace)
    print(f"Workspace {workspace}: {len(copied)} new file(s); {len(kept)} existing file(s) left as they were.")
    if args.no_browser_launch:
        return 0
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return subprocess.call(command, env=course.learner_lab_env())


def cmd_release(args) -> int:
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
        try:
            results.append(run_notebook(Path(name), timeout=args.timeout, mode="check"))
        except CourseError as exc:  # one unreadable notebook does not stop the others
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    if args.json:
        payload = [r.as_json() for r in results]
        if payload:
            print(json.dumps(payload[0] if len(args.notebooks) == 1 else payload, indent=2))
    else:
        for r in results:
            print(f"{r.notebook}: {r.score:g} / {r.max_score:g} points")
            for e in r.exercises:
                print(f"  {e.id:<28} {e.points:>5g} / {e.max_points:<3g} {e.status:<14} {e.message}")
    return 2 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="copy the learner notebooks into a workspace (never overwriting) and open JupyterLab")
    lab.add_argument("--workspace", default=str(course.DEFAULT_WORKSPACE), help="default: workspace/ in the repository")
    lab.add_argument("--no-browser-launch", action="store_true", help="prepare the workspace only; do not start JupyterLab")
    lab.set_defaults(func=cmd_lab)

    release = sub.add_parser("release", help="learner versions via nbgrader generate_assignment")
    release.add_argument("assignments", nargs="*", help="default: all")
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

    validate = sub.add_parser("validate", help="run the source notebooks; fail unless every grade cell earns full points")
    validate.add_argument("assignments", nargs="*", help="default: all")
    validate.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    validate.set_defaults(func=cmd_validate)

    check = sub.add_parser("check", help="run a learner's notebook in a fresh kernel and score it")
    check.add_argument("notebooks", nargs="+")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a bare traceback; AUTOGRADER_DEBUG=1 shows it
        if os.environ.get("AUTOGRADER_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {exc} (set AUTOGRADER_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1
