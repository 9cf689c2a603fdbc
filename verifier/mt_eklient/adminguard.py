"""The build makes local Administrators exactly the profile's and the site's members, but never
removes the account it is connected as, the site's scan or build account or its IT admin group,
unless the site allows it (docs/accounts.md). Decided from the change set and the collector's
member list: no remote call."""

from __future__ import annotations

from typing import Any

from .site import LoadedSite

ADMINISTRATORS = "S-1-5-32-544"


def _split(account: str) -> tuple[str, str]:
    """(domain, user), lower-cased, from DOMAIN\\user, user@domain or user."""
    text = account.strip()
    if "\\" in text:
        domain, _, user = text.rpartition("\\")
    elif "@" in text:
        user, _, domain = text.partition("@")
    else:
        domain, user = "", text
    return domain.casefold(), user.casefold()


def same_account(given: str, member: str) -> bool:
    """Whether an account name as Ansible is given it names the member the host reports (DOMAIN\\user).
    `.` and a missing domain match any; a DNS domain matches its NetBIOS name's first label."""
    (given_domain, given_user), (member_domain, member_user) = _split(given), _split(member)
    if given_user != member_user or not given_user:
        return False
    if given_domain in ("", ".") or member_domain in ("", "."):
        return True
    return given_domain.split(".")[0] == member_domain.split(".")[0]


def removed_admins(changes: list[dict[str, Any]]) -> list[str]:
    return [str(sid) for c in changes if c.get("kind") == "group_membership"
            and str(c.get("item", "")).upper() == ADMINISTRATORS for sid in c.get("removed") or []]


def admin_removal_refusal(changes: list[dict[str, Any]], facts: dict[str, Any], site: LoadedSite | None,
                          connected_as: str | None) -> str | None:
    """Why the plan must not run (a protected member would leave local Administrators), or None."""
    removed = removed_admins(changes)
    if not removed or (site is not None and site.site.accounts.allow_admin_removal):
        return None
    group = ((facts.get("local_groups") or {}).get(ADMINISTRATORS) or {})
    names = {str(m.get("sid", "")).upper(): str(m.get("name") or "") for m in group.get("members") or []
             if isinstance(m, dict)}
    accounts = site.site.accounts if site else None
    found = []
    for sid in removed:
        name = names.get(sid.upper(), "")
        why = []
        if connected_as and name and same_account(connected_as, name):
            why.append(f"the account Ansible connects as (ansible_user {connected_as})")
        if accounts is not None:
            if accounts.it_admin_group and accounts.it_admin_group.upper() == sid.upper():
                why.append("the site's IT admin group (accounts.it_admin_group)")
            for role in ("scan_account", "build_account"):
                account = getattr(accounts, role)
                if account and ((account.sid and account.sid.upper() == sid.upper())
                                or (name and same_account(account.name, name))):
                    why.append(f"the site's {role}")
        if why:
            found.append(f"{name or sid} ({sid}), {' and '.join(why)}")
    if not found:
        return None
    way_on = (f"set accounts.allow_admin_removal: true in {site.source}" if site else
              "give the host a site (mt_site) that allows it (accounts.allow_admin_removal: true)")
    return (f"the build would remove from local Administrators {'; '.join(found)}: keep it with the site's or the "
            f"profile's accounts.local_admins, or {way_on}")
