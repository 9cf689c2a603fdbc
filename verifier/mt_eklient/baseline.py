"""The resolved baseline of one host: what `resolve` produces and the evaluation, the reports and
the build consume.

Kept apart from resolve.py, which needs the catalog and profile models (pydantic): a baseline from
the user's cache (commands/verify.py) is evaluated and reported without importing them, which is
most of what a short `mtk verify` would otherwise cost (docs/performance.md).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANAGED_RULE_GROUP = "mt-eklient"
MANAGEMENT_RULE_NAME = "mtk-management-winrm"
WINRM_PORTS = ["5985", "5986"]
ALL_PROFILES = ["Domain", "Private", "Public"]
BUILTIN_ADMINISTRATOR = "S-1-5-21-*-500"


@dataclass(frozen=True)
class ResolvedControl:
    id: str
    title: str
    area: str
    severity: str
    check: dict[str, Any]
    expected: Any
    compare: str
    build: bool
    status: str  # applicable | not_applicable | waived
    reason: str | None
    waiver: dict[str, Any] | None
    mandatory: bool
    references: dict[str, Any]
    rationale: str
    # Why the build does not set it (catalog build_reason; None when it does).
    build_reason: str | None = None
    # What raw values mean ("1": "Sunday"), from the catalog, for reports: "1 (Sunday)".
    meanings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Baseline:
    host: str
    declared_class: str | None
    profile_class: str
    profile: dict[str, Any]
    catalog_version: str
    toolkit_version: str
    resolved_on: str
    controls: tuple[ResolvedControl, ...]
    notes: tuple[str, ...] = ()
    # Dangerous settings the safety floor allows only as owned, expiring exceptions: every report shows them.
    exceptions: tuple[dict[str, Any], ...] = ()
    site: dict[str, Any] | None = None  # id, sha256, source of the site layer

    def applicable(self) -> list[ResolvedControl]:
        return [c for c in self.controls if c.status == "applicable"]

    def by_method(self, method: str, build_only: bool = False) -> list[ResolvedControl]:
        return [c for c in self.applicable() if c.check["method"] == method and (c.build or not build_only)]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        # `meanings` only where the catalog gives them (most settings need none).
        out["controls"] = [{k: v for k, v in asdict(c).items() if k != "meanings" or v} for c in self.controls]
        return out


def normalise_address(text: str) -> str:
    """CIDR notation, with a plain address for a single host: the facts document's form."""
    network = ipaddress.ip_network(text, strict=True)
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


def meaning_key(value: Any) -> str:
    """A raw value as a key of Control.meanings (ResolvedControl.meanings): JSON's spelling (1 -> "1",
    True -> "true")."""
    return value if isinstance(value, str) else json.dumps(value)
