"""Property tests: the resolver never crashes on valid profiles, and validation rejects invalid
mutations with exit code 2 and one `FILE:LINE: field: message` line per problem."""

from __future__ import annotations

import contextlib
import copy
import io
import ipaddress
import re
import tempfile
from datetime import date
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mt_eklient.catalog import load_catalog
from mt_eklient.cli import main
from mt_eklient.hosts import catalog_problems
from mt_eklient.profile import load_profile
from mt_eklient.resolve import HostContext, resolve
from standalone_profiles import standalone_profile

BASE = standalone_profile("sonora-review-4")
LINE = re.compile(r"^.+?(:\d+)?: [A-Za-z_][\w.\[\]]*: .+$")

networks = st.builds(
    lambda a, prefix: str(ipaddress.ip_network(f"{ipaddress.IPv4Address(a)}/{prefix}", strict=False)),
    st.integers(0, 2**32 - 1), st.integers(8, 32))
management_networks = networks.filter(lambda n: ipaddress.ip_network(n).prefixlen >= 16)
ports = st.one_of(st.integers(1, 65535),
                  st.tuples(st.integers(1, 65535), st.integers(1, 65535)).map(lambda t: f"{min(t)}-{max(t)}"))


@st.composite
def valid_profiles(draw):
    p = copy.deepcopy(BASE)
    p["classification"]["group"] = draw(st.sampled_from([0, 1, 2]))
    p["whitelisting"]["mode"] = draw(st.sampled_from(["audit", "enforce"]))
    if not draw(st.booleans()):
        p["antivirus"] = {"permitted": False, "compensating_controls": []}
        p["whitelisting"]["mode"] = "enforce"
    # The safety floor refuses a management zone broader than a /16 (tests/test_floor.py).
    zones = {name: draw(st.lists(management_networks if name == p["network"]["management_zone"] else networks,
                                 min_size=1, max_size=3, unique=True))
             for name in BASE["network"]["zones"]}
    p["network"]["zones"] = zones
    p["network"]["internet"] = draw(st.sampled_from(["deny", "allow"]))
    for rule in p["network"]["inbound"] + p["network"]["outbound"]:
        if rule["protocol"] in ("tcp", "udp"):
            rule["ports"] = draw(st.lists(ports, min_size=1, max_size=4))
    p["removable_media"] = draw(st.sampled_from([
        {"policy": "block"}, {"policy": "allow"},
        {"policy": "allow_listed", "allowed_device_ids": ["USB\\VID_0B95&PID_1790"]}]))
    p["accounts"]["screen_lock_seconds"] = draw(st.integers(60, 3600))
    p["waivers"] = []
    return p


def compensating(p):
    """A profile without antivirus names real catalog controls as its compensating controls."""
    if not p["antivirus"]["permitted"]:
        p["antivirus"]["compensating_controls"] = [next(iter(sorted(load_catalog().ids())))]
    return p


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_profiles(), st.dates(date(2024, 1, 1), date(2035, 1, 1)))
def test_resolver_never_crashes_on_valid_profiles(profile, today):
    profile = compensating(profile)
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yml"
        path.write_text(yaml.safe_dump(profile))
        loaded = load_profile(path)
        assert not catalog_problems(loaded, catalog)
        baseline = resolve(catalog, loaded, HostContext("h"), today)
    assert len(baseline.controls) == len(catalog.controls)
    assert {c.status for c in baseline.controls} <= {"applicable", "not_applicable", "waived"}


INVALID_MUTATIONS = {
    "unknown key": lambda p, d: p.update({d.draw(st.from_regex(r"[a-z]{3,10}_x", fullmatch=True)): 1}),
    "bad group": lambda p, d: p["classification"].update(group=d.draw(st.integers(3, 99))),
    "bad type": lambda p, d: p["classification"].update(type=d.draw(st.sampled_from(["WX", "MW", "X", "w m"]))),
    "bad port": lambda p, d: p["network"]["inbound"][0].update(
        ports=[d.draw(st.one_of(st.integers(65536, 10**6), st.integers(-100, 0)))]),
    "bad cidr": lambda p, d: p["network"]["zones"].update(
        pacs=[d.draw(st.sampled_from(["10.0.0.256", "10.1.1.1/33", "10.0.0.1/8", "ten.0.0.0"]))]),
    "bad kb": lambda p, d: p["patching"].update(blocked_kbs=[d.draw(st.from_regex(r"K?B?[0-9]{1,5}", fullmatch=True))]),
    "list for mapping": lambda p, d: p.update(antivirus=["permitted"]),
    "wrong type": lambda p, d: p.update(profile_version=d.draw(st.sampled_from(["three", 0, -1, [3]]))),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(INVALID_MUTATIONS)), st.data())
def test_invalid_mutations_exit_2_with_one_line_per_problem(kind, data):
    profile = copy.deepcopy(BASE)
    INVALID_MUTATIONS[kind](profile, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yml"
        path.write_text(yaml.safe_dump(profile))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["profile", "validate", str(path)])
    lines = err.getvalue().strip().splitlines()
    assert code == 2
    assert lines and all(line.startswith(str(path)) and LINE.match(line) for line in lines), lines
    assert "Traceback" not in err.getvalue()
