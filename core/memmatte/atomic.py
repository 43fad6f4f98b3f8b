"""Nothing half-written: every output goes to a temporary name in its folder, then is renamed.

Durable too: the temporary's bytes are flushed to the disk (``fsync``) before the rename, and
the folder after it, so a power cut leaves either the old file or the complete new one, never
a final name over missing data. Whatever the OS refuses on the way (no space left, permission
denied, read-only file system) is raised as ``SystemFailure`` naming the final file.

This module owns the temporary names: ``.<stem>.<host>-<pid>-<random>.tmp<suffix>``, so a
later run can tell which final file a temporary belongs to and which process made it, and
removes only temporaries whose maker is gone (never those of a render still running).
"""
from __future__ import annotations

import contextlib
import errno
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # memmatte.protocol imports this module: its errors load when needed
    from .protocol.errors import SystemFailure

_MARK = ".tmp"
# fsync of a folder: some file systems (and Windows) cannot, which costs durability, not data.
_NO_FOLDER_SYNC = (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES, errno.EPERM)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def owner(pid: int | None = None) -> str:
    """``<host>-<pid>`` as temporary names carry it (this process by default)."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid() if pid is None else pid}"


def fsync_file(path: str | Path) -> None:
    """Flush a closed file's bytes to the disk (where a full disk often first says so)."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: str | Path) -> None:
    """Flush a folder's entries (a rename) to the disk; a no-op where folders cannot be."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno in _NO_FOLDER_SYNC:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_FOLDER_SYNC:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it, rename it over ``path``
    and fsync the folder.

    On any error the temporary file is removed and an existing ``path`` is left as it was;
    an ``OSError`` of these steps (or of the writer) becomes ``SystemFailure`` naming
    ``path``. The suffix is kept so that writers choosing a format by extension still work.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{owner()}-",
                                   suffix=f"{_MARK}{path.suffix}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        made = exc.filename is not None and Path(os.fspath(exc.filename)).parent == path.parent
        raise _failure(exc, path, os.fspath(exc.filename) if made else None) from exc
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _failure(exc, path, tmp) from exc
        raise
    try:
        fsync_folder(path.parent)
    except OSError as exc:
        raise _failure(exc, path.parent, None) from exc


def _failure(exc: OSError, path: Path, tmp: str | None) -> SystemFailure:
    from .protocol.errors import from_os_error

    if tmp is not None and exc.filename is not None and os.fspath(exc.filename) == tmp:
        exc.filename = None  # the user knows the final name, not the temporary's
    return from_os_error(exc, "cannot write", path)


def _parse(name: str) -> tuple[str, str, int] | None:
    """(stem, host, pid) of a temporary's file name, or None for any other file. Names of
    older versions (no maker in them) give host "" and pid 0: nobody can vouch for them."""
    if not name.startswith(".") or _MARK not in name:
        return None
    body = name[1:name.rfind(_MARK)]
    # body = <stem>.<host>-<pid>-<random>: host has no dots or dashes, random no dashes.
    parts = body.rsplit("-", 2)
    if len(parts) == 3 and parts[1].isdigit() and "." in parts[0]:
        stem, host = parts[0].rsplit(".", 1)
        return stem, host, int(parts[1])
    if "." not in body:
        return None
    return body.rsplit(".", 1)[0], "", 0


def _alive(host: str, pid: int) -> bool:
    if host != owner().rsplit("-", 1)[0]:
        return True  # another machine's: cannot tell, so keep it
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temporaries(finals: Iterable[Path], everyone: bool = False) -> list[Path]:
    """Temporaries beside ``finals`` that belong to them; only those whose maker has exited
    unless ``everyone`` (the caller knows no other writer uses the folder)."""
    by_folder: dict[Path, set[str]] = {}
    for p in finals:
        by_folder.setdefault(p.parent, set()).add(p.stem)
    found = []
    for folder, stems in by_folder.items():
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            parsed = _parse(entry.name)
            if parsed is None or parsed[0] not in stems:
                continue
            if everyone or not _alive(parsed[1], parsed[2]):
                found.append(entry)
    return found
