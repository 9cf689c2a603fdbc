"""Where a site's file is: sites/<id>.yml, or a path given on the command line.

Apart from site.py (the site models, pydantic): `mtk verify` finds the site's file to look its
baseline up in the user's cache before it knows whether it needs the models at all.
"""

from __future__ import annotations

from pathlib import Path

from .yamlsource import find_by_id

SITE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
DEFAULT_SITES_DIR = Path(__file__).resolve().parents[2] / "sites"


def find_site(site_id: str, sites_dir: str | Path | None = None, source: str = "inventory") -> Path:
    return find_by_id(site_id, Path(sites_dir) if sites_dir else DEFAULT_SITES_DIR, SITE_ID_PATTERN, "site",
                      "mt_site", source)


def site_file(value: str | None, source: str = "--site") -> Path | None:
    """The file of a site named on the command line: its id (a file in sites/) or a path."""
    if not value:
        return None
    is_path = value.endswith((".yml", ".yaml")) or "/" in value
    return Path(value) if is_path else find_site(value, source=source)
