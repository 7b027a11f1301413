"""Logging set-up shared by every long-running component.

Plain text, one line per event: ``time level logger message``, the message as the component
wrote it (no key=value fields, no JSON). Components log through the standard library; this
module only chooses that format and the level, once, at an entry point, and quiets the chatty
libraries underneath.
"""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s %(message)s"


def configure(level: str = "INFO") -> None:
    """Install one stderr handler; calling it twice does not duplicate lines."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_fraudstream", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._fraudstream = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for noisy in ("aiokafka", "faust", "mode", "urllib3", "botocore", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
