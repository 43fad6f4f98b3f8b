"""A lock per output folder, so renders sharing a folder never remove each other's files.

Every render holds the folder's lock shared while it runs (farm chunks of one shot may write
into one folder at once); cleaning up the temporaries a killed run left needs it exclusively,
which a render only gets when no other holds the folder. The OS drops the lock when a process
dies, so a killed render never leaves the folder locked. The lock file sits in the
system's temporary folder, named by the output folder, so output folders hold frames only.
OS file locks are per machine; temporaries of other machines are told apart by their names
(``memmatte.atomic``).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from types import TracebackType


def lock_file(folder: Path) -> Path:
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:24]
    locks = Path(tempfile.gettempdir()) / "memmatte-locks"
    locks.mkdir(exist_ok=True)
    if os.name == "posix":
        # Shared by every user of the machine, as the system's temporary folder is (sticky:
        # nobody removes another's locks); its maker opens it up (older versions did not).
        st = locks.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o1777 != 0o1777:
            try:
                os.chmod(locks, 0o1777)
            except OSError:
                pass
    return locks / f"{digest}.lock"


class FolderLock:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = lock_file(folder)
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:  # another user's lock file: flock works on a read-only one
            self._fd = os.open(self.path, os.O_RDONLY)
        self._lock(exclusive=False, wait=True)
        return self

    def alone(self) -> bool:
        """True if no other render holds the folder (then it is held exclusively until
        ``share()``)."""
        if self._lock(exclusive=True, wait=False):
            return True
        # flock converts by dropping the shared lock first: take it back.
        self.share()
        return False

    def share(self) -> None:
        self._lock(exclusive=False, wait=True)

    def _lock(self, exclusive: bool, wait: bool) -> bool:
        assert self._fd is not None
        if os.name == "nt":  # pragma: no cover - msvcrt has no shared locks: one writer
            import msvcrt

            if not exclusive:
                return True
            try:
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                return False
            msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
            return True
        import fcntl

        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(self._fd, mode | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None
