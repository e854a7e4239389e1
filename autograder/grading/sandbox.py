"""The isolated worker: the kernel that runs a learner's notebook at grading.

:class:`SandboxedKernelManager` starts the kernel through :mod:`autograder.grading.sandbox_launch`. Isolation
levels, best first (``auto`` picks the best this machine allows and says which):

``namespace``  (Linux, grading as root, ``unshare`` available; CI and a container run this way)
    own mount and PID namespaces: the repository (reference library, exercise definitions, tests),
    the course directory (gradebook, secret, other students), the grader's home and ``/tmp`` are
    hidden under empty tmpfs; the Python installation is visible read-only; the submission is a
    private copy; the kernel runs as an unprivileged user with memory, CPU-time, process, file-size
    and open-file limits; when grading of the submission ends every process in the namespace dies
    with it (a child that outlived its cell included) and the count is reported.
``limits``     (elsewhere)
    the same limits and private copy of the submission, as an unprivileged user when started as
    root; the learner's code could still read files the grader's user can read. Leftover processes
    are found by a token in their environment and killed.

Either way the kernel's environment is rebuilt from scratch: nothing of the grader's environment
passes except an allowlist, and the learner package on its path has no reference code.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Unicode

from autograder import learner

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parents[1]
LAUNCHER = PACKAGE / "sandbox_launch.py"
PASS_THROUGH = ("LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")
TOKEN_VARIABLE = "NNCOURSE_WORKER"


@dataclass
class Limits:
    """Resource limits of one learner kernel (generous for the course, fatal for a bomb)."""

    memory_bytes: int = 4 * 2**30      # address space: NumPy, matplotlib and torch fit in 3 GiB
    cpu_seconds: int = 1800            # the whole kernel, every cell together
    processes: int = 256               # threads count too (BLAS, torch, the kernel's own)
    file_bytes: int = 512 * 2**20      # largest file it may write
    open_files: int = 1024
    core_bytes: int = 0


@lru_cache(maxsize=None)
def namespaces_available() -> bool:
    """True when this process can build the ``namespace`` sandbox (root, Linux, working unshare)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "true"],
                           capture_output=True)
    return probe.returncode == 0


def best_level(requested: str = "auto") -> str:
    if requested == "auto":
        return "namespace" if namespaces_available() else "limits"
    if requested == "namespace" and not namespaces_available():
        raise RuntimeError("the namespace sandbox needs root on Linux with a working `unshare`")
    return requested


def hidden_paths(course_root: Path | None) -> list[str]:
    """What the learner's kernel must not see: the repository, the course, the grader's home, /tmp."""
    paths = {ROOT, Path.home(), Path(tempfile.gettempdir()), Path("/tmp")}
    if course_root is not None:
        paths.add(Path(course_root))
    resolved = sorted({str(p.resolve()) for p in paths}, key=len)
    outermost = []
    for path in resolved:  # a path inside one already hidden needs no mask of its own
        if not any(path == o or path.startswith(o.rstrip("/") + "/") for o in outermost):
            outermost.append(path)
    return outermost


def python_paths() -> list[str]:
    """The Python installation the kernel runs from (bound back read-only where a mask hides it)."""
    return sorted({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def readable_by_others(paths: list[str]) -> bool:
    """True when another user can reach every path (each folder above it searchable by others)."""
    for path in map(Path, paths):
        for folder in [path, *path.parents]:
            if folder.exists() and not folder.stat().st_mode & 0o001:
                return False
    return True


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def processes_with_token(token: str) -> list[int]:
    """Processes whose environment carries ``token`` (readable for our own user, or all as root)."""
    found, needle = [], f"{TOKEN_VARIABLE}={token}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start in the sandbox described in the module docstring."""

    level = Unicode("auto", help="namespace, limits or auto").tag(config=True)
    limits = Dict(help="Limits fields to override, e.g. {'memory_bytes': 2**31}").tag(config=True)
    course_root = Unicode("", help="the nbgrader course directory to hide from the kernel").tag(config=True)
    checks_file = Unicode("", help="public checks (nncourse_checks.json) for the kernel's own feedback").tag(config=True)
    stage = None
    token = None
    report: dict = {}

    def _plan(self, kernel_cmd: list[str], workdir: str, level: str) -> dict:
        stage = Path(tempfile.mkdtemp(prefix="nncourse-worker-"))
        self.stage, self.token = stage, secrets.token_hex(8)
        # In namespace mode the Python installation is bound where others can reach it; elsewhere an
        # unprivileged user is only possible when the installation is readable by others.
        can_drop = os.geteuid() == 0 and (level == "namespace" or readable_by_others(python_paths()))
        uid = gid = 61000 + secrets.randbelow(4000) if can_drop else None
        shutil.copytree(workdir, stage / "work", symlinks=True)
        (stage / "home").mkdir()
        (stage / "tmp").mkdir()
        learner.ship_to(stage / "pylib")  # the learner package only: no registry, exercises or references
        if self.checks_file:
            shutil.copy2(self.checks_file, stage / "checks.json")
        connection = stage / "connection.json"
        shutil.copy2(self.connection_file, connection)
        if uid is not None:
            for sub in ("work", "home", "tmp"):
                _chown_tree(stage / sub, uid, gid)
            os.chown(connection, uid, gid)
        os.chmod(connection, 0o600)
        stage.chmod(0o755)
        argv = [("{stage}/connection.json" if arg == self.connection_file else arg) for arg in kernel_cmd]
        env = {key: os.environ[key] for key in PASS_THROUGH if key in os.environ}
        env.update({
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": "{stage}/home", "TMPDIR": "/tmp" if level == "namespace" else "{stage}/tmp",
            "MPLCONFIGDIR": "{stage}/home/.matplotlib", "IPYTHONDIR": "{stage}/home/.ipython",
            "PYTHONPATH": "{stage}/pylib", "PYTHONNOUSERSITE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"), TOKEN_VARIABLE: self.token,
        })
        if self.checks_file:
            env["NNCOURSE_CHECKS"] = "{stage}/checks.json"
        limits = asdict(Limits(**{name: int(value) for name, value in self.limits.items()}))
        if uid is None:  # a process limit would count every process of the grader's own user
            limits.pop("processes")
        plan = {"level": level, "stage": str(stage), "workdir": str(Path(workdir).resolve()),
                "masks": hidden_paths(Path(self.course_root) if self.course_root else None),
                "keep": python_paths(), "uid": uid, "gid": gid, "limits": limits, "env": env, "argv": argv}
        self.report = {"isolation": level if uid is not None or level == "namespace" else f"{level}, grader's user",
                       "uid": uid, "limits": limits}
        return plan

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        level = best_level(self.level)
        plan = self._plan(kernel_cmd, kw.get("cwd") or os.getcwd(), level)
        plan_file = self.stage / "plan.json"
        plan_file.write_text(json.dumps(plan))
        plan_file.chmod(0o600)
        launcher = [sys.executable, "-I", "-S", str(LAUNCHER), str(plan_file)]
        if level == "namespace":
            launcher = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--", *launcher]
        kw["cwd"] = str(self.stage)
        kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        await super()._async_launch_kernel(launcher, **kw)

    def _kernel_pid(self) -> int | None:
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return None
        for pid in processes_with_token(self.token):  # namespace mode: the kernel is unshare's child
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{process.pid}\n" in status:
                return pid
        return process.pid

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        if self.token:
            kernel = self._kernel_pid()
            left = [pid for pid in processes_with_token(self.token) if pid != kernel]
            if left:
                self.report["leftover_processes"] = self.report.get("leftover_processes", 0) + len(left)
        await super()._async_shutdown_kernel(now=now, restart=restart)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self._stop_leftovers()

    # AsyncKernelManager binds its public names to the base functions: point them at the overrides.
    shutdown_kernel = _async_shutdown_kernel
    cleanup_resources = _async_cleanup_resources

    def _stop_leftovers(self) -> None:
        """Kill whatever the submission left running (in ``namespace`` mode the kernel took it along)."""
        if not self.token:
            return
        for pid in processes_with_token(self.token):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.token = None
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None
