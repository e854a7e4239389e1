"""The grading sandbox tried as a hostile student would: everything *around* the kernel.

Fast tests check how the sandbox is built (what is bound, hidden, limited). Slow tests start real
sandboxed kernels at both namespace levels (``bubblewrap``, and the home-made ``namespace`` fallback)
and try what a student's code would: reach a server on the host's 127.0.0.1, read the reference
library wherever Python would import it from, hold more memory than the limit in several processes,
leave files in the shared temporary folders, outlive a grader killed with SIGKILL. The attacks on
the services a class run depends on (a Dask scheduler, a PostgreSQL gradebook with trust
authentication, the kernel graded beside it) go through the real ``grade`` command in
``test_a_class_run_on_dask_and_postgresql_is_out_of_the_learners_reach``.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading import cgroups, sandbox

REPO = Path(__file__).resolve().parents[1]
REQUIRE_BUBBLEWRAP = os.environ.get("NNCOURSE_REQUIRE_BUBBLEWRAP") == "1"


def _level_or_skip(level: str) -> str:
    if level == "bubblewrap" and not sandbox.bubblewrap_available():
        if REQUIRE_BUBBLEWRAP:
            pytest.fail("bubblewrap is required here (NNCOURSE_REQUIRE_BUBBLEWRAP=1) but `bwrap` does not work",
                        pytrace=False)
        pytest.skip("the bubblewrap sandbox needs root on Linux and Debian's bubblewrap (apt-get install bubblewrap)")
    if level == "namespace" and not sandbox.namespaces_available():
        pytest.skip("the namespace sandbox needs root on Linux with a working unshare")
    return level


# ----------------------------------------------------------------------------- how it is built (fast)
def test_every_kind_of_install_of_the_trusted_code_is_found(tmp_path):
    site, clone, editable = tmp_path / "site-packages", tmp_path / "second-clone", tmp_path / "editable"
    (site / "solutions").mkdir(parents=True)                      # a non-editable install (pip install ., a wheel)
    (site / "numpy").mkdir()
    (clone / "autograder").mkdir(parents=True)                    # a clone named on a .pth line
    (clone / "solutions").mkdir()
    (site / "course.pth").write_text(f"{clone}\n")
    (editable / "solutions").mkdir(parents=True)                  # setuptools' editable finder
    (site / "__editable___nn_course_0_1_0_finder.py").write_text(
        f"MAPPING = {{'solutions': '{editable / 'solutions'}'}}\n")
    found = sandbox.trusted_code_in([str(site), str(tmp_path / "missing")], [])
    assert sorted(found) == sorted(map(str, [site / "solutions", clone / "autograder", clone / "solutions",
                                             editable / "solutions"]))


def test_folders_named_on_pth_lines_are_bound_unless_they_hold_trusted_code(tmp_path):
    prefix, libraries, clone = tmp_path / "venv", tmp_path / "shared-libraries", tmp_path / "second-clone"
    for folder in (prefix / "site-packages", libraries / "numpy", clone / "solutions"):
        folder.mkdir(parents=True)
    entries = [str(prefix / "site-packages"), str(libraries), str(clone), str(tmp_path / "missing"), ""]
    assert sandbox.libraries_in(entries, [str(prefix)]) == [str(libraries)]


def test_the_grading_process_finds_its_own_reference_library():
    found = sandbox.reference_locations()
    import autograder
    import solutions

    for package in (solutions, autograder):
        folder = str(Path(package.__file__).resolve().parent)
        assert any(folder == f or folder.startswith(f + "/") for f in found), (package, found)


def _plan(tmp_path) -> dict:
    """A plan whose Python lives in tmp_path/python, with an installed reference library in its site-packages."""
    stage, python = tmp_path / "stage", tmp_path / "python"
    (python / "site-packages" / "solutions").mkdir(parents=True)
    (python / "site-packages" / "autograder.py").write_text("")
    return {"stage": str(stage), "workdir": str(tmp_path / "course" / "autograded" / "s" / "a"),
            "keep": [str(python)], "tmp_bytes": 2**20,
            "masks_after_keep": [str(python / "site-packages" / "solutions"), str(python / "site-packages" / "autograder.py")]}


def test_bubblewrap_builds_a_root_of_system_folders_python_and_the_submission_only(tmp_path):
    plan = _plan(tmp_path)
    cmd = sandbox.bubblewrap_command(plan, "/stage/launch.py")
    for flag in ("--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc"):
        assert flag in cmd
    binds = {cmd[i + 2] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")}
    python, (package, module) = plan["keep"][0], plan["masks_after_keep"]
    assert binds <= {*sandbox.SYSTEM_FOLDERS, python, plan["stage"], plan["workdir"], module}
    mounts = cmd[:cmd.index("--")]  # (the command after it is the kernel's Python, bound read-only)
    assert not any(str(REPO) in arg and not arg.startswith(sys.prefix) for arg in mounts), "the repository is bound"
    assert str(Path.home()) not in binds
    tmpfs = {cmd[i + 1]: cmd[i - 1] for i, arg in enumerate(cmd) if arg == "--tmpfs"}
    assert set(sandbox.PRIVATE_TMP) <= set(tmpfs)
    assert tmpfs["/tmp"] == str(2**20) and tmpfs[plan["stage"] + "/home"] == str(2**20)
    # the installed reference, covered after its site-packages is bound: an empty read-only folder, /dev/null
    assert package in tmpfs and cmd[cmd.index(package) + 1: cmd.index(package) + 3] == ["--remount-ro", package]
    assert cmd[cmd.index(module) - 2: cmd.index(module)] == ["--ro-bind", "/dev/null"]
    assert cmd.index(package) > cmd.index(python) and cmd.index(module) > cmd.index(python)


@pytest.mark.skipif(not cgroups.available(), reason="no writable cgroup memory and pids controllers here")
def test_a_submission_cgroup_is_made_limited_and_removed():
    group = cgroups.SubmissionGroup.create(3 * 2**30, 77)
    assert group is not None
    try:
        memory = group.folders[0]
        limit = "memory.max" if group.version == "v2" else "memory.limit_in_bytes"
        assert int((memory / limit).read_text()) == 3 * 2**30
        pids = next(folder for folder in group.folders if (folder / "pids.max").exists())
        assert (pids / "pids.max").read_text().strip() == "77"
        assert group.pids() == [] and not group.oom_killed()
        assert "3 GiB of resident memory" in group.describe(3 * 2**30, 77)
        if group.version == "v1" and (Path("/sys/fs/cgroup/cpu") / "cpu.shares").exists():
            assert group.cpu_share and (group.folders[-1] / "cpu.shares").is_file()
            assert group.describe(3 * 2**30, 77).endswith("its own equal share of the CPUs")
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders)


# ----------------------------------------------------------------------------- real kernels (slow)
def _run(level: str, *cells: str, limits: dict | None = None, cwd: Path) -> tuple[list[str], dict]:
    """Run cells in a sandboxed kernel; the text each cell printed (or its error), and the sandbox's report."""
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells])
    km = sandbox.SandboxedKernelManager(kernel_name="python3")
    km.level, km.limits = level, dict(limits or {})
    try:
        NotebookClient(nb, km=km, timeout=120, allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:  # (a client given a kernel manager leaves the kernel running)
        if km.has_kernel:
            run_sync(km.shutdown_kernel)()
    texts = ["".join(o.get("text", "") if o.get("output_type") == "stream" else f"{o.get('ename')}: {o.get('evalue')}"
                     for o in cell.outputs) for cell in nb.cells]
    return texts, km.report


@pytest.fixture
def listener():
    """A TCP server on the host's loopback, as a Dask scheduler or a database would listen."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.slow
@pytest.mark.parametrize("level", ["bubblewrap", "namespace"])
def test_learner_code_reaches_nothing_on_the_hosts_network(level, listener, tmp_path):
    texts, report = _run(_level_or_skip(level), f"""
        import socket
        s = socket.socket(); s.settimeout(3)
        try:
            s.connect(("127.0.0.1", {listener})); print("REACHED the host")
        except OSError as exc:
            print("blocked:", exc)
        """, cwd=tmp_path)
    assert texts[0].startswith("blocked:"), texts
    assert report["network"].startswith("none") and report["transport"].startswith("ipc")


SECRETS = {  # a line only the reference library / the exercise definitions hold
    "solutions": "A dense (fully connected) layer over a batch, before its activation",
    "registry": "Look up an exercise by its id",
}
# Run in a sandboxed kernel: reads every file it can find where code could be, and names those holding a marker.
SCAN_FOR_MARKERS = f"""
    import os, sys
    markers = {list(SECRETS.values())!r}
    roots = sorted(set(p for p in sys.path if p) | {{"/work", "/root", "/home", "/srv", "/opt", "/tmp", "/var", "/mnt",
                                                    os.path.expanduser("~"), os.getcwd()}})
    hits, read = [], 0
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                if name.endswith((".py", ".pyc", ".json", ".txt", ".ipynb")):
                    try:
                        data = open(os.path.join(folder, name), "rb").read(2_000_000)
                    except OSError:
                        continue
                    read += 1
                    hits += [os.path.join(folder, name) for m in markers if m.encode() in data]
    print("read", read, "hits", hits)
    """



@pytest.mark.slow
def test_no_file_visible_in_the_kernel_holds_reference_code(tmp_path):
    assert SECRETS["solutions"] in (REPO / "solutions" / "neurons.py").read_text()
    assert SECRETS["registry"] in (REPO / "autograder" / "registry.py").read_text()
    texts, _ = _run(_level_or_skip("bubblewrap"), SCAN_FOR_MARKERS, cwd=tmp_path)
    assert "hits []" in texts[0] and int(texts[0].split()[1]) > 1000, texts  # it did look, and found nothing


@pytest.mark.slow
def test_a_non_editable_install_is_hidden_too(tmp_path):
    """``pip install .`` (as a wheel or a container image has it): the reference library sits in the
    site-packages the kernel imports from. Graded with that environment's Python, no file the kernel can
    read holds reference code. (The ``namespace`` fallback hides only what Python would import: the rest
    of the host, a clone on disk included, stays readable there.)"""
    import shutil
    import sysconfig

    level = _level_or_skip("bubblewrap")
    source, env = tmp_path / "source", tmp_path / "installed-env"
    for part in ("autograder", "solutions"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / part, source / part)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    purelib = subprocess.run([env / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # this env's packages
    subprocess.run([env / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", str(source)], check=True, cwd=tmp_path)
    shutil.rmtree(source)
    assert Path(purelib, "solutions", "neurons.py").is_file()
    script, submission = tmp_path / "scan.py", tmp_path / "submission"  # (the script holds the markers)
    submission.mkdir()
    script.write_text(textwrap.dedent(f"""
        import json, sys
        import nbformat, solutions
        from nbclient import NotebookClient
        from autograder.grading import sandbox
        assert solutions.__file__.startswith({purelib!r}), solutions.__file__
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell({textwrap.dedent(SCAN_FOR_MARKERS)!r})])
        km = sandbox.SandboxedKernelManager(kernel_name="python3")
        km.level = {level!r}
        NotebookClient(nb, km=km, timeout=300, resources={{"metadata": {{"path": {str(submission)!r}}}}}).execute()
        print(json.dumps(nb.cells[0].outputs[0]["text"]))
        """))
    out = subprocess.run([env / "bin" / "python", str(script)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    text = json.loads(out.stdout.strip().splitlines()[-1])
    assert "hits []" in text and int(text.split()[1]) > 1000, text


@pytest.mark.slow
@pytest.mark.skipif(not cgroups.available(), reason="no writable cgroup memory and pids controllers here")
def test_memory_counts_every_process_of_the_submission(tmp_path):
    texts, report = _run(_level_or_skip("bubblewrap"), """
        import subprocess, sys
        hog = "import numpy as np, time; a = np.ones(450 * 2**20 // 8); time.sleep(3)"
        children = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(3)]
        print("exit codes", [child.wait() for child in children])
        """, limits={"memory_bytes": 2**30}, cwd=tmp_path)
    assert "-9" in texts[0], texts  # 3 x 450 MiB do not fit in 1 GiB together, though each would alone
    assert "resident memory" in report["memory"] and "memory_bytes" not in report["limits"]


@pytest.mark.slow
@pytest.mark.parametrize("level", ["bubblewrap", "namespace", "limits"])
def test_only_what_the_notebook_left_running_counts_as_left_over(level, tmp_path):
    level = _level_or_skip(level) if level != "limits" else level
    _, clean = _run(level, "print('nothing left behind')", cwd=tmp_path)
    assert "leftover_processes" not in clean, clean  # the kernel itself is no leftover
    _, messy = _run(level, "import subprocess\nsubprocess.Popen(['sleep', '300'])", cwd=tmp_path)
    assert messy.get("leftover_processes") == 1, messy


@pytest.mark.slow
def test_torch_trains_under_the_default_limits(tmp_path):
    """Notebooks 08-11 train with torch: under the default limits (a cgroup counting resident memory, no
    address-space limit where cgroups exist) it imports and trains. (The memory bomb graded under the same
    limits is stopped with its reason: tests/test_grading_trust.py, limit_memory_bomb.)"""
    level = sandbox.best_level()
    texts, report = _run(level, """
        import torch
        torch.manual_seed(0)
        X = torch.randn(512, 20)
        y = (X[:, 0] + X[:, 1] > 0).long()
        model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(150):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X), y)
            loss.backward()
            optimizer.step()
        print("accuracy", (model(X).argmax(1) == y).float().mean().item())
        """, cwd=tmp_path)
    assert texts[0].startswith("accuracy") and float(texts[0].split()[1]) > 0.95, texts
    if cgroups.available():
        assert "resident memory" in report["memory"], report


@pytest.mark.slow
@pytest.mark.parametrize("level", ["bubblewrap", "namespace"])
def test_temporary_folders_are_private_limited_and_discarded(level, tmp_path):
    level = _level_or_skip(level)
    folders = ["/tmp", "/var/tmp", "/dev/shm"] + (["/run/lock"] if level == "bubblewrap" else [])
    write = f"""
        import os
        for folder in {folders!r}:
            open(os.path.join(folder, "nncourse-left-behind"), "w").write("for the next student")
        try:
            with open("/tmp/big", "wb") as f:
                for _ in range(64):
                    f.write(b"0" * 2**20)
            print("wrote 64 MiB")
        except OSError as exc:
            print("stopped:", exc.strerror)
        """
    texts, _ = _run(level, write, limits={"tmp_bytes": 16 * 2**20}, cwd=tmp_path)
    assert texts[0].startswith("stopped: No space left"), texts  # /tmp is a 16 MiB tmpfs here
    texts, _ = _run(level, f"""
        import os
        print([f for f in {folders!r} if os.path.exists(os.path.join(f, "nncourse-left-behind"))])
        """, cwd=tmp_path)
    assert texts[0].strip() == "[]", texts
    assert not any(Path(f, "nncourse-left-behind").exists() for f in folders)


def _sandboxed_processes() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"{sandbox.TOKEN_VARIABLE}=".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


GRADER = """
import sys, nbformat
from nbclient import NotebookClient
from autograder.grading.sandbox import SandboxedKernelManager
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    "import subprocess, time\\nsubprocess.Popen(['sleep', '300'], start_new_session=True)\\n"
    "print('running', flush=True)\\ntime.sleep(300)")])
km = SandboxedKernelManager(kernel_name="python3")
km.level = sys.argv[1]
NotebookClient(nb, km=km, timeout=600).execute()
"""


@pytest.mark.slow
@pytest.mark.parametrize("level", ["bubblewrap", "namespace"])
def test_a_grader_killed_with_sigkill_takes_its_kernel_and_its_childrens_children_along(level, tmp_path):
    level = _level_or_skip(level)
    before = set(_sandboxed_processes())
    grader = subprocess.Popen([sys.executable, "-c", GRADER, level], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while len(set(_sandboxed_processes()) - before) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # the kernel and the sleep it started
        started = set(_sandboxed_processes()) - before
        assert len(started) >= 2, "the sandboxed kernel did not start"
        time.sleep(2)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    deadline = time.monotonic() + 20
    while set(_sandboxed_processes()) & started and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(_sandboxed_processes()) & started, "learner processes outlived their killed grader"


# ----------------------------------------------------------------------------- a class run (slow, real `grade`)
ATTACK = '''
import glob, json, os
_found = {}
def _try(name, attempt):
    try:
        _found[name] = "REACHED: " + repr(attempt())
    except BaseException as exc:
        _found[name] = "blocked: " + type(exc).__name__
def _dask():
    from distributed import Client
    with Client(SCHEDULER, timeout=5) as client:
        return client.run(lambda: open(MARKER, "w").write("pwned"))
def _postgres_tcp():
    import psycopg2
    connection = psycopg2.connect(host="127.0.0.1", port=PG_PORT, user="nncourse", dbname="postgres", connect_timeout=5)
    connection.autocommit = True
    connection.cursor().execute("CREATE DATABASE pwned")
def _postgres_socket():
    import psycopg2
    psycopg2.connect(host=PG_SOCKETS, port=PG_PORT, user="nncourse", dbname="postgres", connect_timeout=5)
def _snoop():
    import zmq
    mine = os.environ.get("NNCOURSE_WORKER", "")
    files = [f for pattern in ("/tmp/*/connection.json", "/tmp/**/kernel-*.json", "/root/.local/share/jupyter/runtime/*.json")
             for f in glob.glob(pattern, recursive=True) if mine not in open(f).read()]
    heard = []
    for path in files:
        info = json.load(open(path))
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"{info['transport']}://{info['ip']}" + (f":{info['iopub_port']}" if info["transport"] == "tcp"
                                                              else f"-{info['iopub_port']}"))
        if sub.poll(8000):
            heard.append(sub.recv_multipart()[-1].decode(errors="replace")[:2000])
    if not heard:
        raise LookupError(f"heard nothing ({len(files)} other kernels found)")
    return heard
for _name, _attempt in [("dask", _dask), ("postgres_tcp", _postgres_tcp), ("postgres_socket", _postgres_socket),
                        ("snoop", _snoop)]:
    _try(_name, _attempt)
print("NNCOURSE-ATTACK " + json.dumps(_found))
'''
NEIGHBOUR_MARK = "neighbour-secret-7731"


def _attack_report(notebook: Path) -> dict:
    """What the attack printed in the autograded notebook (its solution cell's output)."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if "NNCOURSE-ATTACK " in text:
                return json.loads(text.split("NNCOURSE-ATTACK ", 1)[1].splitlines()[0])
    raise AssertionError(f"the attack printed nothing in {notebook}")


@pytest.mark.slow
def test_a_class_run_on_dask_and_postgresql_is_out_of_the_learners_reach(tmp_path, free_port):
    """A Dask scheduler and a trust-authenticated PostgreSQL gradebook on 127.0.0.1, two kernels side by side."""
    distributed = pytest.importorskip("distributed")
    from nbgrader.api import Gradebook

    from autograder.classroom.nbgrader_settings import COURSE_ID
    from tests.fixtures import class_fixture as fixture
    from tests.fixtures import submissions_01
    from tests.pg_server import PostgresError, PostgresMissing, start_server
    from tests.test_class_grading import autograder

    _level_or_skip("bubblewrap")
    try:
        server = start_server(tcp_port=free_port)
    except (PostgresMissing, PostgresError) as exc:
        if os.environ.get("NNCOURSE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(str(exc))
    marker = tmp_path / "dask-was-reached"
    honest = dict(submissions_01.CORRECT_BUT_DIFFERENT)
    try:
        url = server.create_database("nncourse_class")
        root = tmp_path / "nn-class"
        autograder("course", "init", str(root), "--assignments", "01", "--db", url, cwd=tmp_path)
        released = nbformat.read(root / "release" / fixture.A1 / fixture.NOTEBOOK[fixture.A1], as_version=4)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      host="127.0.0.1") as cluster:
            attack = (f"SCHEDULER = {cluster.scheduler_address!r}\nMARKER = {str(marker)!r}\n"
                      f"PG_PORT = {free_port}\nPG_SOCKETS = {str(server.socket_dir)!r}\n{ATTACK}")
            students = {
                "attacker": dict(honest, output_layer_solution=attack + honest["output_layer_solution"]),
                "neighbour": dict(honest, neuron_solution=f"# {NEIGHBOUR_MARK}\n" + honest["neuron_solution"]),
                "honest": honest,
            }
            for student, solutions in students.items():
                folder = root / "submitted" / student / fixture.A1
                folder.mkdir(parents=True)
                nbformat.write(fixture.solved(released, fixture.Submission(solutions, fixture.Expected(10))),
                               folder / fixture.NOTEBOOK[fixture.A1])
            out = autograder("grade", "--course", str(root), "--scheduler", cluster.scheduler_address,
                             "--no-progress", cwd=tmp_path, check=False)
        with Gradebook(url, course_id=COURSE_ID) as gradebook:
            scores = {s: gradebook.find_submission(fixture.A1, s).score for s in students}
        assert scores == {"attacker": 10.0, "neighbour": 10.0, "honest": 10.0}, out.stdout + out.stderr
        autograded = root / "autograded" / "attacker" / fixture.A1 / fixture.NOTEBOOK[fixture.A1]
        report = _attack_report(autograded)
        assert set(report) == {"dask", "postgres_tcp", "postgres_socket", "snoop"}
        assert all(value.startswith("blocked") for value in report.values()), report
        assert NEIGHBOUR_MARK not in autograded.read_text()
        assert not marker.exists()
        import psycopg2

        connection = psycopg2.connect(host=str(server.socket_dir), port=free_port, user="nncourse", dbname="postgres")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT datname FROM pg_database")
                assert "pwned" not in {row[0] for row in cursor.fetchall()}
        finally:
            connection.close()
    finally:
        server.stop()


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
