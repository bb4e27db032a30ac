"""Files and folders that appear complete or not at all.

Every output the product writes outside the lake (model folders, report pages and tables,
exports) is written under a temporary name in the destination's own folder and then renamed over
it: a rename within one file system is atomic, so a reader, or a run killed half-way, sees the
previous file or the new one, never a truncated one. Leftover temporary names start with a dot.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path


def _temporary_name(target: Path, kind: str) -> Path:
    # pid first: a later run can tell a dead run's leftovers from a live one's (`_remove_stale`)
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def write_atomic(target: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)``, then rename the result to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(target, "tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(target: Path, text: str, encoding: str = "utf-8") -> Path:
    return write_atomic(target, lambda path: path.write_text(text, encoding=encoding))


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not glibc >= 2.28 / not Linux
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # file system without exchange
        return False
    raise OSError(code, os.strerror(code), str(b))


def _remove_stale(target: Path) -> None:
    """Delete staging folders of ``target`` left by runs that were killed (their pid is gone)."""
    for leftover in target.parent.glob(f".{target.name}.new-*"):
        pid = leftover.name.removeprefix(f".{target.name}.new-").split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def replaced_dir(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; when the block ends without an error, it takes
    ``target``'s place in one step (the previous folder is then deleted). On an error or a kill
    the previous folder stays as it was."""
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()  # replace the folder the link points to, keep the link
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.name == "posix" and Path("/proc/self").exists():
        _remove_stale(target)
    staging = _temporary_name(target, "new")
    staging.mkdir()
    try:
        yield staging
        if not target.exists():
            os.rename(staging, target)
        elif _exchange(staging, target):
            shutil.rmtree(staging, ignore_errors=True)  # it holds the previous folder now
        else:
            # Without an atomic swap there is a moment with no folder at ``target``; the previous
            # one is kept aside until the new one is in place.
            previous = _temporary_name(target, "old")
            os.rename(target, previous)
            try:
                os.rename(staging, target)
            except BaseException:
                os.rename(previous, target)
                raise
            shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
