"""One host's exposure score, with every point given as a reason (catalog/risk/exposure.yml).

score = exposure (Normen properties, class group)
        + sum of finding points x (1 + exposure x findings_factor_per_exposure_point)

Findings come from the host's latest evaluated scan (an unreachable host keeps its last known
ones): failing controls by severity (compensating controls for a forbidden antivirus count
double), waivers and how soon they expire, patch age beyond the profile's maximum, Windows end of
support, and how long the host has been unreachable. Each finding names the measure that removes
it; the measure that lowers the score most is the one with the most points."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ..catalog import Catalog, References
from ..classification import MtClass
from ..evaluate import CLASS_CONTROL_ID
from .exposure import ExposureModel
from .normen import PROPERTIES, Property, normen_properties, use_scenario
from .state import HostState, add_months

if TYPE_CHECKING:
    from ..profile import Profile

DEFAULT_SEVERITY = "medium"


@dataclass
class Reason:
    kind: str  # property | group | failed_control | waiver | patch_age | os_support | unreachable
    points: int
    text: str
    references: dict[str, Any]
    measure: str | None = None  # key: findings with the same key go away with the same measure
    measure_text: str | None = None


@dataclass
class HostScore:
    host: str
    declared_class: str | None
    profile: str | None
    status: str  # ok | unreachable | error (latest scan)
    score: int
    exposure: int
    findings_factor: float
    scenario: int | None
    properties: dict[str, dict[str, Any]]
    edition: str | None
    end_of_support: str | None
    last_scan: str
    last_evaluated: str | None
    reasons: list[Reason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def measures(self) -> list[dict[str, Any]]:
        """Measures by the points they remove, most first."""
        sums: dict[str, dict[str, Any]] = {}
        for reason in self.reasons:
            if reason.measure:
                entry = sums.setdefault(reason.measure, {"key": reason.measure, "text": reason.measure_text,
                                                         "points": 0})
                entry["points"] += reason.points
                if reason.kind in ("patch_age", "os_support", "unreachable"):
                    entry["text"] = reason.measure_text  # the specific wording beats the control's title
        return sorted(sums.values(), key=lambda m: (-m["points"], m["key"]))

    def top_measure(self) -> dict[str, Any] | None:
        measures = self.measures()
        return measures[0] if measures else None

    def top_reasons(self, count: int = 3) -> list[Reason]:
        return sorted(self.reasons, key=lambda r: -r.points)[:count]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = sorted(out["reasons"], key=lambda r: -r["points"])
        out["top_measure"] = self.top_measure()
        return out


def _refs(references: References) -> dict[str, Any]:
    return references.model_dump(exclude_defaults=True)


def _scaled(points: float, factor: float) -> int:
    return max(1, round(points * factor)) if points > 0 else 0


def _class(state: HostState, profile: Profile | None) -> MtClass | None:
    text = state.declared_class
    if text:
        try:
            return MtClass.parse(text)
        except ValueError:
            pass
    if profile is not None:
        return MtClass(profile.classification.type, profile.classification.group)
    return None


def _exposure(model: ExposureModel, properties: dict[str, Property], mt_class: MtClass | None) -> list[Reason]:
    reasons = []
    for name in PROPERTIES:
        rule, prop = model.properties[name], properties[name]
        value = rule.assume if prop.value is None else prop.value
        if value and rule.points:
            basis = f"assumed: {prop.basis}" if prop.value is None else prop.basis
            reasons.append(Reason("property", rule.points, f"{rule.title} ({basis})", _refs(rule.references)))
    if mt_class is not None:
        group = model.groups[mt_class.group]  # type: ignore[index]
        if group.points:
            reasons.append(Reason("group", group.points, f"class {mt_class.type}{mt_class.group}: {group.reason}",
                                  {"other": ["MT eKlient classification (groups 0/1/2)"]}))
    return reasons


def _severity(control: dict[str, Any], catalog: Catalog) -> str:
    """The report's severity; the history keeps none, so the catalog's (the evaluator's own class
    check is not in the catalog: it is high, as in evaluate.py)."""
    if control.get("severity"):
        return str(control["severity"])
    if control["id"] == CLASS_CONTROL_ID:
        return "high"
    known = catalog.get(control["id"])
    return known.severity if known else DEFAULT_SEVERITY


def _waiver_expiry(control: dict[str, Any], profile: Profile | None) -> date | None:
    waiver = control.get("waiver") or {}
    if waiver.get("expires"):
        return date.fromisoformat(str(waiver["expires"]))
    if profile is not None:
        return next((w.expires for w in profile.waivers if w.control == control["id"]), None)
    return None


def _control_findings(model: ExposureModel, state: HostState, profile: Profile | None, catalog: Catalog,
                      mt_class: MtClass | None, as_of: date) -> list[tuple[float, Reason]]:
    rules = model.findings
    rule, waiver_rule = rules.failed_control, rules.waiver
    compensating = set()
    if profile is not None and not profile.antivirus.permitted:
        compensating = set(profile.antivirus.compensating_controls)
    measure = rule.measure_m if mt_class is not None and mt_class.type == "M" else rule.measure
    out: list[tuple[float, Reason]] = []
    for control in state.evaluated["controls"] if state.evaluated else []:
        cid, status, title = control["id"], control["status"], control.get("title") or control["id"]
        severity = _severity(control, catalog)
        base = rule.severity_points[severity]  # type: ignore[index]
        expires = _waiver_expiry(control, profile) if status == "waived" else None
        if status == "waived" and expires is not None and expires < as_of:
            status = "fail"
            title = f"{title} (its waiver expired {expires.isoformat()})"
        if status in ("fail", "error"):
            points, text = float(base), f"{cid} {status} ({severity}): {title}"
            if status == "error":
                points *= rule.error_factor
                text += " (could not be read)"
            if cid in compensating or control.get("mandatory"):
                points *= rule.compensating_factor
                text += "; a compensating control for the forbidden antivirus"
            out.append((points, Reason("failed_control", 0, text, _refs(rule.references), cid,
                                       measure.format(control=cid, title=title))))
        elif status == "waived":
            points = base * waiver_rule.severity_factor
            text = f"{cid} waived ({severity}): {title}"
            if expires is not None:
                text += f"; waiver expires {expires.isoformat()}"
                if (expires - as_of).days <= waiver_rule.expiring_days:
                    points += waiver_rule.expiring_points
                    text += f" (within {waiver_rule.expiring_days} days)"
            out.append((points, Reason("waiver", 0, text, _refs(waiver_rule.references), cid, waiver_rule.measure.format(
                control=cid, title=title, expires=expires.isoformat() if expires else "unknown"))))
    return out


def _patch_age(model: ExposureModel, state: HostState, as_of: date) -> list[tuple[float, Reason]]:
    rule = model.findings.patch_age
    control = state.control(rule.control)
    if not control or not isinstance(control.get("actual"), int) or not isinstance(control.get("expected"), int):
        return []
    assert state.evaluated_scan is not None
    age = control["actual"] + (as_of - state.evaluated_scan.evaluated_on).days
    over = age - control["expected"]
    if over <= 0:
        return []
    points = min(rule.max_points, math.ceil(over / 30) * rule.points_per_started_30_days)
    text = f"newest update {age} days old on {as_of.isoformat()}, the profile allows {control['expected']}"
    return [(points, Reason("patch_age", 0, f"{rule.reason}: {text}", _refs(rule.references), rule.control,
                            rule.measure))]


def _os_support(model: ExposureModel, state: HostState, as_of: date) -> list[tuple[float, Reason]]:
    rule = model.findings.os_support
    edition = state.edition()
    if edition is None:
        return []
    end = edition.end_of_support
    for band in rule.bands:
        if (band.ended and end < as_of) or (band.within_months and as_of <= end <= add_months(as_of, band.within_months)):
            text = f"{band.reason}: {edition.name}, end of support {end.isoformat()}"
            return [(band.points, Reason("os_support", 0, text, _refs(rule.references), rule.control, rule.measure))]
    return []


def _unreachable(model: ExposureModel, state: HostState, as_of: date) -> list[tuple[float, Reason]]:
    if state.reachable or state.down_since is None:
        return []
    rule = model.findings.unreachable
    days = max(0, (as_of - state.down_since.evaluated_on).days)
    points = min(rule.max_points, rule.points + rule.points_per_day * days)
    why = state.latest.get("error") or state.latest.get("status")
    text = (f"{rule.reason}: {state.latest.get('status')} since {state.down_since.evaluated_on.isoformat()} "
            f"({days} days; {why})")
    return [(points, Reason("unreachable", 0, text, _refs(rule.references), "unreachable", rule.measure))]


def score_host(state: HostState, profile: Profile | None, model: ExposureModel, catalog: Catalog,
               as_of: date) -> HostScore:
    mt_class = _class(state, profile)
    properties = normen_properties(profile) if profile is not None else {
        name: Property(None, "unknown", "profile unknown") for name in PROPERTIES}
    reasons = _exposure(model, properties, mt_class)
    exposure = sum(r.points for r in reasons)
    factor = round(1 + exposure * model.findings_factor_per_exposure_point, 3)
    findings = [*_control_findings(model, state, profile, catalog, mt_class, as_of), *_patch_age(model, state, as_of),
                *_os_support(model, state, as_of), *_unreachable(model, state, as_of)]
    for points, reason in findings:
        reason.points = _scaled(points, factor)
        reasons.append(reason)
    edition = state.edition()
    notes = []
    if not state.reachable and state.evaluated_scan is not None:
        notes.append(f"findings as of the last evaluation, {state.evaluated_scan.evaluated_on.isoformat()}")
    elif state.evaluated is None:
        notes.append("never evaluated: only the exposure and the unreachable time count")
    scanned = ((state.evaluated or state.latest).get("profile") or {}).get("version")
    if profile is not None and scanned is not None and scanned != profile.profile_version:
        notes.append(f"scanned against profile version {scanned}, properties from version {profile.profile_version}")
    return HostScore(
        host=state.host, declared_class=str(mt_class) if mt_class else state.declared_class,
        profile=state.profile_id, status=str(state.latest.get("status")), score=sum(r.points for r in reasons),
        exposure=exposure, findings_factor=factor,
        scenario=use_scenario(profile, properties)[0] if profile is not None else None,
        properties={k: v.to_dict() for k, v in properties.items()},
        edition=edition.name if edition else None,
        end_of_support=edition.end_of_support.isoformat() if edition else None,
        last_scan=state.latest_scan.label,
        last_evaluated=state.evaluated_scan.evaluated_on.isoformat() if state.evaluated_scan else None,
        reasons=reasons, notes=notes)
