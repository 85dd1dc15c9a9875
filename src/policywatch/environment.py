"""The process's I/O as one object, so commands never reach for sys.stdout or os.environ themselves."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console


@dataclass
class Environment:
    stdout: TextIO
    stderr: TextIO
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    no_color: bool = False  # NO_COLOR is set (https://no-color.org)
    quiet: bool = False
    verbose: bool = False

    @classmethod
    def from_system(cls) -> Environment:
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdout_isatty=sys.stdout.isatty(),
            stderr_isatty=sys.stderr.isatty(),
            no_color=bool(os.environ.get("NO_COLOR")),  # set and not empty, as no-color.org defines it
        )

    @property
    def stdout_color(self) -> bool:
        return self.stdout_isatty and not self.no_color

    @property
    def interactive(self) -> bool:
        """A person is watching stderr: progress bars are welcome."""
        return self.stderr_isatty and not self.quiet

    def error_console(self) -> Console:
        color = self.stderr_isatty and not self.no_color
        return Console(file=self.stderr, force_terminal=color, no_color=not color, highlight=False, soft_wrap=True)

    def note(self, message: str, style: str = "") -> None:
        """A human line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.error_console().print(message, style=style, markup=False)

    def error(self, message: str) -> None:
        self.error_console().print(f"policywatch: error: {message}", style="bold red", markup=False)

    def write(self, text: str) -> None:
        """Machine or report output on stdout."""
        self.stdout.write(text)
        self.stdout.flush()
