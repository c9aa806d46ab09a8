"""A progress bar for batch commands, on standard error: drawn in place on a terminal;
anywhere else (a log file, a pipe, CI) a plain line at every tenth, so nothing garbles."""

import sys
from typing import TextIO

WIDTH = 30
CLEAR_LINE = "\r\033[K"


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self._label = label
        self._total = total
        self._done = 0
        self._stream = stream or sys.stderr
        self._terminal = self._stream.isatty()
        self._tenths_shown = -1
        self._show()

    def advance(self, count: int = 1) -> None:
        self._done += count
        self._show()

    def print(self, line: str, file: TextIO | None = None) -> None:
        """Print a line (to standard output unless `file` says otherwise) without breaking the bar."""
        if self._terminal:
            self._stream.write(CLEAR_LINE)
            self._stream.flush()
        print(line, file=file or sys.stdout, flush=True)
        if self._terminal:
            self._draw()

    def close(self) -> None:
        if self._terminal:
            self._stream.write("\n")
            self._stream.flush()

    def _show(self) -> None:
        if self._terminal:
            self._draw()
            return
        tenths = int(self._fraction() * 10)
        if tenths > self._tenths_shown:
            self._tenths_shown = tenths
            self._stream.write(f"{self._label}: {self._done}/{self._total} ({self._fraction():.0%})\n")
            self._stream.flush()

    def _draw(self) -> None:
        filled = round(WIDTH * self._fraction())
        self._stream.write(f"\r{self._label} [{'#' * filled}{'-' * (WIDTH - filled)}] {self._done}/{self._total}")
        self._stream.flush()

    def _fraction(self) -> float:
        return min(self._done / self._total, 1.0) if self._total else 1.0
