"""Safety-floor exceptions in the reports: one wording for the console, HTML and JUnit, so a
dangerous setting that a manufacturer demanded is never shown less prominently in one of them."""

from __future__ import annotations

from typing import Any


def exception_line(exception: dict[str, Any]) -> str:
    """`DC-DEFENDER-DRIVE-ROOT 'D:\\': reason (owner X, expires 2027-03-31)`."""
    state = "EXPIRED " if exception.get("expired") else ""
    return (f"{exception['rule']} {exception['value']!r}: {exception['reason']} "
            f"(owner {exception['owner']}, {state}expires {exception['expires']})")


def fleet_exceptions(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(host, exception) for every host of the report."""
    return [(host["host"], e) for host in report["hosts"] for e in host.get("exceptions") or []]
