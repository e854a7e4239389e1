"""A learner's first exercise, in a real browser: JupyterLab on the learner's copy of the course,
driven by Playwright in headless Chromium.

The test prepares a workspace as ``make lab`` does, starts JupyterLab on it with the learner's
environment, opens notebook 01, writes exercise 2 (``dense_forward``) in the solution cell, runs its
check cell and reads the score and message from the page; then it writes a known mistake (the bias
forgotten) and reads the diagnosis.

The browser: ``$NNCOURSE_CHROMIUM`` if set, else Playwright's own build when
``python -m playwright install chromium`` has downloaded it, else a system ``chromium`` or
``chromium-browser`` on PATH (Debian's package, which ``.ci/run`` installs). Without any of them the
test skips and says so, unless ``NNCOURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once it has a
browser), which turns a missing or broken browser into a failure.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.classroom import course
from tests.test_learner_text import hostile_course  # noqa: F401 (a session fixture: graded once per session)

pytestmark = pytest.mark.slow

NOTEBOOK = "01_neurons_and_parameters/01_neurons_and_parameters.ipynb"
HEADING = "A dense layer over a batch [01.dense_forward]"
CORRECT = 'def dense_forward(X, W, b):\n    """My dense layer."""\n    return X @ W + b\n'
NO_BIAS = 'def dense_forward(X, W, b):\n    """My dense layer, bias forgotten."""\n    return X @ W\n'
WAIT_MS = 30_000  # the longest any one step may take in the page (the first one starts the kernel)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NO_BROWSER = ("no Chromium for the browser test: install one with `python -m playwright install chromium` "
              "(or Debian's `apt-get install chromium`), or point NNCOURSE_CHROMIUM at a Chromium executable")


def _unavailable(reason: str):
    if os.environ.get("NNCOURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (NNCOURSE_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def find_chromium(playwright) -> tuple[str, str | None] | None:
    """(what, executable) of the Chromium to drive (None: Playwright's own build), or None for none."""
    named = os.environ.get("NNCOURSE_CHROMIUM")
    if named:
        found = shutil.which(named)
        if not found:
            _unavailable(f"NNCOURSE_CHROMIUM={named!r} is not an executable")
        return f"NNCOURSE_CHROMIUM ({found})", found
    try:
        own = playwright.chromium.executable_path
    except Exception:  # noqa: BLE001 - Playwright has no build for this platform
        own = ""
    if own and Path(own).is_file():
        return "Playwright's Chromium", None
    system = shutil.which("chromium") or shutil.which("chromium-browser")
    return (system, system) if system else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture
def browser():
    """Headless Chromium under Playwright (or a skip that says why there is none)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        found = find_chromium(playwright)
        if found is None:
            _unavailable(NO_BROWSER)
        what, executable = found
        try:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                                  args=["--no-sandbox"] if IS_ROOT else [])
        except sync_api.Error as exc:
            _unavailable(f"{what} does not start: {str(exc).strip().splitlines()[0]}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a fresh learner workspace: yields (base URL, token, log file); killed with its kernels."""
    workspace = tmp_path / "workspace"
    prepared = subprocess.run([sys.executable, "-m", "autograder", "lab", "--workspace", str(workspace),
                               "--no-browser-launch"], cwd=course.ROOT, env=course.tool_env(),
                              capture_output=True, text=True, timeout=120)
    assert prepared.returncode == 0, prepared.stderr
    assert (workspace / NOTEBOOK).is_file()

    port, token = _free_port(), secrets.token_hex(16)
    env = course.learner_lab_env()
    env.pop("JUPYTER_TOKEN", None)
    # the learner's own JupyterLab settings (key maps, themes) and saved layouts stay out of the test
    for name, folder in [("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "layouts"),
                         ("JUPYTER_RUNTIME_DIR", "runtime")]:
        env[name] = str(tmp_path / folder)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.root_dir={workspace}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}"] + (["--allow-root"] if IS_ROOT else [])
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=workspace, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer on {base} within 60 s:\n{_tail(log)}")
            time.sleep(0.25)
        yield base, token, log
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the server and the kernels it started
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                break
            try:
                server.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue


def _code_cell(page, text: str):
    """The one code cell whose source contains ``text``."""
    cell = page.locator(".jp-CodeCell").filter(has=page.locator(".cm-content", has_text=text))
    cell.first.wait_for(timeout=WAIT_MS)
    assert cell.count() == 1, f"{cell.count()} cells contain {text!r}"
    return cell


def _run(page, cell) -> None:
    """Select a cell by clicking its editor and run it as a learner does (Shift+Enter)."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")


def _write(cell, source: str) -> None:
    """Replace the text of a cell's editor (CodeMirror 6) with ``source``, as a paste would."""
    from playwright.sync_api import expect

    editor = cell.locator(".cm-content")
    editor.fill(source)
    expect(editor).to_contain_text(source.strip().splitlines()[-1].strip())


def _points(text: str) -> float:
    match = re.search(re.escape(HEADING) + r": ([\d.]+) / 3 points", text)
    assert match, f"no score line for the exercise in:\n{text}"
    return float(match.group(1))


@pytest.mark.timeout(180)
def test_learner_fills_an_exercise_and_sees_score_and_named_mistake(browser, lab, tmp_path):
    from playwright.sync_api import expect

    base, token, log = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", timeout=WAIT_MS)
        expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=WAIT_MS)
        # a cell run before the kernel is connected is dropped: wait until the status bar says
        # "Python 3 (ipykernel) | Idle" (the toolbar's indicator shows "idle" before any kernel exists)
        kernel_idle = page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle$"))
        expect(kernel_idle).to_be_visible(timeout=WAIT_MS)

        setup_cell = _code_cell(page, "from autograder import grade, hint, solution")
        _run(page, setup_cell)  # the imports, as the notebook asks first
        expect(setup_cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=WAIT_MS)
        solution_cell = _code_cell(page, "def dense_forward(X, W, b):")
        check_cell = _code_cell(page, 'grade("01.dense_forward", dense_forward)')
        output = check_cell.locator(".jp-OutputArea").first  # the report and the points (Out[n])

        # 1. a correct solution: full points and the praise
        _write(solution_cell, CORRECT)
        _run(page, solution_cell)
        _run(page, check_cell)
        expect(output).to_contain_text(f"{HEADING}: 3 / 3 points", timeout=WAIT_MS)
        expect(output).to_contain_text("All correct")
        expect(solution_cell.locator(".cm-content")).not_to_contain_text("NotImplementedError")
        page.screenshot(path=str(tmp_path / "1_correct.png"))  # what the learner saw (kept in tmp_path)

        # 2. the bias forgotten: fewer points and the mistake named
        _write(solution_cell, NO_BIAS)
        _run(page, solution_cell)
        _run(page, check_cell)
        expect(output).to_contain_text("likely mistake: forgot the bias", timeout=WAIT_MS)
        report = output.text_content()
        assert _points(report) < 3, report
        assert "All correct" not in report
        page.screenshot(path=str(tmp_path / "2_bias_forgotten.png"))
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print(f"screenshot: {tmp_path / 'failure.png'}\nJupyterLab log:\n{_tail(log)}")
        raise


# -- a hostile submission's feedback page: the learner's script never runs ---------------------------


def test_a_hostile_submissions_feedback_page_runs_none_of_its_script(browser, hostile_course, tmp_path):
    """The feedback page of a submission whose cells displayed <script>, <img onerror>, JavaScript, SVG
    with a script, a javascript: link and an iframe, and whose markdown holds raw HTML: opened from
    disk as the student would, nothing of it runs (no marker set, no title changed, no dialog)."""
    from tests.fixtures import class_fixture as fixture

    (feedback,) = (hostile_course / "feedback" / "hostile" / fixture.A1).glob("*.html")
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(feedback.resolve().as_uri(), wait_until="load", timeout=WAIT_MS)
        page.wait_for_timeout(1000)  # an <img onerror> fires once its image failed to load
        for link in page.locator("a[href]").all():  # a javascript: link would run when clicked
            assert not (link.get_attribute("href") or "").lower().strip().startswith("javascript:")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.title() != "pwned" and not dialogs
        assert page.get_by_text("bold is fine").count() >= 1  # the learner's harmless HTML is shown
        page.screenshot(path=str(tmp_path / "hostile_feedback.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
