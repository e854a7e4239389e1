"""A throwaway PostgreSQL server for tests: Debian's ``postgresql`` binaries, a private data directory.

``start_server()`` runs ``initdb`` into a fresh temporary directory and starts the server there with
``pg_ctl``; ``PostgresServer.stop()`` stops it and removes the directory. No system cluster is touched
(no ``pg_ctlcluster``, no systemd): the server listens only on a unix socket inside that directory
(no TCP at all), trusts every local connection, and runs with ``fsync`` off, since its data is thrown
away. Every server has its own socket directory, so parallel test sessions (pytest-xdist) never collide.

PostgreSQL refuses to run as root. When the tests run as root, ``initdb`` and ``pg_ctl`` run as the
``postgres`` system user that Debian's package creates (``subprocess`` switches user, no ``su``), and
the temporary directory is handed to that user; the tests still connect as themselves.

The binaries are ``/usr/lib/postgresql/<version>/bin/`` (Debian, newest version first), else ``initdb``
on PATH (other distributions). The ``postgres_url`` fixture skips with a one-line reason when they are
missing, or fails with it when ``NNCOURSE_REQUIRE_POSTGRES=1`` (set by ``.ci/run`` once it has
installed the package); any other problem starting the server is a failure.
"""
from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

DEBIAN_SERVERS = Path("/usr/lib/postgresql")
TOOLS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "nncourse"  # the database role the tests connect as (trust authentication)
PORT = 5432  # names the socket file only: the server has no TCP listener
SOCKET_PATH_MAX = 107  # sun_path of a unix socket, less its final NUL
START_TIMEOUT_S = 60
MISSING = "Debian's postgresql is not installed: apt-get install postgresql"

# Appended to the new cluster's postgresql.conf; {socket_dir} is quoted for it.
SERVER_SETTINGS = """
listen_addresses = '{listen}'
unix_socket_directories = '{socket_dir}'
port = {port}
fsync = off
synchronous_commit = off
full_page_writes = off
"""


class PostgresMissing(RuntimeError):
    """The server binaries or the Python driver are not installed."""


class PostgresError(RuntimeError):
    """The binaries are here but the server could not be set up, started or stopped."""


def find_server_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: Debian's newest version, else PATH's."""
    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in folder.name.split(".") if part.isdigit())

    installed = sorted((d for d in DEBIAN_SERVERS.glob("*") if (d / "bin").is_dir()), key=version, reverse=True)
    on_path = shutil.which("initdb")
    candidates = [d / "bin" for d in installed] + ([Path(on_path).resolve().parent] if on_path else [])
    return next((bin_dir for bin_dir in candidates if all((bin_dir / tool).is_file() for tool in TOOLS)), None)


@dataclass
class PostgresServer:
    """A running throwaway server: its binaries, its temporary directory and who runs it."""

    bin_dir: Path
    base: Path  # data/ (the cluster), socket/ and server.log live here
    run_as: pwd.struct_passwd | None  # the system user the server runs as; None: the current user
    port: int = PORT  # names the socket file; with a TCP listener, also its port on 127.0.0.1

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "socket"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server, as nbgrader's ``db_url`` takes it."""
        return f"postgresql+psycopg2://{SUPERUSER}@/{database}?host={quote(str(self.socket_dir))}&port={self.port}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        import psycopg2  # here, not at the top: without it the module still imports and the fixture skips
        from psycopg2 import sql

        connection = psycopg2.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres")
        try:
            connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            connection.close()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediate shutdown: its data is thrown away) and remove its directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                _run(self, [self.bin_dir / "pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop"], "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _run(server: PostgresServer, command: list, what: str) -> None:
    """Run a server tool as the server's user; a failure raises PostgresError with its last line."""
    user = {} if server.run_as is None else {
        "user": server.run_as.pw_uid, "group": server.run_as.pw_gid, "extra_groups": []}
    env = dict(os.environ, LC_ALL="C")
    result = subprocess.run([str(part) for part in command], cwd=server.base, env=env,
                            capture_output=True, text=True, **user)
    if result.returncode != 0:
        log = server.log_file.read_text(errors="replace") if server.log_file.exists() else ""
        lines = [line.strip() for line in (result.stderr + log + result.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "FATAL" in line or "error" in line.lower()]
        said = (errors or lines or ["no output"])[-1]
        if server.run_as is not None and "Permission denied" in said:
            said += f" (it runs as the {server.run_as.pw_name!r} user: set TMPDIR to a folder it can reach)"
        raise PostgresError(f"PostgreSQL {what} failed: {said}")


def _server_user() -> pwd.struct_passwd | None:
    """The system user to run the server as: ``postgres`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError("running as root, and there is no 'postgres' system user to run PostgreSQL as: "
                            "reinstall Debian's postgresql package or run the tests as another user") from None


def start_server(tcp_port: int | None = None) -> PostgresServer:
    """Initialise a cluster in a new temporary directory and start a server on it; ``stop()`` it when done.

    ``tcp_port`` also listens on 127.0.0.1 at that port, trusting every connection (what ``initdb
    --auth=trust`` sets up), as a careless instructor's gradebook server would: the grading sandbox's
    tests use it as a target that learner code must not reach.

    Raises PostgresMissing when the binaries or psycopg2 are not installed, PostgresError when they
    are but the server does not come up.
    """
    bin_dir = find_server_binaries()
    if bin_dir is None:
        raise PostgresMissing(MISSING)
    if importlib.util.find_spec("psycopg2") is None:
        raise PostgresMissing("psycopg2 is not installed: pip install psycopg2-binary")
    run_as = _server_user()
    server = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="nncourse-pg-")), run_as, tcp_port or PORT)
    try:
        socket_file = server.socket_dir / f".s.PGSQL.{server.port}"
        if len(str(socket_file)) > SOCKET_PATH_MAX:
            raise PostgresError(f"the socket path {socket_file} is too long for a unix socket: "
                                "set TMPDIR to a shorter folder")
        server.socket_dir.mkdir()
        if run_as is not None:
            for folder in (server.base, server.socket_dir):
                os.chown(folder, run_as.pw_uid, run_as.pw_gid)
        _run(server, [bin_dir / "initdb", "-D", server.data_dir, "-U", SUPERUSER, "--auth=trust",
                      "--encoding=UTF8", "--locale=C", "--no-sync"], "initdb")
        with open(server.data_dir / "postgresql.conf", "a") as conf:
            conf.write(SERVER_SETTINGS.format(socket_dir=str(server.socket_dir).replace("'", "''"), port=server.port,
                                              listen="127.0.0.1" if tcp_port else ""))
        if tcp_port:
            with open(server.data_dir / "pg_hba.conf", "a") as hba:
                hba.write("host all all 127.0.0.1/32 trust\n")
        _run(server, [bin_dir / "pg_ctl", "-D", server.data_dir, "-l", server.log_file,
                      "-w", "-t", START_TIMEOUT_S, "start"], "start")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway server for the whole session (see the module docstring for when it skips)."""
    missing = failed = None
    try:
        server = start_server()
    except PostgresMissing as error:
        missing = str(error)
    except PostgresError as error:
        failed = str(error)
    if missing and os.environ.get("NNCOURSE_REQUIRE_POSTGRES") == "1":
        failed = f"{missing} (NNCOURSE_REQUIRE_POSTGRES=1)"
    if failed:
        pytest.fail(failed, pytrace=False)
    if missing:
        pytest.skip(missing)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    """The SQLAlchemy URL of an empty database ``nbgrader`` on the session's throwaway server."""
    return postgres_server.create_database("nbgrader")
