"""What the collector must read for one host: derived from the resolved baseline, so the collector
reads exactly the registry values, services, optional features and local groups the catalog checks
(plus what the class evidence needs), and nothing else.

The other sections (host, OS, audit policy, security policy, firewall, Defender, AppLocker, WDAC,
hotfixes, programs, nameplate) are read whole: they are small and fixed.

A registry value that a control only needs to find present or absent, and any value whose name says
it holds a secret (Winlogon DefaultPassword), is requested as `[key, name, "presence"]`: the collector
then reports `{"type": ..., "present": true}` and never reads the data into the facts document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .evaluate import SECRET_NAME, WINDOWS_UPDATE_KEY
from .resolve import MANAGED_RULE_GROUP, Baseline

# Registry values the class evidence reads (classification.observe_class: "patched from WSUS").
CLASS_EVIDENCE_REGISTRY = (
    (WINDOWS_UPDATE_KEY, "WUServer"),
    (WINDOWS_UPDATE_KEY, "WUStatusServer"),
    (WINDOWS_UPDATE_KEY + "\\AU", "UseWUServer"),
)
PRESENCE = "presence"
# Services always read: AppLocker's application identity service.
ALWAYS_SERVICES = ("AppIDSvc",)


def _unique(items: Iterable[Any], fold=lambda v: str(v).casefold()) -> list[Any]:
    seen, out = set(), []
    for item in items:
        marker = fold(item)
        if marker not in seen:
            seen.add(marker)
            out.append(item)
    return out


def collection_request(baseline: Baseline, applications: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The collector's `Request` for this baseline.

    `{"registry": [[key, name] or [key, name, "presence"], ...], "services": [names],
    "optional_features": [names], "local_groups": [sids], "firewall_rule_groups": [groups]}`
    (registry name "*": every value of the key, for registry_values controls; "presence": the
    value's existence only, see above); every list sorted and without
    case-insensitive duplicates. This is the `Request` parameter of `collector/collect.ps1`.
    `applications`: the profile's applications (`Application.model_dump()`), whose services are
    class evidence. Controls that are not applicable are not read; waived ones are (the report
    shows what a waived control would find).
    """
    controls = [c for c in baseline.controls if c.status in ("applicable", "waived")]

    def params(method: str, *names: str) -> list[tuple[str, ...]]:
        return [tuple(str(c.check[n]) for n in names) for c in controls if c.check.get("method") == method]

    # registry_values reads a whole key: name "*" asks the collector for every value under it.
    registry = [*params("registry", "key", "name"), *((k, "*") for (k,) in params("registry_values", "key")),
                *CLASS_EVIDENCE_REGISTRY]
    # Presence only unless some control needs the data, and always for a secret-bearing name.
    needs_data = {(str(c.check["key"]).casefold(), str(c.check["name"]).casefold()) for c in controls
                  if c.check.get("method") == "registry" and c.compare not in ("absent", "present")}
    needs_data |= {(k.casefold(), n.casefold()) for k, n in CLASS_EVIDENCE_REGISTRY}

    def item(key: str, name: str) -> list[str]:
        folded = (key.casefold(), name.casefold())
        presence = name != "*" and (folded not in needs_data or bool(SECRET_NAME.search(name.strip())))
        return [key, name, PRESENCE] if presence else [key, name]

    services = [s for (s,) in params("service", "name")]
    services += [str(s) for app in applications for s in (app.get("services") or [])]
    services += list(ALWAYS_SERVICES)
    return {
        "registry": sorted((item(k, n) for k, n in _unique(registry, lambda kn: (kn[0].casefold(), kn[1].casefold()))),
                           key=lambda kn: (kn[0].casefold(), kn[1].casefold())),
        "services": sorted(_unique(services), key=str.casefold),
        "optional_features": sorted(_unique(f for (f,) in params("optional_feature", "name")), key=str.casefold),
        "local_groups": sorted(_unique(s.upper() for (s,) in params("local_group", "sid"))),
        # Rules of these groups are reported in full (enabled or not); every enabled inbound allow
        # rule is reported anyway (firewall_management looks at those).
        "firewall_rule_groups": sorted(_unique([*(g for (g,) in params("firewall_rules", "group")),
                                                MANAGED_RULE_GROUP]), key=str.casefold),
    }
