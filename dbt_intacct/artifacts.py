"""Writing the tool's artifacts (run results, the HTML report) all at once or not at all.

A full disk, a read-only directory or a missing permission must never leave a truncated file where the
previous run's results were: the text goes to a temporary file next to the target, is flushed to disk, and
only then renamed over the target.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dbt_intacct.errors import ArtifactError


def _write_and_sync(file: BinaryIO, data: bytes) -> None:
    file.write(data)
    file.flush()
    os.fsync(file.fileno())


def write_text_atomically(
    path: Path, text: str, *, write: Callable[[BinaryIO, bytes], None] = _write_and_sync
) -> None:
    """Replace `path` with `text` (UTF-8): readers see the previous file or the new one, never a part.

    Creates the directory if needed. On failure the previous file is left as it was, no temporary file
    remains, and ArtifactError says which file, why, and what to do. `write` puts the bytes into the open
    temporary file and syncs it (tests pass one that fails the way a full disk does).
    """
    existed = path.is_file()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created like any new file (0o666 less the umask), never over an existing one.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _artifact_error(path, exc, existed) from exc
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file, text.encode("utf-8"))
        if existed:
            os.chmod(temporary, path.stat().st_mode & 0o7777)  # a file the user restricted stays so
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _artifact_error(path, exc, existed) from exc
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory; the new file is in place all the same
    finally:
        os.close(descriptor)


def _artifact_error(path: Path, exc: OSError, existed: bool) -> ArtifactError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    elsewhere = "or write it elsewhere (--target-path; --output for the report)"
    if exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        advice = f"free some space on that disk, {elsewhere}"
    elif exc.errno in {errno.EACCES, errno.EPERM}:
        advice = f"make {path.parent} writable for this user, {elsewhere}"
    elif exc.errno == errno.EROFS:
        advice = f"that file system is read-only: {elsewhere.removeprefix('or ')}"
    else:
        advice = f"check that path, {elsewhere}"
    kept = f"The previous {path.name} is unchanged" if existed else "Nothing was written"
    return ArtifactError(f"cannot write {path}: {reason}. {kept}. To fix it, {advice}.")
