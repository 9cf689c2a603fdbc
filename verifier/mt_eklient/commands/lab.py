"""`mtk lab ...`: the simulated Windows lab (test double for CI and the demo).

Nothing from mt_eklient.lab is imported at module level: `mtk scan`/`verify` load this module to
build the parser and must never load the lab itself (a test checks sys.modules).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..cli import EXIT_OK, EXIT_USAGE
from .argtypes import float_at_least

DRIFT_HELP = """\
drift kinds (each changes exactly what it names):
  defender-realtime-off        turn Defender real-time protection off
  av-exclusion-added           add a Defender path exclusion (C:\\Users\\Public\\Downloads)
  firewall-allow-any-outbound  add an enabled outbound allow-any firewall rule
  applocker-removed            remove the AppLocker policy (all collections NotConfigured)
  local-admin-added            create local user 'support' and add it to Administrators
  usb-storage-enabled          set USBSTOR Start to 3 (USB mass storage allowed)
  hotfix-removed               uninstall the newest hotfix (an LCU also rolls UBR back)
  nameplate-class-changed      change the nameplate's Class value
  smb1-enabled                 enable the SMB1Protocol optional feature(s)
  unreachable                  stop answering on WinRM until `mtk lab reset HOST`

network faults of the host's WinRM endpoint (until `mtk lab reset HOST`):
  winrm-refused                close the listener (connection refused)
  winrm-bad-password           reject every logon with 401, as after a password change
  winrm-cert-mismatch          serve an HTTPS certificate issued to another name
  winrm-slow                   answer each Receive after --delay seconds (default 5)
  winrm-reset                  reset the TCP connection when the command's output is read
  winrm-soap-fault             answer shell creation with a WS-Management SOAP fault (quota)
"""


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"mtk lab: {message}", file=sys.stderr)
    return code


def _inventory(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from ..lab.inventory import lab_hosts

    return lab_hosts(args.inventory)


def _unknown_host(host: str) -> str | None:
    """Why HOST cannot be used: the lab is not up, or it has no such host (names it has); None if it can."""
    from ..lab import paths, store

    known = store.hosts()
    if not known:
        return f"the lab is not up (no host states in {paths.lab_dir()}): run `mtk lab up` first"
    if host not in known:
        return f"unknown lab host {host!r} (lab hosts: {', '.join(known)})"
    return None


def _fresh(name: str, hostvars: dict[str, Any]) -> dict[str, Any]:
    from ..lab.fresh import HostSpec, fresh_state

    return fresh_state(HostSpec.from_hostvars(name, hostvars))


def cmd_up(args: argparse.Namespace) -> int:
    from ..lab import endpoints, paths, store
    from ..lab.inventory import lab_accounts
    from ..lab.labenv import set_transport

    in_process = args.in_process or os.environ.get("MTK_LAB_TRANSPORT") == "inprocess"
    try:
        hosts = _inventory(args)
        states = {name: _fresh(name, hv) for name, hv in hosts.items()}
        accounts = {} if in_process else lab_accounts(args.inventory)
    except (FileNotFoundError, ValueError) as err:
        return _fail(str(err))
    for name, state in states.items():
        store.reset(name, state)
    for stale in set(store.hosts()) - set(states):  # hosts no longer in the inventory
        for path in (paths.state_path(stale), paths.journal_path(stale)):
            path.unlink(missing_ok=True)
    set_transport("inprocess" if in_process else "winrm")
    paths.record_inventory(args.inventory or os.environ.get("MTK_LAB_INVENTORY"))
    if in_process:
        endpoints.stop()
    else:
        try:
            endpoints.start(accounts)
        except RuntimeError as err:
            return _fail(str(err), 3)
    print(f"lab up: {len(states)} host(s) in {paths.lab_dir()}"
          + (" (in-process: no WinRM endpoints)" if in_process else ""))
    for name, state in states.items():
        where = ""
        if not in_process:
            info = endpoints.endpoint(name)
            where = f"  https://{info['address']}:{info['port']}/wsman"
        print(f"  {name:<18} {state['lab']['edition']:<22}{where}")
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    from ..lab import endpoints

    print("lab down: WinRM endpoints stopped" if endpoints.stop() else "lab down: no WinRM endpoints were running")
    return EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    from ..lab import store

    try:
        hosts = _inventory(args)
    except (FileNotFoundError, ValueError) as err:
        return _fail(str(err))
    names = args.hosts or sorted(hosts)
    unknown = [n for n in names if n not in hosts]
    if unknown:
        return _fail(f"unknown lab host(s): {', '.join(unknown)} (inventory hosts: {', '.join(sorted(hosts))})")
    for name in names:
        store.reset(name, _fresh(name, hosts[name]))
        print(f"reset {name}")
    return EXIT_OK


def _summary(name: str) -> dict[str, Any]:
    from ..lab import store
    from ..lab.facts import nameplate

    state = store.read_state(name)
    journal = [e for e in store.read_journal(name) if e.get("module") != "lab.drift"]
    plate = nameplate(state) or {}
    return {"host": name, "edition": state["lab"]["edition"], "class": plate.get("class") or "-",
            "invocations": len(journal), "changes_applied": sum(int(e.get("applied") or 0) for e in journal),
            "reachable": bool(state["lab"].get("reachable", True)),
            "drift": [e["kind"] for e in store.read_journal(name) if e.get("module") == "lab.drift"]}


def cmd_status(args: argparse.Namespace) -> int:
    from ..lab import paths, store

    names = store.hosts()
    if not names:
        return _fail(f"the lab is not up (no host states in {paths.lab_dir()}): run `mtk lab up`")
    rows = [_summary(n) for n in names]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print(f"{'HOST':<18} {'EDITION':<21} {'CLASS':<6} {'CALLS':>6} {'CHANGES':>8}  REACHABLE  DRIFT")
    for r in rows:
        print(f"{r['host']:<18} {r['edition']:<21} {r['class']:<6} {r['invocations']:>6} {r['changes_applied']:>8}  "
              f"{'yes' if r['reachable'] else 'NO':<9}  {', '.join(r['drift']) or '-'}")
    return EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from ..lab import faults, store
    from ..lab.drift import KINDS, apply_drift

    if args.kind not in KINDS and args.kind not in faults.KINDS:
        return _fail(f"unknown drift kind {args.kind!r} (one of: {', '.join([*KINDS, *faults.KINDS])})")
    if args.delay is not None and args.kind != faults.SLOW:
        return _fail(f"--delay applies to {faults.SLOW} only")
    if problem := _unknown_host(args.host):
        return _fail(problem)
    with store.transaction(args.host) as txn:
        note = (faults.set_fault(txn.state, args.kind, args.delay) if args.kind in faults.KINDS
                else apply_drift(txn.state, args.kind))
        store.append_journal(args.host, {"ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                         "module": "lab.drift", "kind": args.kind, "changed": bool(note), "applied": 0})
    print(f"{args.host}: {args.kind}: {note or 'no change (the host already had it)'}")
    return EXIT_OK


def cmd_clock(args: argparse.Namespace) -> int:
    from ..lab import clock, store

    try:
        when = clock.parse(args.time)
    except ValueError as err:
        return _fail(str(err))
    known = store.hosts()
    if not known:
        return _fail("the lab is not up: run `mtk lab up` first")
    names = known if args.host == "all" else [args.host]
    if args.host != "all" and args.host not in known:
        return _fail(f"unknown lab host {args.host!r} (lab hosts: {', '.join(known)}, or all)")
    for name in names:
        with store.transaction(name) as txn:
            note = clock.set_clock(txn.state, when)
        print(f"{name}: {note or 'no change'}")
    return EXIT_OK


def cmd_facts(args: argparse.Namespace) -> int:
    from ..lab import store
    from ..lab.facts import facts_from_state

    request = None
    if args.request:
        try:
            request = json.loads(Path(args.request).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            return _fail(f"cannot read request {args.request}: {err}")
    if problem := _unknown_host(args.host):
        return _fail(problem)
    try:
        state = store.read_state(args.host)
    except store.LabNotUp as err:
        return _fail(str(err))
    print(json.dumps(facts_from_state(state, request), indent=2))
    return EXIT_OK


def cmd_ansible_playbook(args: argparse.Namespace) -> int:
    from ..lab import store
    from ..lab.labenv import ansible_command, lab_environment

    if not store.hosts():
        return _fail("the lab is not up: run `mtk lab up` first")
    extra = list(args.ansible_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    env = lab_environment()
    if args.inventory:
        env["ANSIBLE_INVENTORY"] = str(Path(args.inventory).resolve())
    try:
        command = [ansible_command("ansible-playbook"), args.playbook, *extra]
    except FileNotFoundError as err:
        return _fail(str(err))
    return subprocess.call(command, env=env)


def cmd_env(args: argparse.Namespace) -> int:
    import shlex

    from ..lab.labenv import lab_variables

    base = dict(os.environ)
    if args.inventory:
        base["MTK_LAB_INVENTORY"] = str(Path(args.inventory).resolve())
    env = lab_variables(base)
    if args.json:
        print(json.dumps(env, indent=2, sort_keys=True))
    else:
        for name, value in sorted(env.items()):
            print(f"export {name}={shlex.quote(value)}")
    return EXIT_OK


ENV_EPILOG = """examples:
  eval "$(mtk lab env)"; ansible-playbook playbooks/scan.yml      # this shell's Ansible runs hit the lab
  mtk lab env --json > PRIVATE_DATA_DIR/env/envvars                # ansible-runner (YAML accepts JSON)
  ansible-runner run PRIVATE_DATA_DIR -p playbooks/scan.yml --project-dir .

Every value is an absolute path or a plain setting; no secret is printed. The lab must be up
(`mtk lab up`) before a playbook runs against it. See docs/awx.md for an AWX job against the lab.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    lab = subparsers.add_parser(
        "lab", help="the simulated Windows LTSC lab (test double for CI and the demo)",
        description="A strict test double of Windows 10/11 LTSC clients: each inventory host of "
        "inventories/lab/ is a JSON state under $MTK_LAB_DIR (default <repo>/lab/state). The build's "
        "Windows modules run as Python stand-ins that check their arguments against the real modules' "
        "documentation and change that state.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    lab.add_argument("--inventory", metavar="PATH",
                     help="lab inventory (default: $MTK_LAB_INVENTORY, else the one `mtk lab up` was given, else "
                     "the checkout's inventories/lab)")
    sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    sub.required = True

    p = sub.add_parser("up", help="create fresh-install states for every lab inventory host and serve them on WinRM",
                       description="Create (or recreate) each inventory host's state as a fresh install of its "
                       "mtk_lab_edition, with WinRM enabled and vendor software from mtk_lab_programs/services, and "
                       "start one WinRM endpoint per host on loopback (HTTPS with a throw-away CA, NTLM and Basic; "
                       "plain HTTP with NTLM message encryption), so Ansible's winrm connection and pywinrm run "
                       "for real. Empties every journal.",
                       epilog="Endpoints: $MTK_LAB_DIR/winrm/endpoints/HOST.json; stop them with `mtk lab down`.")
    p.add_argument("--in-process", action="store_true",
                   help="no endpoints: module calls run inside Ansible through the shadow collections (fast unit "
                   "tests; also $MTK_LAB_TRANSPORT=inprocess)")
    p.set_defaults(handler=cmd_up)

    p = sub.add_parser("down", help="stop the lab's WinRM endpoints (states are kept)",
                       description="Stop the process serving the lab's WinRM endpoints. Host states and journals "
                       "stay; `mtk lab up` starts fresh ones.")
    p.set_defaults(handler=cmd_down)

    p = sub.add_parser("reset", help="back to a fresh install (all hosts, or those named)",
                       description="Recreate the named hosts' states (all when none is named): undoes builds, "
                       "drift and unreachability, empties their journals.")
    p.add_argument("hosts", nargs="*", metavar="HOST")
    p.set_defaults(handler=cmd_reset)

    p = sub.add_parser("status", help="per host: edition, class marker, module calls and changes since up",
                       description="Per host: edition, nameplate class ('-' without one), module invocations "
                       "since up/reset, state changes they applied (check mode applies none), reachability "
                       "and drift applied.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("drift", help="make one named change on a host, as if done outside the build",
                       description="Make one named change on HOST, as if someone did it after the build.",
                       epilog=DRIFT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("host", metavar="HOST")
    p.add_argument("kind", metavar="KIND", help="see the list below")
    p.add_argument("--delay", type=float_at_least(0), metavar="SECONDS",
                   help="seconds each WinRM Receive waits (winrm-slow only; default 5)")
    p.set_defaults(handler=cmd_drift)

    p = sub.add_parser("clock", help="set a lab host's clock (maintenance windows, reboots, update dates)",
                       description="Set the clock of HOST (or of every host: all) to TIME; it runs on from there. "
                       "The collector reports it as the host's local time, which the build reads maintenance "
                       "windows in; boot times and update install dates follow it. Lab hosts keep UTC as local "
                       "time. `now` makes the host follow the controller's clock again.",
                       epilog="example: mtk lab clock wm1-sono-01 2026-12-08T06:30   (a Tuesday, inside "
                       "sonora-review-4's window)")
    p.add_argument("host", metavar="HOST|all")
    p.add_argument("time", metavar="TIME|now", help="ISO date and time (e.g. 2026-12-08T06:30), or now")
    p.set_defaults(handler=cmd_clock)

    p = sub.add_parser("facts", help="print HOST's facts document, as the collector would return it",
                       description="Print the facts document of HOST (docs/design.md) as the collector would, "
                       "for offline `verify` tests. --request FILE limits registry values, services, features "
                       "and groups to a collection request (JSON, from collection.collection_request).")
    p.add_argument("host", metavar="HOST")
    p.add_argument("--request", metavar="FILE", help="collection request (JSON)")
    p.set_defaults(handler=cmd_facts)

    p = sub.add_parser("env", help="print the environment that points any Ansible run at the lab",
                       description="Print the environment variables that make ansible-playbook, ansible-runner or "
                       "an AWX job run against the simulated lab: the shadow collections first on "
                       "ANSIBLE_COLLECTIONS_PATH (ansible.windows/community.windows become stand-ins), the lab's "
                       "ansible.cfg and inventory, MTK_LAB_DIR. Shell `export` lines, or --json.",
                       epilog=ENV_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="one JSON object (for ansible-runner's env/envvars)")
    p.set_defaults(handler=cmd_env)

    p = sub.add_parser("ansible-playbook", help="run ansible-playbook against the lab",
                       description="Run ansible-playbook with the lab's configuration: the shadow collections "
                       "first on ANSIBLE_COLLECTIONS_PATH (ansible.windows/community.windows modules become "
                       "stand-ins), inventory inventories/lab, roles path roles/. Other options pass through; "
                       "the exit code is ansible-playbook's.")
    p.add_argument("playbook", metavar="PLAYBOOK")
    p.add_argument("ansible_args", nargs=argparse.REMAINDER, metavar="...", help="ansible-playbook options")
    p.set_defaults(handler=cmd_ansible_playbook)
