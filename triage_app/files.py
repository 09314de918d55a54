"""File moves that never lose or duplicate a file, and store paths no crafted UID can escape."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from pathlib import Path

_SAFE = re.compile(r"[^0-9A-Za-z._-]")


def safe_component(uid: str) -> str:
    """A path component made from a UID: only ``[0-9A-Za-z._-]``, never ``.``/``..``, at most 80 chars.

    A valid UID (digits and dots) maps to itself; anything else gets a hash suffix so two different
    crafted values can never collide on the same file.
    """
    cleaned = _SAFE.sub("_", uid)[:64].strip(".")
    if cleaned != uid or not cleaned:
        cleaned = f"{cleaned or 'x'}_{hashlib.sha256(uid.encode()).hexdigest()[:12]}"
    return cleaned


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def move_file_no_overwrite(source: Path, dest: Path) -> bool:
    """Move ``source`` to ``dest`` (which must not exist) durably.

    On one file system this is one atomic ``rename``. Across file systems (an inbox on a share) the
    file is copied to a temporary name beside ``dest``, synced and renamed, and the source is left in
    place: the caller deletes it only after the database commit. Returns True when the source must
    still be deleted.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        raise FileExistsError(dest)
    try:
        os.rename(source, dest)
        fsync_dir(dest.parent)
        return False
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: different file systems
            raise
    tmp = dest.with_name(f".{dest.name}.partial")
    with open(source, "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return True


def private_file(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.chmod(0o600)
