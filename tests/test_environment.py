"""The install is pinned and the pip and conda descriptions agree."""
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {_norm(n): v for n, v in (l.split("==") for l in lines if l.strip() and not l.startswith("#"))}


def _direct_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_norm(Requirement(r).name) for r in names}


def test_every_dependency_is_pinned_in_constraints():
    pins = _pins()
    missing = _direct_requirements() - set(pins)
    assert not missing, f"pin these in constraints.txt: {sorted(missing)}"
    assert pins["torch"] == "2.13.0", "torch must stay pinned (an unpinned torch pulls a multi-GB CUDA build)"
    assert "torchvision" not in pins


def test_environment_yml_lists_the_same_packages_and_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = dict(_norm(p).split("==") for p in pip_section if "==" in p)
    assert set(listed) == _direct_requirements()
    pins = _pins()
    assert {name: pins[name] for name in listed} == listed
    assert "python=3.11" in env["dependencies"]
    assert "-e .[test]" in pip_section


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert ci.strip().splitlines()[-1] == "make test"


def test_no_path_of_a_particular_machine_is_committed():
    for path in [*ROOT.glob("*.toml"), *ROOT.glob("*.yml"), ROOT / "Makefile", ROOT / "nbgrader_config.py"]:
        text = path.read_text()
        assert "/work/" not in text and "/root/" not in text and "/opt/" not in text, path
