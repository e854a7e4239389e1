"""Start a learner's kernel inside the sandbox: ``python -I -S sandbox_launch.py PLAN.json``.

Run by :mod:`autograder.grading.sandbox`, as the grader's user, before any learner code exists. Standard
library only, so it runs with the site directory switched off. In ``namespace`` mode it is already
inside fresh mount and PID namespaces (``unshare``); it then

1. hides every path in ``masks`` under an empty tmpfs (the repository with the reference library and
   the exercise definitions, the course directory with the gradebook, the secret and every other
   student's files, the grader's home, ``/tmp``),
2. binds back read-only the paths in ``keep`` (the Python installation the kernel needs),
3. binds the staging folder (a copy of the submission, a home, the connection file, the learner
   package) at ``/tmp/nncourse-sandbox`` and the submission copy at the notebook's own path,

and in both modes sets the resource limits, drops to the unprivileged user and group (when started
as root) and replaces itself with the kernel, with a clean environment.
"""
import ctypes
import json
import os
import resource
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
INSIDE = "/tmp/nncourse-sandbox"
LIMITS = {"memory_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
          "processes": resource.RLIMIT_NPROC, "file_bytes": resource.RLIMIT_FSIZE,
          "open_files": resource.RLIMIT_NOFILE, "core_bytes": resource.RLIMIT_CORE}
_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None):
    encode = lambda s: s.encode() if s is not None else None  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _bind_readonly(fd, target):
    os.makedirs(target, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def build_namespace(plan):
    """Steps 1-3 of the module docstring; returns the staging folder's path inside."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = {path: os.open(path, os.O_RDONLY | os.O_DIRECTORY) for path in plan["keep"] if os.path.isdir(path)}
    stage = os.open(plan["stage"], os.O_RDONLY | os.O_DIRECTORY)
    for path in plan["masks"]:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" if path == "/tmp" else "mode=755")
    for path, fd in keep.items():
        _bind_readonly(fd, path)
        os.close(fd)
    os.makedirs(INSIDE, exist_ok=True)
    _mount(f"/proc/self/fd/{stage}", INSIDE, None, MS_BIND)
    os.close(stage)
    os.makedirs(plan["workdir"], exist_ok=True)
    _mount(INSIDE + "/work", plan["workdir"], None, MS_BIND)
    return INSIDE


def main(plan_path):
    with open(plan_path) as f:
        plan = json.load(f)
    stage = build_namespace(plan) if plan["level"] == "namespace" else plan["stage"]
    workdir = plan["workdir"] if plan["level"] == "namespace" else stage + "/work"
    for name, value in plan["limits"].items():
        resource.setrlimit(LIMITS[name], (value, value))
    if os.geteuid() == 0 and plan.get("uid") is not None:
        os.setgroups([])
        os.setgid(plan["gid"])
        os.setuid(plan["uid"])
    os.chdir(workdir)
    env = {key: value.replace("{stage}", stage) for key, value in plan["env"].items()}
    argv = [arg.replace("{stage}", stage) for arg in plan["argv"]]
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main(sys.argv[1])
