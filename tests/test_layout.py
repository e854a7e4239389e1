"""The package is arranged by who runs the code (autograder/learner, grading, classroom), and the
learner folder, which ships to students and into the grading kernel, imports nothing outside itself."""
import ast
from pathlib import Path

from autograder import learner

PACKAGE = Path(learner.__file__).resolve().parents[1]
# Self-paced mode only (the repository's own `make lab`): the learner's grade/hint/solution reach the
# installed exercise definitions from inside a function. A class release has no such module.
SELF_PACED = {"autograder.registry", "autograder.grading.engine", "autograder.grading"}


def _imports(path: Path):
    """(module imported, whether at module level) for each absolute import in a file."""
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name, id(node) in top


def test_the_learner_folder_imports_nothing_of_the_course_outside_itself():
    for path in sorted((PACKAGE / "learner").glob("*.py")):
        for name, at_top in _imports(path):
            if name == "autograder" or not name.startswith("autograder"):
                continue
            inside = name == "autograder.learner" or name.startswith("autograder.learner.")
            assert inside or (not at_top and name in SELF_PACED and path.name == "api.py"), (
                f"{path.name} imports {name}: the learner package must work with only autograder/learner shipped")


def test_the_package_root_imports_only_the_learner_folder():
    names = {name for name, _ in _imports(PACKAGE / "__init__.py") if name.startswith("autograder")}
    assert names == {"autograder.learner.api"}


def test_what_ships_is_the_learner_folder_and_the_package_root():
    shipped = {p.as_posix() for p in learner.shipped_files()}
    expected = {"autograder/__init__.py", *(f"autograder/learner/{p.name}" for p in (PACKAGE / "learner").glob("*.py"))}
    assert shipped == expected
    assert not any("registry" in name or "exercise" in name or "grading" in name for name in shipped)


def test_no_module_is_left_at_the_top_besides_the_cli_and_the_exercise_definitions():
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "cli.py", "exercise.py", "registry.py"}
