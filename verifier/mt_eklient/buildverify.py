"""Every build ends verified: the second collection, evaluated by the verifier, as a scan would.

After the appliers ran, the build collects again with the scan's collector and request and
evaluates every control of the host's baseline with the verifier (scanresult.run_evaluation). The
host passes only when no control fails or cannot be read; each failing control is named, with
whether the build sets it (then the build did not achieve it) or not (catalog `build: false`, or
skipped for this profile: someone must fix it by hand, or waive it in the profile). The same JSON
and HTML reports as `mtk scan` are written for the host: the technician's hand-over evidence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .buildplan import control_targets
from .changeset import FAILING
from .hosts import HostResolver
from .scanjob import RUNNER_ARTIFACTS_ENV
from .scanresult import HostInput, run_evaluation, write_reports

REPORT_DIR_NAME = "mtk-build"


def default_report_dir(environ: dict[str, str] | None = None) -> Path:
    """The runner's artefacts directory (AWX, ansible-runner) + mtk-build, else reports/build."""
    environ = dict(os.environ) if environ is None else environ
    artifacts = environ.get(RUNNER_ARTIFACTS_ENV)
    return Path(artifacts) / REPORT_DIR_NAME if artifacts else Path("reports") / "build"


@dataclass
class Verification:
    host: str
    verdict: str
    failing: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict == "pass" and not self.failing

    def message(self) -> str:
        if self.ok:
            return f"{self.host}: verified, every control passes (report {self.reports.get('html')})"
        named = "; ".join(
            f"{f['control']} {f['status']} ({'set by the build' if f['built'] else 'not set by the build'})"
            f" - {f['message'] or f['title']}" for f in self.failing)
        return f"VERIFICATION FAILED {self.host}: {named or self.verdict} (report {self.reports.get('html')})"


def verify(name: str, hostvars: dict[str, Any], today: date, facts: Any, report_dir: str | Path | None,
           profiles_dir: str | None = None, sites_dir: str | None = None) -> Verification:
    """Evaluate the post-build facts of one host and write its scan reports into `report_dir`
    (default: default_report_dir())."""
    resolver = HostResolver(today, profiles_dir, sites_dir=sites_dir)
    loaded, baseline = resolver(name, hostvars)
    owned, _ = control_targets(baseline, loaded, resolver.context(name, hostvars))
    item = HostInput(name, baseline=baseline, facts=facts if isinstance(facts, dict) else None,
                     applications=[a.model_dump(mode="json") for a in loaded.profile.applications],
                     status="ok" if isinstance(facts, dict) else "error",
                     error=None if isinstance(facts, dict) else "the verification collector returned no facts",
                     declared_class=baseline.declared_class)
    result = run_evaluation([item], today=today, source={"kind": "build verification", "host": name},
                            command="build verification")
    directory = Path(report_dir) if report_dir else default_report_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / f"{name}.json", "html": directory / f"{name}.html"}
    write_reports(result, json_path=paths["json"], html_path=paths["html"])
    host = result.hosts[0]
    failing = [{"control": c.id, "title": c.title, "status": c.status, "message": c.message or "",
                "built": c.id in owned} for c in host.controls if c.status in FAILING]
    if host.verdict in ("error", "unreachable") and not failing:
        failing.append({"control": "(host)", "title": "", "status": host.verdict, "message": host.error or "",
                        "built": False})
    return Verification(name, host.verdict, failing, {k: str(v) for k, v in paths.items()})
