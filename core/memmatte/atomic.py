"""Nothing half-written: every output goes to a temporary name in its folder, then is renamed.

This module owns the temporary names: ``.<stem>.<host>-<pid>-<random>.tmp<suffix>``, so a
later run can tell which final file a temporary belongs to and which process made it, and
removes only temporaries whose maker is gone (never those of a render still running).
"""
from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_MARK = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def owner(pid: int | None = None) -> str:
    """``<host>-<pid>`` as temporary names carry it (this process by default)."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid() if pid is None else pid}"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    On any error the temporary file is removed and an existing ``path`` is left as it was.
    The suffix is kept so that writers choosing a format by extension still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{owner()}-",
                               suffix=f"{_MARK}{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
