"""collection_request: what the collector reads for one baseline (collector/collect.ps1's Request)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from mt_eklient.catalog import Catalog
from mt_eklient.collection import collection_request
from verifier_helpers import (
    ALLOW_IDS_KEY,
    SMB_KEY,
    WINLOGON,
    WU_KEY,
    applications,
    control,
    make_baseline,
    profile_data,
    write_yaml,
)


def test_request_shape(wm1):
    request = collection_request(wm1.baseline, applications(wm1.loaded))
    assert set(request) == {"registry", "services", "optional_features", "local_groups", "firewall_rule_groups"}
    assert [SMB_KEY, "SMB1"] in request["registry"]
    assert [WINLOGON, "DefaultPassword", "presence"] in request["registry"]  # a secret: never its data
    assert [WU_KEY, "WUServer"] in request["registry"]  # class evidence: patched from WSUS
    assert [ALLOW_IDS_KEY, "*"] in request["registry"]  # registry_values: every value of the key
    assert request["services"] == ["AppIDSvc", "RemoteRegistry", "SonoRevDicom"]
    assert request["optional_features"] == ["SMB1Protocol"]
    assert request["local_groups"] == ["S-1-5-32-544"]
    assert request["firewall_rule_groups"] == ["mt-eklient"]
    json.dumps(request)  # it travels as JSON


def test_request_has_no_duplicates_and_is_stable(wm1):
    first = collection_request(wm1.baseline, applications(wm1.loaded) * 2)
    assert first == collection_request(wm1.baseline, applications(wm1.loaded))
    pairs = [(k.casefold(), n.casefold()) for k, n, *_ in first["registry"]]
    assert len(pairs) == len(set(pairs))
    assert pairs == sorted(pairs)


def test_not_applicable_controls_are_not_collected_waived_ones_are(sonora, tmp_path):
    m_only = control("T-M-REG", "os", {"method": "registry", "key": "HKLM\\SOFTWARE\\Vendor", "name": "X",
                                       "type": "dword"}, {"value": 1}, applies_to={"types": ["M"]})
    waived = control("T-WAIVED-SVC", "os", {"method": "service", "name": "Spooler", "property": "start_mode"},
                     {"value": "disabled"})
    data = profile_data(sonora)
    data["waivers"] = [{"control": "T-WAIVED-SVC", "reason": "printing needed", "owner": "MT", "expires": "2027-06-30"}]
    _, baseline = make_baseline(write_yaml(tmp_path / "p.yml", data), catalog=Catalog("t", (m_only, waived)))
    request = collection_request(baseline)
    assert ["HKLM\\SOFTWARE\\Vendor", "X"] not in request["registry"]
    assert "Spooler" in request["services"]
    assert "SonoRevDicom" not in request["services"]  # no applications given


def test_registry_policy_reads_the_data_of_both_locations():
    """The effective value needs the data of the policy value and of the local fallback."""
    from mt_eklient.catalog import load_catalog
    from mt_eklient.profile import load_profile
    from mt_eklient.resolve import HostContext, resolve
    from mt_eklient.site import effective_profile, load_site

    repo = Path(__file__).resolve().parents[2]
    site = load_site(repo / "sites" / "region-vastland.yml")
    loaded = effective_profile(load_profile(repo / "profiles" / "sonora-review-4.yml"), site).loaded
    baseline = resolve(load_catalog(), loaded, HostContext(name="h"), date(2026, 11, 25))
    registry = collection_request(baseline)["registry"]
    for key in ("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services",
                "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"):
        assert [key, "fDenyTSConnections"] in registry
