"""Artifacts are replaced atomically: a full disk or a read-only directory keeps the previous file whole."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from dbt_intacct.artifacts import write_text_atomically
from dbt_intacct.errors import ArtifactError, DbtIntacctError

NOBODY = 65534


@pytest.fixture
def directory() -> Iterator[Path]:
    """A directory anyone may enter (under /tmp, not pytest's private tmp_path), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="dbt-intacct-artifacts-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path)


def leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_a_new_file_is_written_and_an_old_one_replaced(directory: Path) -> None:
    target = directory / "target" / "intacct_run_results.json"
    write_text_atomically(target, '{"status": "success"}\n')
    assert target.read_text(encoding="utf-8") == '{"status": "success"}\n'
    target.chmod(0o640)  # a file the user restricted stays restricted
    write_text_atomically(target, "naïve ✓\n")
    assert target.read_bytes() == "naïve ✓\n".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(target.parent, target.name) == []


def test_a_full_disk_keeps_the_previous_file_and_says_what_to_do(directory: Path) -> None:
    target = directory / "intacct_run_results.json"
    target.write_text("previous run\n", encoding="utf-8")

    def full_disk(file: BinaryIO, data: bytes) -> None:
        file.write(data[:10])  # part of it went out before the disk filled up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ArtifactError) as caught:
        write_text_atomically(target, "x" * 100_000, write=full_disk)
    message = str(caught.value)
    assert str(target) in message and "No space left on device" in message
    assert "free some space" in message and "previous intacct_run_results.json is unchanged" in message
    assert isinstance(caught.value, DbtIntacctError)
    assert target.read_text(encoding="utf-8") == "previous run\n"
    assert leftovers(directory, target.name) == []


def run_as_nobody(action: Callable[[], None]) -> str:
    """Run `action` in a child process without root's power to write anywhere; its error, or ''."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child reports through the pipe and exits
        outcome = ""
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            action()
        except BaseException as exc:  # whatever happens goes back to the parent
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(child, 0)
    return outcome


@pytest.mark.parametrize("existing", [True, False])
def test_a_read_only_directory_keeps_the_previous_file_and_says_what_to_do(
    directory: Path, existing: bool
) -> None:
    target = directory / "intacct_report.html"
    if existing:
        target.write_text("<p>previous report</p>\n", encoding="utf-8")
    directory.chmod(0o555)

    def write() -> None:
        write_text_atomically(target, "<p>new report</p>\n")

    if os.geteuid() == 0:  # root writes through any mode bits: try as an ordinary user
        outcome = run_as_nobody(write)
    else:
        with pytest.raises(ArtifactError) as caught:
            write()
        outcome = f"ArtifactError: {caught.value}"
    assert outcome.startswith("ArtifactError: "), outcome
    assert str(target) in outcome and "Permission denied" in outcome
    assert f"make {directory} writable" in outcome
    if existing:
        assert "previous intacct_report.html is unchanged" in outcome
        assert target.read_text(encoding="utf-8") == "<p>previous report</p>\n"
    else:
        assert "Nothing was written" in outcome
        assert not target.exists()
    assert leftovers(directory, target.name) == []


def test_a_directory_in_the_way_is_a_clear_error(directory: Path) -> None:
    target = directory / "intacct_report.html"
    target.mkdir()
    with pytest.raises(ArtifactError, match=r"intacct_report\.html: Is a directory"):
        write_text_atomically(target, "<p>report</p>\n")
    assert leftovers(directory, target.name) == []
