"""The isolated worker: the kernel that runs a learner's notebook at grading.

:class:`SandboxedKernelManager` starts the kernel through :mod:`autograder.grading.sandbox_launch`.
Isolation levels, best first (``auto`` picks the best this machine allows and says which):

``bubblewrap``  (Linux, grading as root, Debian's ``bwrap`` installed; CI installs it)
    Flatpak's sandbox tool builds a new root from an allowlist: the system folders (``/usr``,
    ``/etc``, ...) and the Python installation, read-only, with every place that Python could import
    the reference library or the exercise definitions from (an editable install's source, a
    non-editable install's ``site-packages/solutions``, a second clone) covered by an empty folder.
    Nothing else of the host exists inside: no repository, course directory, gradebook, secret,
    other student, home, ``/run`` socket. Own PID, IPC, UTS and **network** namespaces (loopback
    only: nothing listening on the host, a Dask scheduler or a database included, can be reached);
    private size-limited ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run/lock`` and home, discarded with
    the submission; ``--die-with-parent``, so the kernel dies with its grader however the grader ends.
``namespace``   (the same machines without bubblewrap: the previous home-made sandbox)
    ``unshare`` with mount, PID and network namespaces; the host stays visible read-only except
    what is masked (the repository, the course directory, the grader's home, ``/tmp``, ``/run``, the
    reference library wherever Python finds it).
``limits``      (elsewhere)
    the same limits and private copy of the submission, as an unprivileged user when started as
    root; the learner's code could still read files the grader's user can read and reach the host's
    network. Leftover processes are found by a token in their environment and killed.

In every level the kernel talks to the grader over ZeroMQ's ``ipc`` transport (Unix sockets in a
per-submission folder that only that kernel, its uid and its grader can open), runs as an
unprivileged uid of its own, and has memory, process, CPU-time, file-size and open-file limits.
Where the machine has cgroups (v2, or v1 ``memory`` and ``pids``) memory and processes are counted
for the whole submission (resident memory, tmpfs included: torch and CUDA work, three 2.8 GB
processes do not pass a 4 GiB limit); elsewhere they fall back to per-process rlimits (address
space). What is in force is recorded per notebook (``report``). The kernel's environment is
rebuilt from scratch: nothing of the grader's passes except an allowlist, and the only course code
on its path is the learner package (:mod:`autograder.learner`).
"""
from __future__ import annotations

import glob
import json
import os
import re
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
from autograder.grading import cgroups

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parents[1]
LAUNCHER = PACKAGE / "sandbox_launch.py"
PASS_THROUGH = ("LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")
TOKEN_VARIABLE = "NNCOURSE_WORKER"
# The course's trusted code: what the kernel must not find wherever Python would import it from.
TRUSTED_PACKAGES = ("solutions", "autograder")
# What a bubblewrap sandbox sees of the host besides the Python installation (read-only).
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
LEVELS = ("bubblewrap", "namespace", "limits")


@dataclass
class Limits:
    """Resource limits of one submission (generous for the course, fatal for a bomb)."""

    memory_bytes: int = 4 * 2**30      # resident memory of all its processes and its tmpfs (cgroup);
    #                                    address space per process where the machine has no cgroups
    cpu_seconds: int = 1800            # per process, every cell together
    processes: int = 256               # threads count too (BLAS, torch, the kernel's own)
    file_bytes: int = 512 * 2**20      # largest file it may write
    open_files: int = 1024
    core_bytes: int = 0
    tmp_bytes: int = 512 * 2**20       # each private /tmp, /var/tmp, /dev/shm and home (inside the memory limit)


@lru_cache(maxsize=None)
def namespaces_available() -> bool:
    """True when this process can build the ``namespace`` sandbox (root, Linux, working unshare)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child", "--mount-proc", "true"],
                           capture_output=True)
    return probe.returncode == 0


@lru_cache(maxsize=None)
def bubblewrap_available() -> bool:
    """True when this process can build the ``bubblewrap`` sandbox (root, Linux, a working ``bwrap``)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("bwrap"):
        return False
    probe = subprocess.run(["bwrap", "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/",
                            "--proc", "/proc", "--dev", "/dev", "--size", "65536", "--tmpfs", "/tmp", "true"],
                           capture_output=True)
    return probe.returncode == 0


def best_level(requested: str = "auto") -> str:
    if requested == "auto":
        return "bubblewrap" if bubblewrap_available() else "namespace" if namespaces_available() else "limits"
    if requested == "bubblewrap" and not bubblewrap_available():
        raise RuntimeError("the bubblewrap sandbox needs root on Linux with a working `bwrap` (Debian: bubblewrap)")
    if requested == "namespace" and not namespaces_available():
        raise RuntimeError("the namespace sandbox needs root on Linux with a working `unshare`")
    if requested not in LEVELS:
        raise RuntimeError(f"unknown isolation level {requested!r}: one of {', '.join(LEVELS)} or auto")
    return requested


def _outermost(paths) -> list[str]:
    """The paths, without those inside another one of them (already covered)."""
    resolved = sorted({str(Path(p).resolve()) for p in paths}, key=len)
    outermost = []
    for path in resolved:
        if not any(_inside(path, o) for o in outermost):
            outermost.append(path)
    return outermost


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def hidden_paths(course_root: Path | None) -> list[str]:
    """What the ``namespace`` level masks: the repository, the course, the grader's home, ``/run``."""
    paths = {ROOT, Path.home(), Path("/run")}
    if course_root is not None:
        paths.add(Path(course_root))
    return [p for p in _outermost(paths) if p not in PRIVATE_TMP]


def python_paths() -> list[str]:
    """The Python installation the kernel runs from (bound read-only into the sandbox)."""
    return _outermost(p for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})


_PATH_IN_TEXT = re.compile(r"""['"](/[^'"\n]+)['"]|^(/[^\n]+)$""", re.M)


@lru_cache(maxsize=8)
def _kernel_python(python: str) -> dict:
    """That interpreter's ``sys.path`` with the kernel's settings (no user site, no PYTHONPATH), and where
    it finds each trusted package."""
    probe = ("import importlib.util as u, json, sys\nfound = []\n"
             f"for name in {TRUSTED_PACKAGES!r}:\n"
             "    try:\n        spec = u.find_spec(name)\n    except Exception:\n        spec = None\n"
             "    if spec is not None:\n"
             "        found += list(spec.submodule_search_locations or []) or [spec.origin or '']\n"
             "print(json.dumps({'path': sys.path, 'found': found}))")
    try:
        out = subprocess.run([python, "-s", "-c", probe], capture_output=True, text=True, cwd="/", timeout=60,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}).stdout
        return json.loads(out)
    except (OSError, ValueError, subprocess.SubprocessError):
        return {"path": sys.path, "found": []}


def reference_locations(python: str = sys.executable) -> tuple[str, ...]:
    """Every file or folder that the kernel's Python could import the course's trusted code from."""
    answer = _kernel_python(python)
    return tuple(trusted_code_in(answer["path"], answer["found"]))


def library_paths(python: str = sys.executable) -> list[str]:
    """What the kernel's Python imports from besides its installation: :func:`libraries_in` its path."""
    return libraries_in(_kernel_python(python)["path"], python_paths())


def libraries_in(path_entries: list[str], prefixes: list[str]) -> list[str]:
    """The ``sys.path`` folders outside the installation ``prefixes`` (named in a ``.pth`` file, say).

    Bound read-only like the installation, except a folder that holds a trusted package itself (a
    clone of the repository named on a ``.pth`` line): that one is never bound.
    """
    extra = []
    for entry in path_entries:
        if not entry or not os.path.isdir(entry) or any(_inside(str(Path(entry).resolve()), p) for p in prefixes):
            continue
        if not any(os.path.exists(os.path.join(entry, name)) for package in TRUSTED_PACKAGES
                   for name in (package, f"{package}.py")):
            extra.append(entry)
    return _outermost(extra)


def trusted_code_in(path_entries: list[str], found: list[str]) -> list[str]:
    """The trusted packages in or behind these ``sys.path`` entries (besides those ``found`` already).

    Looks in every entry for a package or module of a trusted name, and in every ``.pth`` file,
    ``.egg-link`` and editable-install finder for the folders they point at: an editable install, a
    non-editable install and a second clone named on a ``.pth`` line all appear here.
    """
    found = {p for p in found if p}
    pointed = set()
    for entry in filter(os.path.isdir, path_entries):
        pointed.add(entry)
        for name in os.listdir(entry):
            if name.endswith((".pth", ".egg-link")) or (name.startswith("__editable__") and name.endswith(".py")):
                try:
                    text = Path(entry, name).read_text(errors="replace")
                except OSError:
                    continue
                pointed |= {a or b for a, b in _PATH_IN_TEXT.findall(text)}
    for folder in pointed:
        for package in TRUSTED_PACKAGES:
            for candidate in (Path(folder) / package, Path(folder) / f"{package}.py"):
                if candidate.exists():
                    found.add(str(candidate))
        if Path(folder).name in TRUSTED_PACKAGES and Path(folder).is_dir():
            found.add(folder)
    return _outermost(found)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def readable_by_others(paths: list[str]) -> bool:
    """True when another user can reach every path (each folder above it searchable by others)."""
    for path in map(Path, paths):
        for folder in [path, *path.parents]:
            if folder.exists() and not folder.stat().st_mode & 0o001:
                return False
    return True


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


def start_time(pid: int) -> int:
    """When a process started (clock ticks after boot; a vanished process counts as the latest)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 2**63
    return int(stat[stat.rindex(")") + 2:].split()[19])  # field 22, counted after the command's name


def bubblewrap_command(plan: dict, launcher: str) -> list[str]:
    """The ``bwrap`` command line of a plan: the allowlisted root described in the module docstring."""
    cmd = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--hostname", "nncourse-sandbox"]
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            cmd += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            cmd += ["--ro-bind", folder, folder]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    for device in sorted(glob.glob("/dev/nvidia*")):  # a GPU, when the machine has one
        cmd += ["--dev-bind", device, device]
    size = str(plan["tmp_bytes"])
    for folder in PRIVATE_TMP:  # first, so that what is bound below (a workdir under /tmp) stays visible
        cmd += ["--perms", "1777", "--size", size if folder != "/run/lock" else "1048576", "--tmpfs", folder]
    bound = [*plan["keep"], plan["stage"], plan["workdir"]]
    for folder in sorted({str(parent) for path in bound for parent in Path(path).parents if str(parent) != "/"}
                         - set(PRIVATE_TMP)):
        cmd += ["--perms", "0755", "--dir", folder]  # bwrap would make the folders above a bind 0700
    for folder in plan["keep"]:
        cmd += ["--ro-bind", folder, folder]
    for path in plan["masks_after_keep"]:  # the trusted packages inside what is bound (site-packages)
        if os.path.isdir(path):
            cmd += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
        else:
            cmd += ["--ro-bind", "/dev/null", path]
    cmd += ["--bind", plan["stage"], plan["stage"],
            "--perms", "1777", "--size", size, "--tmpfs", plan["stage"] + "/home",
            "--bind", plan["stage"] + "/work", plan["workdir"],
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--", sys.executable, "-I", "-S", launcher, "inner", plan["stage"] + "/plan.json"]
    return cmd


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start in the sandbox described in the module docstring."""

    level = Unicode("auto", help="bubblewrap, namespace, limits or auto").tag(config=True)
    limits = Dict(help="Limits fields to override, e.g. {'memory_bytes': 2**31}").tag(config=True)
    course_root = Unicode("", help="the nbgrader course directory to hide from the kernel").tag(config=True)
    checks_file = Unicode("", help="public checks (nncourse_checks.json) for the kernel's own feedback").tag(config=True)
    stage = None
    token = None
    group = None
    report: dict = {}

    def _make_stage(self) -> None:
        """The submission's private folder: ipc sockets, home, work copy, learner package, plan."""
        if self.stage is None:
            self.stage = Path(tempfile.mkdtemp(prefix="nncourse-worker-"))
            self.stage.chmod(0o755)
            (self.stage / "ipc").mkdir(mode=0o700)

    async def _async_pre_start_kernel(self, **kw):
        # ZeroMQ over Unix sockets in the stage: nothing on any network, no port another kernel can open.
        self._make_stage()
        self.transport, self.ip = "ipc", str(self.stage / "ipc" / "k")
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel

    def _plan(self, kernel_cmd: list[str], workdir: str, level: str) -> dict:
        self._make_stage()
        stage, self.token = self.stage, secrets.token_hex(8)
        limits = asdict(Limits(**{name: int(value) for name, value in self.limits.items()}))
        tmp_bytes = limits.pop("tmp_bytes")
        # In the namespace levels the Python installation is bound where others can reach it; elsewhere
        # an unprivileged user is only possible when the installation is readable by others.
        can_drop = os.geteuid() == 0 and (level != "limits" or readable_by_others(python_paths()))
        uid = gid = 61000 + secrets.randbelow(4000) if can_drop else None
        for sub in ("work", "home", "tmp", "pylib"):
            shutil.rmtree(stage / sub, ignore_errors=True)
        shutil.copytree(workdir, stage / "work", symlinks=True,  # (never the stage itself, were it inside)
                        ignore=lambda folder, names: [n for n in names if Path(folder, n).resolve() == stage])
        (stage / "home").mkdir()
        (stage / "tmp").mkdir()
        learner.ship_to(stage / "pylib")  # the learner package only: no registry, exercises or references
        if self.checks_file:
            shutil.copy2(self.checks_file, stage / "checks.json")
        shutil.copy2(LAUNCHER, stage / "launch.py")
        connection = stage / "connection.json"
        shutil.copy2(self.connection_file, connection)
        kernel_cmd = [str(connection) if arg == self.connection_file else arg for arg in kernel_cmd]
        if uid is not None:
            for sub in ("work", "home", "tmp", "ipc"):
                _chown_tree(stage / sub, uid, gid)
            os.chown(connection, uid, gid)
        os.chmod(connection, 0o600)
        self.group = cgroups.SubmissionGroup.create(limits["memory_bytes"], limits["processes"]) if uid else None
        if self.group is not None:
            memory = self.group.describe(limits["memory_bytes"], limits["processes"])
            limits.pop("memory_bytes")  # resident memory is the cgroup's: no address-space limit (CUDA, threads)
        else:
            memory = f"rlimit: {limits['memory_bytes'] / 2**30:g} GiB of address space per process"
        if uid is None:  # a process limit would count every process of the grader's own user
            limits.pop("processes")
        inside_workdir = str(Path(workdir).resolve()) if level != "limits" else str(stage / "work")
        env = {key: os.environ[key] for key in PASS_THROUGH if key in os.environ}
        env.update({
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": "{stage}/home", "TMPDIR": "/tmp" if level != "limits" else "{stage}/tmp",
            "MPLCONFIGDIR": "{stage}/home/.matplotlib", "IPYTHONDIR": "{stage}/home/.ipython",
            "PYTHONPATH": "{stage}/pylib", "PYTHONNOUSERSITE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"), TOKEN_VARIABLE: self.token,
        })
        if self.checks_file:
            env["NNCOURSE_CHECKS"] = "{stage}/checks.json"
        keep = _outermost([*python_paths(), *library_paths()])
        references = [p for p in reference_locations() if any(_inside(p, k) for k in keep)]
        plan = {"level": level, "stage": str(stage), "workdir": inside_workdir,
                "masks": [[p, 0] for p in hidden_paths(Path(self.course_root) if self.course_root else None)]
                + [[p, tmp_bytes] for p in PRIVATE_TMP],
                "masks_after_keep": references, "keep": keep, "uid": uid, "gid": gid, "limits": limits,
                "tmp_bytes": tmp_bytes, "env": env, "argv": kernel_cmd,
                "cgroup_procs": self.group.procs_files if self.group is not None else []}
        launcher = str(stage / "launch.py")
        if level == "bubblewrap":
            plan["wrapper"] = bubblewrap_command(plan, launcher)
        elif level == "namespace":
            plan["wrapper"] = ["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child", "--mount-proc", "--",
                               sys.executable, "-I", "-S", launcher, "inner", str(stage / "plan.json")]
        else:
            plan["wrapper"] = []
        network = "none (own network namespace, loopback only)" if level != "limits" else "the host's (no namespace)"
        self.report = {"isolation": level if uid is not None or level != "limits" else f"{level}, grader's user",
                       "uid": uid, "limits": dict(limits, tmp_bytes=tmp_bytes), "memory": memory,
                       "network": network, "transport": "ipc (Unix sockets in the submission's folder)"}
        return plan

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        level = best_level(self.level)
        plan = self._plan(kernel_cmd, kw.get("cwd") or os.getcwd(), level)
        plan_file = self.stage / "plan.json"
        plan_file.write_text(json.dumps(plan))
        plan_file.chmod(0o600)
        kw["cwd"] = str(self.stage)
        kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        await super()._async_launch_kernel([sys.executable, "-I", "-S", str(self.stage / "launch.py"), "outer",
                                            str(plan_file)], **kw)

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt by message: a signal to the launcher's process group does not enter the sandbox."""
        if self.has_kernel:
            self._connect_control_socket()
            self.session.send(self._control_socket, self.session.msg("interrupt_request", content={}))
            return
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel

    def oom_killed(self) -> bool:
        """True when the submission's memory limit stopped one of its processes."""
        return self.group is not None and self.group.oom_killed()

    def _kernel_pid(self) -> int | None:
        """The kernel's process: the oldest carrying the token (every other one is started by it, later)."""
        return min(processes_with_token(self.token), key=start_time, default=None)

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
        """Kill whatever the submission left running and discard its files and its cgroup."""
        if self.group is not None:
            self.group.remove()
            self.group = None
        if self.token:
            for pid in processes_with_token(self.token):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.token = None
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None
