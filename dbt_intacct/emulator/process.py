"""The emulator as a child process, for tests that kill it (SIGKILL) and start it again."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from dbt_intacct.emulator.admin import EmulatorAdmin
from dbt_intacct.emulator.config import ADMIN_PATH, GATEWAY_PATH

_URL = re.compile(r"(http://\S+?)" + re.escape(GATEWAY_PATH))


class EmulatorProcessError(RuntimeError):
    """The child process did not start, or died before printing its URL."""


class EmulatorProcess:
    """``python -m dbt_intacct.emulator --port 0`` in a child process.

    The first start picks a free port; ``restart`` comes back on the same port and data directory, so
    a client's configured endpoint stays valid across a crash.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        extra_args: Sequence[str] = (),
        reference_data: Path | None = None,
        host: str = "127.0.0.1",
        start_timeout: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.extra_args = tuple(extra_args)
        self.reference_data = reference_data
        self.host = host
        self.start_timeout = start_timeout
        self.env = env
        self.port = 0
        self.url = ""
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None
        self.output: list[str] = []  # what the child printed (it never prints secrets)

    @property
    def pid(self) -> int:
        """The child's process ID."""
        if self._process is None:
            raise EmulatorProcessError("the emulator process is not running")
        return self._process.pid

    @property
    def admin_url(self) -> str:
        """``http://HOST:PORT/_emulator``."""
        return self.base_url + ADMIN_PATH

    @property
    def admin(self) -> EmulatorAdmin:
        """A client of the admin API."""
        return EmulatorAdmin(self.admin_url)

    def command(self) -> list[str]:
        """The command line the child runs."""
        args = [sys.executable, "-m", "dbt_intacct.emulator", "--host", self.host, "--port", str(self.port)]
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        if self.reference_data is not None:
            args += ["--reference-data", str(self.reference_data)]
        return args + list(self.extra_args)

    def start(self) -> EmulatorProcess:
        """Start the child and wait for its URL line; returns self."""
        if self._process is not None and self._process.poll() is None:
            raise EmulatorProcessError("the emulator process is already running")
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        url = self._wait_for_url(self._process)
        self.url = url
        self.base_url = url[: -len(GATEWAY_PATH)]
        self.port = int(self.base_url.rsplit(":", 1)[1])
        return self

    def _wait_for_url(self, process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        found: list[str] = []
        ready = threading.Event()
        reader = threading.Thread(target=self._read, args=(process.stdout, found, ready), daemon=True)
        reader.start()
        if not ready.wait(self.start_timeout) or not found:
            self._kill_quietly(process)
            printed = "".join(self.output[-20:])
            raise EmulatorProcessError(f"the emulator did not print its URL; it printed:\n{printed}")
        return found[0]

    def _read(self, stream: IO[str], found: list[str], ready: threading.Event) -> None:
        # Keep draining the pipe for the child's whole life so that it never blocks on a full pipe.
        for line in stream:
            self.output.append(line)
            match = _URL.search(line)
            if match and not found:
                found.append(match.group(1) + GATEWAY_PATH)
                ready.set()
        ready.set()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self._process is not None:
            self._kill_quietly(self._process)
            self._process = None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        if self._process is None:
            return None
        process, self._process = self._process, None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_quietly(process)
            return process.returncode

    def restart(self) -> EmulatorProcess:
        """Kill the child if it runs, then start it again on the same port and data directory."""
        self.kill()
        return self.start()

    @staticmethod
    def _kill_quietly(process: subprocess.Popen[str]) -> None:
        if process.poll() is None:
            process.kill()
        process.wait(10)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
