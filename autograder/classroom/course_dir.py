"""A course directory for grading a class: made anywhere by ``course init``, checked before every use.

``init(DIR)`` makes an nbgrader course directory with the course's configuration in force
(``nbgrader_config.py`` calling :func:`autograder.classroom.nbgrader_settings.configure`), the source notebooks
in ``source/``, the gradebook with every assignment recorded, the grading secret, and the class
release in ``release/``. It never overwrites a file that is already there, so running it again on a
course in use only adds what is missing.

:func:`open_course` is how every instructor command starts: it loads the configuration exactly as
nbgrader will (the user's Jupyter config folders, then ``DIR/nbgrader_config.py``) and refuses a
folder where the course's settings are not in force. Misconfiguration is an error, never a warning.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.classroom import course
from autograder.classroom.notebooks import CourseError

CONFIG_FILE = "nbgrader_config.py"
CONFIG_TEXT = '''"""nbgrader configuration of this course directory (written by `python -m autograder course init`).

nbgrader loads this file for every command on this folder (formgrader included). Keep the configure(...)
line: it turns on the course's trusted grading. Your own settings go below it, e.g. a shared gradebook:
    c.CourseDirectory.db_url = "postgresql+psycopg2://user@host/gradebook"
"""
from autograder.classroom.nbgrader_settings import configure

c = get_config()  # noqa: F821 (provided by nbgrader)
configure(c, config_file=__file__)
'''


@dataclass
class Course:
    """An nbgrader course directory with the course's settings in force."""

    root: Path
    db_url: str
    assignments: list[str] = field(default_factory=list)  # recorded in its gradebook, in teaching order

    def notebooks(self, assignment: str) -> list[str]:
        """The notebook file names of an assignment, as released."""
        return sorted(p.name for p in (self.root / "source" / assignment).glob("*.ipynb"))

    def released(self, assignment: str) -> Path:
        return self.root / "release" / assignment


def config_text(db_url: str | None = None) -> str:
    extra = f"c.CourseDirectory.db_url = {db_url!r}\n" if db_url else ""
    return CONFIG_TEXT + extra


def init(root: Path, *, db_url: str | None = None, assignments: list[str] | None = None) -> list[str]:
    """Make (or complete) the course directory ``root``; returns one line per thing done."""
    from autograder.grading.secret import load_or_create

    root = root.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    done = []
    config = root / CONFIG_FILE
    if not config.exists():
        config.write_text(config_text(db_url))
        done.append(f"wrote {config}")
    elif db_url:
        raise CourseError(f"{config} exists already: set c.CourseDirectory.db_url = {db_url!r} in it yourself")
    names = course.resolve_assignments(assignments)
    copied = [path for name in names
              for path in course.copy_without_overwriting(course.SOURCE / name, root / "source" / name)[0]]
    if copied:
        done.append(f"copied {len(copied)} source file(s) into {root / 'source'}")
    load_or_create(root)
    opened = open_course(root, need_assignments=False)
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        course.generate_learner_versions(Path(tmp), names, gradebook_root=root, own_config=True)
        course.add_class_checks(Path(tmp), names)
        written, kept = course.copy_without_overwriting(Path(tmp), root / "release")
    done.append(f"released {', '.join(names)} into {root / 'release'} ({len(written)} file(s) written, "
                f"{len(kept)} kept as they were)")
    done.append(f"gradebook: {opened.db_url}")
    return done


def nbgrader_app(root: Path, *extra_args: str):
    """nbgrader's base application on ``root``, its configuration loaded as every nbgrader command loads it."""
    from nbgrader.apps.baseapp import NbGrader

    app = NbGrader()
    app.log_level = "ERROR"
    app.initialize([f"--CourseDirectory.root={root}", *extra_args])
    return app


def open_course(root: Path | str, *, need_assignments: bool = True) -> Course:
    """The course directory ``root``, after checking that the course's settings are in force.

    Raises CourseError (one line, saying what to run) when ``root`` is not such a directory.
    """
    from autograder.classroom.nbgrader_settings import missing_settings

    root = Path(root).expanduser().resolve()
    hint = f"run `python -m autograder course init {root}` first"
    if not root.is_dir():
        raise CourseError(f"no course directory at {root}: {hint}")
    if not (root / CONFIG_FILE).is_file():
        raise CourseError(f"{root} has no {CONFIG_FILE}, so nbgrader would grade without the course's trusted "
                          f"grader: {hint}")
    try:
        app = nbgrader_app(root)
    except Exception as exc:  # a broken config file: say which and why
        raise CourseError(f"{root / CONFIG_FILE} could not be loaded ({type(exc).__name__}: {exc})") from None
    missing = missing_settings(app.config)
    if missing:
        raise CourseError(f"the course's grading settings are not in force in {root} ({'; '.join(missing)}): keep "
                          f"`configure(c, config_file=__file__)` in {root / CONFIG_FILE} and do not override it")
    opened = Course(root=root, db_url=app.coursedir.db_url)
    if need_assignments:
        from nbgrader.api import Gradebook

        with Gradebook(opened.db_url, course_id=app.coursedir.course_id) as gradebook:
            recorded = {a.name for a in gradebook.assignments}
        opened.assignments = [a for a in course.assignments() if a in recorded]
        if not opened.assignments:
            raise CourseError(f"the gradebook of {root} has no assignment: {hint}")
    return opened
