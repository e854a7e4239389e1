"""Start a learner's kernel inside the sandbox: ``python -I -S sandbox_launch.py outer|inner PLAN.json``.

Run by :mod:`autograder.grading.sandbox`, as the grader's user, before any learner code exists.
Standard library only, so it runs with the site directory switched off. Two steps:

``outer`` (on the host, started by the grader)
    asks the kernel to kill it when the grader dies (``PR_SET_PDEATHSIG``, kept across ``exec``),
    joins the submission's cgroups (every process it starts inherits them), then replaces itself
    with the isolation command of the plan (``bwrap ...`` or ``unshare ...``), whose command is the
    ``inner`` step; at the ``limits`` level it goes on with the inner step itself.
``inner`` (inside the sandbox)
    in ``namespace`` mode (the fallback when bubblewrap is missing; ``unshare`` made the mount, PID
    and network namespaces) first hides every path in ``masks`` under an empty tmpfs, binds back
    read-only the paths in ``keep`` (the Python installation) and binds the staging folder and the
    submission copy; in every mode it then sets the rlimits, drops to the unprivileged user and
    group (when started as root), asks again to die with its parent (changing the uid cleared
    that) and replaces itself with the kernel, with a clean environment.
"""
import ctypes
import json
import os
import resource
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
LIMITS = {"memory_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
          "processes": resource.RLIMIT_NPROC, "file_bytes": resource.RLIMIT_FSIZE,
          "open_files": resource.RLIMIT_NOFILE, "core_bytes": resource.RLIMIT_CORE}
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """SIGKILL this process when its parent dies; exit at once if the parent is already gone."""
    parent = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


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
    """The ``namespace`` mounts (see the module docstring)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = {path: os.open(path, os.O_RDONLY | os.O_DIRECTORY) for path in plan["keep"] if os.path.isdir(path)}
    stage = os.open(plan["stage"], os.O_RDONLY | os.O_DIRECTORY)
    for path, size in plan["masks"]:
        if os.path.isdir(path):
            mode = "mode=1777" if size else "mode=755"
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"{mode},size={size or 65536}")
    for path, fd in keep.items():
        _bind_readonly(fd, path)
        os.close(fd)
    for path in plan["masks_after_keep"]:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "mode=755,size=4096")
    os.makedirs(plan["stage"], exist_ok=True)
    _mount(f"/proc/self/fd/{stage}", plan["stage"], None, MS_BIND)
    os.close(stage)
    os.makedirs(plan["workdir"], exist_ok=True)
    _mount(plan["stage"] + "/work", plan["workdir"], None, MS_BIND)


def outer(plan):
    die_with_parent()
    for procs in plan["cgroup_procs"]:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    if plan["wrapper"]:
        os.execvp(plan["wrapper"][0], plan["wrapper"])
    inner(plan)


def inner(plan):
    if plan["level"] == "namespace":
        build_namespace(plan)
    for name, value in plan["limits"].items():
        resource.setrlimit(LIMITS[name], (value, value))
    if os.geteuid() == 0 and plan.get("uid") is not None:
        os.setgroups([])
        os.setgid(plan["gid"])
        os.setuid(plan["uid"])
    die_with_parent()
    os.chdir(plan["workdir"])
    env = {key: value.replace("{stage}", plan["stage"]) for key, value in plan["env"].items()}
    argv = [arg.replace("{stage}", plan["stage"]) for arg in plan["argv"]]
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    step, plan_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        loaded = json.load(f)
    outer(loaded) if step == "outer" else inner(loaded)
