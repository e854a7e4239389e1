"""One control group per submission: its memory (resident, tmpfs included) and process count together.

An rlimit counts one process at a time and, for memory, address space: three processes of 2.8 GB
each pass a "4 GiB" ``RLIMIT_AS``, while a CUDA context (which reserves far more address space than
it uses) fails it. A cgroup counts what the whole submission really holds: every process it starts,
their resident memory and the files it writes to its private tmpfs. Where the ``cpu`` controller is
there too, the group also gets its own CPU share: the scheduler divides the CPUs equally between the
submissions graded at once, so one that starts a hundred busy threads slows only itself.

Both cgroup versions are handled: v2 (one unified tree, ``memory.max``, ``pids.max``) and v1 (a
``memory`` and a ``pids`` hierarchy, ``memory.limit_in_bytes``, ``pids.max``). The group is made as a
child of the grading process's own group (so a grader already confined by a container or a CI job
stays inside its limits) and joined by the launcher before anything of the learner's runs; its
children inherit it. Needs root (or a delegated subtree); :func:`available` says what this machine
allows.
"""
from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str | None) -> str | None:
    """This process's path in the hierarchy of ``controller`` (None: the v2 unified tree)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or (controller in controllers.split(",")):
            return path
    return None


def _v2_base() -> Path | None:
    if not (ROOT / "cgroup.controllers").is_file():
        return None
    own = _own_path(None)
    if own is None:
        return None
    base = ROOT / own.lstrip("/")
    enabled = (base / "cgroup.subtree_control").read_text().split() if (base / "cgroup.subtree_control").is_file() else []
    return base if {"memory", "pids"} <= set(enabled) and os.access(base, os.W_OK) else None


def _v1_base(controller: str) -> Path | None:
    own = _own_path(controller)
    folder = ROOT / controller
    if own is None or not folder.is_dir():
        return None
    base = folder / own.lstrip("/")
    return base if base.is_dir() and os.access(base, os.W_OK) else None


def available() -> str:
    """``"v2"``, ``"v1"`` or ``""``: which per-submission memory and process limits this machine allows."""
    if _v2_base() is not None:
        return "v2"
    if _v1_base("memory") is not None and _v1_base("pids") is not None:
        return "v1"
    return ""


@dataclass
class SubmissionGroup:
    """The cgroup(s) of one submission: create, join (from the launcher), inspect, kill, remove."""

    version: str
    folders: list[Path] = field(default_factory=list)

    @classmethod
    def create(cls, memory_bytes: int, processes: int) -> "SubmissionGroup | None":
        """A new group with these limits, or None where this machine has no writable cgroups."""
        version = available()
        name = f"nncourse-{secrets.token_hex(6)}"
        try:
            if version == "v2":
                folder = _v2_base() / name
                folder.mkdir()
                group = cls(version, [folder])
                (folder / "memory.max").write_text(str(memory_bytes))
                if (folder / "memory.swap.max").exists():
                    (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(processes))
                return group
            if version == "v1":
                memory, pids = _v1_base("memory") / name, _v1_base("pids") / name
                memory.mkdir()
                group = cls(version, [memory])
                pids.mkdir()
                group.folders.append(pids)
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                if (memory / "memory.memsw.limit_in_bytes").exists():  # swap accounting on: no swap either
                    (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                (pids / "pids.max").write_text(str(processes))
                group._add_cpu_share(name)
                return group
        except OSError:
            if "group" in locals():
                group.remove()
            return None
        return None

    def _add_cpu_share(self, name: str) -> None:
        """v1: a group of its own in the ``cpu`` hierarchy too, where there is one (the default share)."""
        base = _v1_base("cpu")
        if base is None:
            return
        try:
            (base / name).mkdir()
        except OSError:
            return
        self.folders.append(base / name)

    @property
    def cpu_share(self) -> bool:
        """Whether the submission has a CPU share of its own (v2: the cpu controller is on for its group)."""
        if self.version == "v2":
            try:
                return "cpu" in (self.folders[0] / "cgroup.controllers").read_text().split()
            except OSError:
                return False
        return len(self.folders) > 2

    @property
    def procs_files(self) -> list[str]:
        """What the launcher writes its own pid to, to put itself (and all it starts) in the group."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def describe(self, memory_bytes: int, processes: int) -> str:
        share = "; its own equal share of the CPUs" if self.cpu_share else ""
        return (f"cgroup {self.version}: {memory_bytes / 2**30:g} GiB of resident memory (tmpfs included) and "
                f"{processes} processes for the whole submission{share}")

    def pids(self) -> list[int]:
        found = set()
        for folder in self.folders:
            try:
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                continue
        return sorted(found)

    def oom_killed(self) -> bool:
        """True when the kernel's OOM killer stopped a process of this group (its memory limit)."""
        memory = self.folders[0]
        for name in ("memory.events", "memory.oom_control"):
            try:
                text = (memory / name).read_text()
            except OSError:
                continue
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and value.strip() not in ("", "0"):
                    return True
        if self.version == "v1":
            try:  # older kernels have no oom_kill counter: the limit was hit
                return int((memory / "memory.failcnt").read_text()) > 0 and \
                    int((memory / "memory.max_usage_in_bytes").read_text()) >= \
                    int((memory / "memory.limit_in_bytes").read_text()) - 2**20
            except (OSError, ValueError):
                return False
        return False

    def kill_all(self) -> int:
        """SIGKILL every process still in the group; how many there were."""
        killed = 0
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return killed
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
            time.sleep(0.02)
        return killed

    def remove(self) -> None:
        """Kill what is left and remove the group (a group with processes cannot be removed)."""
        self.kill_all()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
