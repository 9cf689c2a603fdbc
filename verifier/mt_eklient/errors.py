"""Input errors reported as one line per problem, `FILE:LINE: field.path: message`."""

from __future__ import annotations

from dataclasses import dataclass

from .textsafe import printable


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        # Messages quote file contents and host output: never let them drive the terminal.
        return printable(self._text())

    def _text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InputError(Exception):
    """Bad input (profile, inventory, facts, arguments). The CLI prints each problem and exits 2."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def single(cls, file: str, message: str, field: str = "", line: int | None = None) -> InputError:
        return cls([Problem(file, line, field, message)])
