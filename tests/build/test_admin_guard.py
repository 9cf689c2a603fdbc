"""The build never removes the account it connects as, nor the site's protected accounts, from local
Administrators, unless the site allows it (docs/accounts.md). Decided in the change set from the
preflight's one collector run: no further remote call."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from mt_eklient.adminguard import same_account
from mt_eklient.changeset import plan_for_hostvars

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 25)
DOMAIN = "S-1-5-21-3623811015-3361044348-30300820"
IT_GROUP = f"{DOMAIN}-1015"  # sites/region-vastland.yml accounts.it_admin_group
SVC = f"{DOMAIN}-1105"
HOSTVARS = {"mt_class": "WM1", "mt_profile": "sonora-review-4", "mt_site": "region-vastland"}


def facts_with_admins(*members: tuple[str, str]) -> dict:
    facts = json.loads((REPO / "tests" / "data" / "facts" / "wm1-sample.json").read_text())
    group = facts["local_groups"]["S-1-5-32-544"]
    group["members"] = [m for m in group["members"] if m["sid"].endswith("-500")]
    group["members"] += [{"sid": sid, "name": name} for sid, name in members]
    return facts


def plan(facts: dict, connected_as: str | None = "svc-mtk", sites_dir: Path | None = None):
    return plan_for_hostvars("wm1-sono-01", HOSTVARS, facts, TODAY, sites_dir=str(sites_dir) if sites_dir else None,
                             connected_as=connected_as)


def admin_change(host_plan) -> dict:
    return next(c for c in host_plan.changes if c["kind"] == "group_membership" and c["item"] == "S-1-5-32-544")


def site_allowing_removal(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "sites" / "region-vastland.yml").read_text())
    data["accounts"]["allow_admin_removal"] = True
    (tmp_path / "region-vastland.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path


def test_removing_the_connected_account_is_refused():
    result = plan(facts_with_admins((SVC, "REGION\\svc-mtk")))
    assert result.status == "refused"
    assert "REGION\\svc-mtk" in result.error and "the account Ansible connects as (ansible_user svc-mtk)" in result.error
    assert "accounts.allow_admin_removal: true" in result.error and "region-vastland.yml" in result.error
    assert admin_change(result)["removed"] == [SVC]  # still listed, for the reviewer


def test_removing_the_site_it_admin_group_is_refused_whoever_connects():
    result = plan(facts_with_admins((IT_GROUP, "REGION\\IT-Workstation-Admins")), connected_as="REGION\\other")
    assert result.status == "refused"
    assert "REGION\\IT-Workstation-Admins" in result.error and "the site's IT admin group" in result.error


def test_removing_an_unprotected_member_is_planned():
    result = plan(facts_with_admins((f"{DOMAIN}-2001", "REGION\\someone")))
    assert result.status == "ok"
    assert admin_change(result)["removed"] == [f"{DOMAIN}-2001"]


def test_the_site_may_allow_the_removal(tmp_path):
    facts = facts_with_admins((SVC, "REGION\\svc-mtk"), (IT_GROUP, "REGION\\IT-Workstation-Admins"))
    assert plan(copy.deepcopy(facts)).status == "refused"
    allowed = plan(facts, sites_dir=site_allowing_removal(tmp_path))
    assert allowed.status == "ok" and sorted(admin_change(allowed)["removed"]) == sorted([SVC, IT_GROUP])


def test_a_member_the_site_keeps_is_not_removed(tmp_path):
    data = yaml.safe_load((REPO / "sites" / "region-vastland.yml").read_text())
    data["accounts"]["local_admins"] = [IT_GROUP]
    (tmp_path / "region-vastland.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = plan(facts_with_admins((IT_GROUP, "REGION\\IT-Workstation-Admins")), sites_dir=tmp_path)
    assert result.status == "ok"
    assert not any(c["kind"] == "group_membership" and c.get("removed") for c in result.changes)


@pytest.mark.parametrize(("given", "member", "same"), [
    ("svc-mtk", "REGION\\svc-mtk", True), ("REGION\\svc-mtk", "REGION\\SVC-MTK", True),
    ("svc-mtk@region.local", "REGION\\svc-mtk", True), (".\\admin", "WM1-SONO-01\\admin", True),
    ("OTHER\\svc-mtk", "REGION\\svc-mtk", False), ("svc-mtk2", "REGION\\svc-mtk", False),
])
def test_account_names_match_as_windows_writes_them(given, member, same):
    assert same_account(given, member) is same


def test_lab_host_with_the_connected_account_as_admin_is_refused_and_the_site_may_allow_it(tmp_path):
    """The facts as the lab's collector emulation reports them (COMPUTER\\name members) after the
    local-admin-added drift; the account Ansible connects as is that local account."""
    from mt_eklient.changeset import plan_host
    from mt_eklient.collection import collection_request
    from mt_eklient.hosts import HostResolver
    from mt_eklient.lab.drift import DRIFT_ADMIN, apply_drift
    from mt_eklient.lab.facts import facts_from_state
    from mt_eklient.lab.fresh import HostSpec, fresh_state
    from mt_eklient.lab.inventory import lab_hosts

    hostvars = lab_hosts()["wm1-sono-01"]
    state = fresh_state(HostSpec.from_hostvars("wm1-sono-01", hostvars), TODAY)
    apply_drift(state, "local-admin-added")
    for sites_dir, allowed in ((None, False), (site_allowing_removal(tmp_path), True)):
        resolver = HostResolver(TODAY, sites_dir=sites_dir)
        loaded, baseline = resolver("wm1-sono-01", hostvars)
        facts = facts_from_state(state, collection_request(baseline, [a.model_dump(mode="json")
                                                                     for a in loaded.profile.applications]))
        result = plan_host(baseline, loaded, facts, TODAY, resolver.context("wm1-sono-01", hostvars),
                           connected_as=f".\\{DRIFT_ADMIN}")
        assert (result.status == "ok") is allowed, result.error
        if not allowed:
            assert f"WM1-SONO-01\\{DRIFT_ADMIN}" in result.error and "ansible_user" in result.error
