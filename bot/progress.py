"""A progress line on a terminal for long imports; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time

_last_draw = 0.0


def show_progress(label: str, done: int, total: int) -> None:
    """Redraw ``label: done/total`` at most ten times a second, and once at the end."""
    global _last_draw
    if not sys.stderr.isatty() or total <= 0:
        return
    now = time.monotonic()
    if done < total and now - _last_draw < 0.1:
        return
    _last_draw = now
    width = 30
    filled = width * done // total
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r{label}: [{bar}] {done}/{total}{end}")
    sys.stderr.flush()
