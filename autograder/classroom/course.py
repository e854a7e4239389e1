"""Where the course lives, and how to run nbgrader on it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.classroom.notebooks import CourseError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "course"
DEFAULT_WORKSPACE = ROOT / "workspace"
LEARNER_LAB_CONFIG = Path(__file__).resolve().parent / "learner_lab"


def assignments() -> list[str]:
    """The assignment folders of ``course/``, in teaching order."""
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def resolve_assignment(name: str) -> str:
    """The assignment folder a name means: its full name, a unique prefix (``01``, ``01_neu``) or its number (``1``).

    A path to the folder (``course/01_neurons_and_parameters/``) names it too.
    """
    known = assignments()
    wanted = Path(name).name if "/" in name or os.sep in name else name
    if wanted in known:
        return wanted
    if wanted.isdigit():  # a number: "1" and "01" both mean 01_..., and "1" never means 10_...
        matches = [a for a in known if a.split("_")[0].isdigit() and int(a.split("_")[0]) == int(wanted)]
    else:
        matches = [a for a in known if wanted and a.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CourseError(f"assignment {name!r} is ambiguous: it could be {', '.join(matches)}")
    raise CourseError(f"unknown assignment {name!r}; known: {', '.join(known)}")


def resolve_assignments(names: list[str] | None = None) -> list[str]:
    """The assignment folders the names mean (see :func:`resolve_assignment`); all of them when ``names`` is empty."""
    return list(dict.fromkeys(resolve_assignment(n) for n in names)) if names else assignments()


def source_notebooks(names: list[str] | None = None) -> list[Path]:
    """The source notebooks of the named assignments (all when ``names`` is empty)."""
    return [nb for name in resolve_assignments(names) for nb in sorted((SOURCE / name).glob("*.ipynb"))]


def tool_env() -> dict[str, str]:
    """The environment for nbgrader and Jupyter, with this Python's ``bin`` first on PATH.

    nbgrader creates a gradebook by running the ``alembic`` executable found on PATH, so a command
    started as ``.venv/bin/python -m autograder`` without an activated environment still works.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def learner_lab_env() -> dict[str, str]:
    """``tool_env()`` plus a Jupyter config folder that hides nbgrader's instructor tools from learners."""
    env = tool_env()
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(LEARNER_LAB_CONFIG), env.get("JUPYTER_CONFIG_PATH")]))
    return env


def run_nbgrader(args: list[str], root: Path, *, check: bool = True, own_config: bool = False
                 ) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` on the course directory ``root`` (its gradebook, submissions, ...).

    By default the source notebooks and the configuration are this repository's (nbgrader runs in
    the repository, whose ``nbgrader_config.py`` it loads): right for a scratch ``root``. With
    ``own_config``, ``root`` is a course directory made by ``course init``: nbgrader runs inside it,
    with its configuration and its ``source/``. With ``check``, a failure raises CourseError with
    nbgrader's last error line.
    """
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    if not own_config:
        command.append(f"--CourseDirectory.source_directory={SOURCE}")
    result = subprocess.run(command, cwd=root if own_config else ROOT, env=tool_env(), capture_output=True, text=True)
    if check and result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "Error" in line]
        raise CourseError(f"nbgrader {args[0]} failed: {(errors or result.stderr.splitlines() or ['?'])[-1]}")
    return result


def generate_learner_versions(out: Path, names: list[str] | None = None, *, gradebook_root: Path | None = None,
                              own_config: bool = False) -> Path:
    """Learner versions (solutions replaced by stubs, hidden tests removed) under ``out/<assignment>/``.

    With ``gradebook_root`` the assignments are also recorded in that course's gradebook, as
    autograding needs; without it no gradebook is touched. ``own_config``: ``gradebook_root`` is a
    course directory (see :func:`run_nbgrader`).
    """
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nbgrader-") as scratch:
        root = gradebook_root or Path(scratch)
        no_db = [] if gradebook_root else ["--no-db"]
        for name in resolve_assignments(names):
            run_nbgrader(["generate_assignment", name, "--force",
                          f"--CourseDirectory.release_directory={out}", *no_db], root=root, own_config=own_config)
    return out


def assignment_exercises(name: str):
    """The exercises graded in an assignment's source notebooks, in notebook order."""
    import nbformat

    from autograder import registry
    from autograder.grading.trusted import grade_calls

    ids = [exercise_id for nb_path in source_notebooks([name])
           for cell in nbformat.read(nb_path, as_version=4).cells
           if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
           for exercise_id, _ in grade_calls(cell.source)]
    return [registry.get(exercise_id) for exercise_id in dict.fromkeys(ids)]


def add_class_checks(out: Path, names: list[str] | None = None, *, solutions: bool = False) -> None:
    """Make ``out/<assignment>/`` a class release: public checks as data and the learner-side checker.

    Each folder gets ``nncourse_checks.json`` (public cases with precomputed expected values; the
    reference solutions only with ``solutions``) and ``autograder/`` with only the learner package
    (``autograder/learner/``): no reference library, no exercise definitions, no hidden case.
    """
    from autograder import learner
    from autograder.learner import bundle

    for name in resolve_assignments(names):
        folder = out / name
        bundle.write(assignment_exercises(name), folder / bundle.FILENAME, solutions=solutions)
        learner.ship_to(folder)


def copy_without_overwriting(src: Path, dest: Path, *, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy a tree file by file, keeping every file that already exists in ``dest`` (unless ``overwrite``)."""
    copied, kept = [], []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        target = dest / path.relative_to(src)
        if target.exists() and not overwrite:
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied.append(target)
    return copied, kept
