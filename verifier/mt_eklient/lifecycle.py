"""Windows LTSC editions and their support dates: which edition a machine runs, and until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from .datacache import cached, classes_of
from .yamlsource import safe_load


@dataclass(frozen=True)
class Edition:
    id: str
    name: str
    build: int
    edition_ids: tuple[str, ...]
    ga: date
    mainstream_end: date
    extended_end: date | None

    @property
    def end_of_support(self) -> date:
        return self.extended_end or self.mainstream_end


@dataclass(frozen=True)
class Support:
    edition: Edition | None
    status: str  # supported | ending_soon | ended | unknown
    days_left: int | None
    message: str


@cache
def editions() -> dict[str, Edition]:
    path = Path(__file__).parent / "data" / "ltsc.yml"  # as catalog.load_catalog
    return cached("lifecycle", [path], lambda: _parse(path), classes_of(__name__, "Edition"), dict)


def _parse(path: Path) -> dict[str, Edition]:
    raw = safe_load(path.read_text(encoding="utf-8"), "ltsc.yml")
    return {
        item["id"]: Edition(
            id=item["id"],
            name=item["name"],
            build=int(item["build"]),
            edition_ids=tuple(item["edition_ids"]),
            ga=item["ga"],
            mainstream_end=item["mainstream_end"],
            extended_end=item["extended_end"],
        )
        for item in raw
    }


def identify(edition_id: str, build: int) -> Edition | None:
    """The LTSC edition for an EditionID + CurrentBuild pair (ProductName is not trusted: 11 says 10).

    Early IoT 2021 builds report EnterpriseS; the non-IoT entry is listed first so that such a
    machine gets the shorter (safer) support date.
    """
    for edition in editions().values():
        if edition.build == build and edition_id in edition.edition_ids:
            return edition
    return None


def os_support(edition_id: str, build: int, today: date, warn_days: int = 180) -> Support:
    edition = identify(edition_id, build)
    if edition is None:
        return Support(None, "unknown", None, f"EditionID {edition_id} build {build} is not a known LTSC edition")
    days_left = (edition.end_of_support - today).days
    if days_left < 0:
        status, text = "ended", f"support ended {edition.end_of_support.isoformat()}"
    elif days_left <= warn_days:
        status, text = "ending_soon", f"support ends {edition.end_of_support.isoformat()} ({days_left} days)"
    else:
        status, text = "supported", f"supported until {edition.end_of_support.isoformat()}"
    return Support(edition, status, days_left, f"{edition.name}: {text}")
