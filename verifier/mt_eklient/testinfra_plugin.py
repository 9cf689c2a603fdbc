"""pytest plugin: the mt-eklient controls as testinfra tests, one pytest test per control.

Registered as a `pytest11` entry point, so it is active wherever mt-eklient is installed; it only
adds options and fixtures, and does something only for tests that ask for `mt_control` (the
shipped module `mt_eklient.testinfra_checks`):

    pytest --pyargs mt_eklient.testinfra_checks --hosts=ansible://wm1-sono-01 \\
        --ansible-inventory=inventories/example-site --force-ansible [--profile profiles/sonora-review-4.yml] [--mt-class WM1]
    pytest --pyargs mt_eklient.testinfra_checks --hosts='winrm://svc-mtk@wm1-sono-01.region.local' \\
        --profile profiles/sonora-review-4.yml --mt-site region-vastland --mt-class WM1

Facts are collected ONCE per host per pytest session (a session cache), however many control
tests use them:

- `ansible://HOST`: `host.ansible("ansible.windows.win_powershell", ...)` runs the collector through
  Ansible's connection layer with the inventory's connection variables; the script and the
  request reach the module through file lookups (nothing large or secret on a command line).
  Profile, site and class default to the host's `mt_profile` / `mt_site` / `mt_class` inventory variables.
- `winrm://USER:PASSWORD@HOST`: the collector runs over testinfra's own WinRM connection settings
  (endpoint, transport, credentials). A 27 kB collector does not fit a command line, so like
  Ansible's own WinRM plugin a short `powershell -EncodedCommand` bootstrap reads the collector and
  its request from stdin. `--profile` is required.

Each control test passes (pass), fails (fail, or a fact that could not be read), or is skipped
with the reason (waived, not applicable). A host that cannot be reached or collected fails every
control test with the same reason.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from .errors import InputError

COLLECTOR = Path(__file__).resolve().parent / "collector" / "collect.ps1"
_STASH_RESULTS = pytest.StashKey[dict]()
_STASH_PLANS = pytest.StashKey[dict]()
_STASH_NO_BASELINE = pytest.StashKey[str]()
NO_BASELINE = "baseline"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mt-eklient", "mt-eklient controls (mt_eklient.testinfra_checks)")
    group.addoption("--profile", dest="mt_profile", metavar="FILE",
                    help="device profile (profiles/*.yml); default for ansible:// hosts: their mt_profile variable")
    group.addoption("--mt-site", dest="mt_site", metavar="SITE",
                    help="the host's site: an id (sites/*.yml) or a site file; default for ansible:// hosts: their "
                    "mt_site variable")
    group.addoption("--mt-class", dest="mt_class", metavar="CLASS",
                    help="declared class, e.g. WM1; default for ansible:// hosts: their mt_class variable, "
                    "else the profile's class")
    group.addoption("--mt-warn-days", dest="mt_warn_days", type=int, default=180, metavar="N",
                    help="warn this many days before the OS leaves support (default: 180)")


# ---------------------------------------------------------------------------------------------
# Baselines


@dataclass
class HostPlan:
    name: str
    baseline: Any = None  # resolve.Baseline
    applications: list[dict[str, Any]] | None = None
    error: str | None = None


def _host_name(host: Any) -> str:
    name = getattr(host.backend, "host", None)  # the inventory name for ansible://, a HostSpec for winrm://
    return name if isinstance(name, str) else str(host.backend.get_hostname())


def _hostvars(host: Any) -> dict[str, Any]:
    if getattr(host.backend, "NAME", "") == "ansible":
        return dict(host.backend.get_variables())
    return {}


def plan_for(host: Any, config: pytest.Config, today: date | None = None) -> HostPlan:
    """The resolved baseline for one testinfra host (cached per session)."""
    cache = config.stash.setdefault(_STASH_PLANS, {})
    key = host.backend.get_pytest_id()
    if key not in cache:
        cache[key] = _plan(host, config, today or date.today())
    return cache[key]


def _plan(host: Any, config: pytest.Config, today: date) -> HostPlan:
    from .catalog import load_catalog
    from .hosts import find_profile, host_context, load_checked_profile
    from .plaindata import plain
    from .resolve import resolve
    from .site import effective_profile, site_from_arg

    name = _host_name(host)
    try:
        hostvars = _hostvars(host)
        profile_path = config.getoption("mt_profile")
        if not profile_path:
            if not hostvars.get("mt_profile"):
                raise InputError.single(f"host {name}", "no --profile and no mt_profile inventory variable",
                                        field="--profile")
            profile_path = find_profile(str(hostvars["mt_profile"]), source=f"inventory ({name})")
        catalog = load_catalog()
        site = site_from_arg(config.getoption("mt_site") or hostvars.get("mt_site"), "--mt-site")
        loaded = effective_profile(load_checked_profile(profile_path, catalog), site, f"host {name}", "--mt-site").loaded
        declared = config.getoption("mt_class") or hostvars.get("mt_class")
        context = host_context(name, {**hostvars, "mt_class": declared or loaded.profile.classification.label},
                               source=f"inventory ({name})")
        context = replace(context, site=site, site_id=site.site.id if site else None)
        if not declared:
            context = replace(context, declared_class=None)
        baseline = resolve(catalog, loaded, context, today)
        applications = plain(loaded.profile.applications)
        return HostPlan(name, baseline, applications)
    except InputError as err:
        return HostPlan(name, error="; ".join(str(p) for p in err.problems))
    except Exception as err:  # noqa: BLE001 - becomes every control's failure reason
        return HostPlan(name, error=f"{type(err).__name__}: {err}")


def control_ids(plans: list[HostPlan]) -> list[str]:
    """Every control id of the baselines, in catalog order, plus the evaluator's class check."""
    from .evaluate import CLASS_CONTROL_ID

    ids: list[str] = []
    for plan in plans:
        if plan.baseline is None:
            continue
        for control in plan.baseline.controls:
            if control.id not in ids:
                ids.append(control.id)
        if not any(c.check.get("method") == "class_evidence" for c in plan.baseline.controls) \
                and CLASS_CONTROL_ID not in ids:
            ids.append(CLASS_CONTROL_ID)
    return ids


# ---------------------------------------------------------------------------------------------
# Collection: once per host


class CollectionFailed(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status  # unreachable | error
        self.reason = reason


def _file_lookup(path: Path, filters: str = "") -> str:
    """A Jinja expression reading a local file: lookup results are never templated again."""
    return "{{ lookup('ansible.builtin.file', " + json.dumps(str(path)) + ")" + filters + " }}"


def collect_ansible(host: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The win_powershell result of running the collector on an ansible:// host."""
    from .scan import classify_failure

    with tempfile.TemporaryDirectory(prefix="mtk-ti-") as tmp:
        request_file = Path(tmp) / "request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        args = {"script": _file_lookup(COLLECTOR), "parameters": {"Request": _file_lookup(request_file, " | from_json")}}
        try:
            result = host.ansible("ansible.windows.win_powershell", json.dumps(args), check=False)
        except host.ansible.AnsibleException as err:
            result = dict(err.result or {}, failed=True)
        except AssertionError as err:  # testinfra: ansible exited with an unexpected code (unreachable: 4)
            text = " ".join(str(err).split())
            raise CollectionFailed("unreachable", f"ansible failed: {text[-400:]}") from None
    if result.get("unreachable") or result.get("failed") or "output" not in result:
        status, reason = classify_failure("unreachable" if result.get("unreachable") else "failed", result, 0)
        raise CollectionFailed(status, reason)
    return result


# Like Ansible's WinRM bootstrap: the payload ({"script", "request"} as JSON) arrives on stdin.
WINRM_BOOTSTRAP = (
    "$ErrorActionPreference = 'Stop'; [Console]::OutputEncoding = [Text.Encoding]::UTF8; "
    "$payload = ConvertFrom-Json ($input | Out-String); "
    "& ([scriptblock]::Create($payload.script)) -Request $payload.request"
)


def encoded_command(script: str) -> str:
    """powershell.exe -EncodedCommand takes base64 of UTF-16LE."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def winrm_command() -> str:
    return f"powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand " \
           f"{encoded_command(WINRM_BOOTSTRAP)}"


def collect_winrm(host: Any, request: dict[str, Any], protocol_factory: Any = None) -> dict[str, Any]:
    """Run the collector over a winrm:// host's connection settings; a win_powershell-like result."""
    backend = host.backend
    if protocol_factory is None:
        import winrm.protocol
        protocol_factory = winrm.protocol.Protocol
    payload = json.dumps({"script": COLLECTOR.read_text(encoding="utf-8"), "request": request})
    try:
        protocol = protocol_factory(**backend.conn_args)
        shell = protocol.open_shell()
        try:
            command = protocol.run_command(shell, winrm_command())
            protocol.send_command_input(shell, command, payload.encode("utf-8"), end=True)
            stdout, stderr, rc = protocol.get_command_output(shell, command)
            protocol.cleanup_command(shell, command)
        finally:
            protocol.close_shell(shell)
    except Exception as err:  # noqa: BLE001 - connection problems become the host's reason
        from .scan import classify_failure
        status, reason = classify_failure("unreachable", {"msg": f"{type(err).__name__}: {err}"}, 0)
        raise CollectionFailed(status, reason) from None
    if rc != 0:
        text = stderr.decode("utf-8", "replace").strip().splitlines()
        raise CollectionFailed("error", f"collector failed (exit {rc}): {text[-1] if text else 'no message'}")
    return {"output": [stdout.decode("utf-8-sig", "replace").strip()]}


def host_result(host: Any, config: pytest.Config) -> Any:
    """The evaluated HostResult of one testinfra host, collected once per session."""
    from .collection import collection_request
    from .scan import BadFacts, facts_from_result
    from .scanresult import HostInput, evaluate_host

    cache = config.stash.setdefault(_STASH_RESULTS, {})
    key = host.backend.get_pytest_id()
    if key in cache:
        return cache[key]
    plan = plan_for(host, config)
    today = date.today()
    if plan.baseline is None:
        item = HostInput(plan.name, status="error", error=plan.error)
    else:
        item = HostInput(plan.name, baseline=plan.baseline, applications=plan.applications or [])
        try:
            request = collection_request(plan.baseline, plan.applications or [])
            if getattr(host.backend, "HAS_RUN_ANSIBLE", False):
                raw = collect_ansible(host, request)
            elif getattr(host.backend, "NAME", "") == "winrm":
                raw = collect_winrm(host, request)
            else:
                raise CollectionFailed("error", f"unsupported testinfra backend {host.backend.NAME!r}: "
                                       "use ansible:// or winrm://")
            item.facts = facts_from_result(plan.name, raw)
        except CollectionFailed as err:
            item.status, item.error = err.status, err.reason
        except BadFacts as err:
            item.status, item.error = "error", str(err)
    cache[key] = evaluate_host(item, today, config.getoption("mt_warn_days"), validate=False)
    return cache[key]


# ---------------------------------------------------------------------------------------------
# Test generation and outcome


@pytest.hookimpl(trylast=True)  # after testinfra's: test ids read HOST-CONTROL_ID
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mt_control" not in metafunc.fixturenames:
        return
    import testinfra

    option = metafunc.config.option
    specs = option.hosts.split(",") if getattr(option, "hosts", None) else \
        getattr(metafunc.module, "testinfra_hosts", [None])
    hosts = testinfra.get_hosts(
        specs, connection=option.connection, ssh_config=option.ssh_config,
        ssh_identity_file=option.ssh_identity_file, sudo=option.sudo, sudo_user=option.sudo_user,
        ansible_inventory=option.ansible_inventory, force_ansible=option.force_ansible)
    plans = [plan_for(h, metafunc.config) for h in hosts]
    ids = control_ids(plans)
    if not ids:  # no host has a baseline: one failing test that says why
        reasons = "; ".join(p.error for p in plans if p.error) or "no hosts (use --hosts)"
        metafunc.config.stash[_STASH_NO_BASELINE] = reasons
        ids = [NO_BASELINE]
    metafunc.parametrize("mt_control", ids, ids=ids)


def _describe(control: Any) -> str:
    lines = [f"{control.id}: {control.title} [{control.severity}]"]
    if control.message:
        lines.append(f"  {control.message}")
    lines.append(f"  expected ({control.compare}): {json.dumps(control.expected, default=str)[:500]}")
    lines.append(f"  actual: {json.dumps(control.actual, default=str)[:500]}")
    refs = ", ".join(f"{k} {v}" for k, v in (control.references or {}).items())
    if refs:
        lines.append(f"  references: {refs}")
    return "\n".join(lines)


def check_control(host: Any, control_id: str, config: pytest.Config) -> None:
    """Pass, fail or skip one control test."""
    if control_id == NO_BASELINE and _STASH_NO_BASELINE in config.stash:
        pytest.fail(f"no baseline: {config.stash[_STASH_NO_BASELINE]}", pytrace=False)
    result = host_result(host, config)
    if result.status != "ok":
        pytest.fail(f"{result.host}: host {result.status}: {result.error}", pytrace=False)
    control = next((c for c in result.controls if c.id == control_id), None)
    if control is None:
        pytest.skip(f"{control_id} is not in {result.host}'s baseline")
    if control.status == "pass":
        return
    if control.status == "waived":
        waiver = control.waiver or {}
        pytest.skip(f"waived: {waiver.get('reason') or control.message} (owner {waiver.get('owner')}, "
                    f"expires {waiver.get('expires')})")
    if control.status == "not_applicable":
        pytest.skip(f"not applicable: {control.message}")
    prefix = "could not be read" if control.status == "error" else "failed"
    pytest.fail(f"{prefix}: {_describe(control)}", pytrace=False)


@pytest.fixture
def mt_host_result(host: Any, pytestconfig: pytest.Config) -> Any:
    """The evaluated mt-eklient result (evaluate.HostResult) of the testinfra `host`."""
    return host_result(host, pytestconfig)
