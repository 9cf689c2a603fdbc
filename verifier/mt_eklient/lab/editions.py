"""The LTSC editions the lab can simulate: the core's table (`mt_eklient.data/ltsc.yml`, via
`lifecycle.editions()`) joined with the lab's fresh-install facts (`lab/data/editions.yml`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..lifecycle import editions as core_editions
from ..yamlsource import safe_load


@dataclass(frozen=True)
class LabEdition:
    id: str
    name: str
    build: int
    edition_id: str
    sku: int
    product_name: str
    release_id: str
    display_version: str | None
    media_ubr: int
    lcu: dict[str, Any]
    next_lcu: dict[str, Any]
    smb1: bool
    smb1_subfeatures: bool
    tamper_protection: bool
    lockout_defaults: bool
    win11: bool


@cache
def lab_editions() -> dict[str, LabEdition]:
    raw = safe_load(resources.files("mt_eklient.lab").joinpath("data/editions.yml").read_text("utf-8"), "data/editions.yml")
    core = core_editions()
    out = {}
    for edition_id, extra in raw.items():
        base = core[edition_id]  # a KeyError here means the two tables disagree: a test catches it
        if extra["edition_id"] not in base.edition_ids:
            raise ValueError(f"{edition_id}: EditionID {extra['edition_id']} not in ltsc.yml {base.edition_ids}")
        out[edition_id] = LabEdition(id=edition_id, name=base.name, build=base.build, **extra)
    return out


def get(edition_id: str) -> LabEdition:
    try:
        return lab_editions()[edition_id]
    except KeyError:
        known = ", ".join(sorted(lab_editions()))
        raise ValueError(f"the lab cannot simulate edition {edition_id!r} (known: {known})") from None
