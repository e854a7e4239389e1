"""The course's secret: what the hidden cases of one course are drawn from.

Created on first use as ``.nncourse_secret`` in the nbgrader course directory (mode 0600, ignored
by git), or wherever ``$NNCOURSE_SECRET_FILE`` says. The public repository holds no secret, so it
reveals no hidden case, and two courses get different ones. Keep it with the gradebook: grading
again with another secret draws other hidden cases.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

FILENAME = ".nncourse_secret"


def secret_path(course_root: Path) -> Path:
    named = os.environ.get("NNCOURSE_SECRET_FILE")
    return Path(named) if named else Path(course_root) / FILENAME


def load_or_create(course_root: Path) -> str:
    """The course's secret, created (readable by its owner only) if there is none yet."""
    path = secret_path(course_root)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text().strip()
        if len(text) < 32:
            raise ValueError(f"{path} is not a course secret (too short); delete it to make a new one") from None
        return text
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()
