"""`dbt-intacct sync` as a child process that a test can watch line by line and SIGKILL at any moment."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.support.project import DbtProject

REPO_ROOT = Path(__file__).resolve().parents[2]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The sync's progress lines (dbt_intacct/observe/console.py): a model starts, a batch is acknowledged
# (only on a terminal, which TTY_COMPATIBLE=1 makes rich assume), a model ends.
START_LINE = re.compile(r"^\d\d:\d\d:\d\d\s+(?:\d+ of \d+ )?START (\S+)")
PROGRESS_LINE = re.compile(r"^\d\d:\d\d:\d\d\s+(\S+): sent (\d+)(?:/| of )(\d+), acknowledged (\d+)")
FINISHED_LINE = re.compile(r"^\d\d:\d\d:\d\d\s+(OK|WARN|ERROR)\s+(\S+):")


@dataclass(frozen=True)
class Line:
    at: float  # time.monotonic() when it was read
    text: str


class SyncProcess:
    """One `dbt-intacct sync` (or any other subcommand) of a project, in its own process group."""

    def __init__(
        self,
        project: DbtProject,
        *args: str,
        command: str = "sync",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.project = project
        self.args = (command, *args, "--project-dir", str(project.root), "--profiles-dir", str(project.root))
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            "TTY_COMPATIBLE": "1",  # rich prints the per-batch progress lines it shows on a terminal
            "NO_COLOR": "1",
            **(env or {}),
        }
        self.lines: list[Line] = []
        self.stderr = ""
        self.started_at = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._changed = threading.Condition()
        self._readers: list[threading.Thread] = []

    def start(self) -> SyncProcess:
        self.started_at = time.monotonic()
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from dbt_intacct.cli import main; main()", *self.args],
            cwd=self.project.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: the kill reaches anything it started
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        return self

    def _read_stdout(self, stream: IO[bytes]) -> None:
        buffer = b""
        while True:
            # os.read returns what is there now: a progress line is seen the moment it is printed.
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            # Progress lines end in "\r" (rewritten in place on a terminal); the others in "\n".
            *complete, buffer = re.split(rb"[\r\n]", buffer)
            with self._changed:
                for raw in complete:
                    text = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
                    if text:
                        self.lines.append(Line(time.monotonic(), text))
                self._changed.notify_all()
        with self._changed:
            if buffer.strip():
                self.lines.append(Line(time.monotonic(), _ANSI.sub("", buffer.decode("utf-8", "replace"))))
            self._changed.notify_all()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        self.stderr = stream.read().decode("utf-8", "replace")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> Line | None:
        """The first line (from the start) matching `pattern`, waiting for it while the process lives."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if pattern.search(line.text):
                        return line
                seen = len(self.lines)
                if not self.running() and all(not r.is_alive() for r in self._readers[:1]):
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(min(remaining, 0.1))

    def kill(self) -> float:
        """SIGKILL the whole process group, as a crash or `kill -9` would; returns when it happened."""
        assert self._process is not None
        at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):  # it had already exited
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(30)
        self._join()
        return at

    def signal(self, number: int) -> float:
        """Send a signal to the sync's process (SIGINT as Ctrl-C would, SIGTERM as a CI runner would)."""
        assert self._process is not None
        at = time.monotonic()
        os.kill(self._process.pid, number)
        return at

    def wait(self, timeout: float = 600) -> int:
        """Wait for the process to end by itself; returns its exit code."""
        assert self._process is not None
        code = self._process.wait(timeout)
        self._join()
        return code

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(10)

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    @property
    def output(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def last_line(self, before: float | None = None) -> str:
        with self._changed:
            lines = [line for line in self.lines if before is None or line.at <= before]
        return lines[-1].text if lines else ""

    def lines_before(self, moment: float) -> Sequence[Line]:
        with self._changed:
            return [line for line in self.lines if line.at <= moment]


def build_released(project: DbtProject) -> None:
    """`dbt build` in this process, then let go of the DuckDB file so that a child process can open it.

    dbt-duckdb keeps its database open in a class-level environment after a command; DuckDB lets only
    one process hold a file, and the sync under test runs in another.
    """
    project.build()
    release_duckdb(project)


def release_duckdb(project: DbtProject) -> None:
    """Let go of the DuckDB file dbt-duckdb keeps open after a command run in this process."""
    if project.warehouse != "duckdb":
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
