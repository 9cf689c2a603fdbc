"""Repository profiles leave the site's facts (management subnets, WSUS, ...) to sites/*.yml. Tests
that mutate a profile and resolve it on its own fold the lab site's values in first: a profile
that carries its own site facts resolves without a site (docs/sites.md)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "sites" / "region-vastland.yml"


def standalone(profile_data: dict[str, Any]) -> dict[str, Any]:
    from mt_eklient.site import load_site, merge, overlay

    return merge(overlay(load_site(SITE).site), copy.deepcopy(profile_data))[0]


def standalone_profile(profile_id: str) -> dict[str, Any]:
    return standalone(yaml.safe_load((REPO / "profiles" / f"{profile_id}.yml").read_text(encoding="utf-8")))
