"""The control catalog: what each class must have and why. Data in `catalog/*.yml`; this module
only loads and validates it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .baseline import meaning_key
from .datacache import cached, classes_of
from .errors import InputError, Problem
from .yamlsource import load_yaml

Area = Literal[
    "os", "whitelisting", "antivirus", "firewall", "patching", "removable_media", "autorun", "smb",
    "accounts", "screen_lock", "audit", "event_forwarding", "remote_access", "nameplate", "classification",
]
Compare = Literal[
    "equals", "at_most", "at_least", "between", "one_of", "set_equals", "subset_of", "superset_of", "contains",
    "not_contains", "absent", "present",
]

# Parameters each check method takes; the collector, the evaluator and the build appliers share this.
METHOD_PARAMS: dict[str, frozenset[str]] = {
    "registry": frozenset({"key", "name", "type"}),
    # A setting with a Group Policy value and a local one: the policy value (under `key`, a
    # SOFTWARE\Policies path) wins where it exists, else `fallback_key` holds the effective value.
    "registry_policy": frozenset({"key", "fallback_key", "name", "type"}),
    # Every value of one key, {name: data}: lists Windows keeps as numbered values ("1", "2", ...).
    "registry_values": frozenset({"key", "type"}),
    "audit_policy": frozenset({"guid"}),
    "security_policy": frozenset({"section", "key"}),
    "service": frozenset({"name", "property"}),
    "firewall_profile": frozenset({"property"}),
    "firewall_rules": frozenset({"group"}),
    "firewall_management": frozenset(),
    "firewall_open_rules": frozenset({"direction"}),
    "defender": frozenset({"source", "property"}),
    "applocker": frozenset({"collection", "property"}),
    "wdac": frozenset({"property"}),
    "hotfix": frozenset({"property"}),
    "programs": frozenset({"property"}),
    "local_group": frozenset({"sid"}),
    "optional_feature": frozenset({"name"}),
    "smb": frozenset({"property"}),
    "os": frozenset({"property"}),
    "nameplate": frozenset({"property"}),
    "class_evidence": frozenset(),
}
# Methods the build can apply; the others are verified only.
BUILDABLE_METHODS = frozenset({
    "registry", "registry_policy", "registry_values", "audit_policy", "security_policy", "service", "firewall_profile", "firewall_rules",
    "firewall_management", "firewall_open_rules", "defender", "applocker", "local_group", "optional_feature", "nameplate",
})
FLOOR_FILE = "floor.yml"
REGISTRY_TYPES = frozenset({"dword", "qword", "string", "expandstring", "multistring", "binary"})
DERIVATIONS = frozenset({
    "firewall_rules", "management_rule", "local_admins", "applocker_rules", "nameplate", "subscription_manager",
    "screen_lock_range",
    "usb_allowed_device_ids",
    "au_install_day", "au_install_hour", "quality_deferral_days", "blocked_kb_ids",
})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AppliesTo(_Model):
    types: list[Literal["W", "WM", "M"]] = ["W", "WM", "M"]
    groups: list[Literal[0, 1, 2]] = [0, 1, 2]


class Condition(_Model):
    profile: str
    equals: Any = None
    one_of: list[Any] | None = None
    not_equals: Any = None

    def holds(self, actual: Any) -> bool:
        if self.one_of is not None:
            return actual in self.one_of
        if "not_equals" in self.model_fields_set:
            return actual != self.not_equals
        return actual == self.equals

    def describe(self) -> str:
        if self.one_of is not None:
            return f"{self.profile} is one of {self.one_of}"
        if "not_equals" in self.model_fields_set:
            return f"{self.profile} is not {self.not_equals!r}"
        return f"{self.profile} is {self.equals!r}"


class Expected(_Model):
    value: Any = None
    profile: str | None = None
    map: dict[Any, Any] | None = None
    derive: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Expected:
        given = ["value" in self.model_fields_set, self.profile is not None, self.derive is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of value, profile, derive")
        if self.derive is not None and self.derive not in DERIVATIONS:
            raise ValueError(f"unknown derivation {self.derive!r}; known: {', '.join(sorted(DERIVATIONS))}")
        return self


class References(_Model):
    normen: str | None = None
    mdcg: str | None = None
    nsm: list[str] = []
    mds2: list[str] = []
    cis: str | None = None
    other: list[str] = []


class Control(_Model):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    title: str = Field(min_length=5)
    area: Area
    applies_to: AppliesTo = AppliesTo.model_construct()
    when: list[Condition] = []
    check: dict[str, Any]
    expected: Expected | None = None
    compare: Compare = "equals"
    build: bool = False
    # Why the build does not set the control (required with build: false): every control is owned
    # by the build or says why not, so a gap the build could close is a decision, not an accident.
    build_reason: str | None = Field(default=None, min_length=10)
    severity: Literal["low", "medium", "high", "critical"]
    rationale: str = Field(min_length=10)
    references: References
    # What the raw values of the setting mean, for reports ("1 (Sunday)"): {raw value: meaning}.
    meanings: dict[int | bool | str, str] = {}

    @model_validator(mode="after")
    def _check_shape(self) -> Control:
        method = self.check.get("method")
        if method not in METHOD_PARAMS:
            raise ValueError(f"check.method {method!r} unknown; known: {', '.join(METHOD_PARAMS)}")
        params = set(self.check) - {"method"}
        missing, extra = METHOD_PARAMS[method] - params, params - METHOD_PARAMS[method]
        if missing or extra:
            raise ValueError(f"check for method {method} takes {sorted(METHOD_PARAMS[method])}, got {sorted(params)}")
        if method in ("registry", "registry_policy", "registry_values") and self.check["type"] not in REGISTRY_TYPES:
            raise ValueError(f"registry type {self.check['type']!r} unknown")
        if self.build and method not in BUILDABLE_METHODS:
            raise ValueError(f"build: true but method {method} has no build applier")
        if self.build and self.build_reason is not None:
            raise ValueError("build_reason is for controls the build does not set (build: false)")
        if not self.build and self.build_reason is None:
            raise ValueError("build: false needs build_reason: why the build does not set this control")
        if self.expected is None and self.compare not in ("absent", "present"):
            raise ValueError(f"compare {self.compare} needs an expected value")
        return self

    @property
    def method(self) -> str:
        return str(self.check["method"])

    def value_meanings(self) -> dict[str, str]:
        """`meanings` keyed as reports look values up (meaning_key)."""
        return {meaning_key(k): v for k, v in self.meanings.items()}


@dataclass(frozen=True)
class Catalog:
    version: str
    controls: tuple[Control, ...]

    def get(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.id == control_id), None)

    def ids(self) -> set[str]:
        return {c.id for c in self.controls}


def load_catalog_dir(directory: Path) -> Catalog:
    problems: list[Problem] = []
    controls: list[Control] = []
    seen: dict[str, str] = {}
    version = "unversioned"
    for path in sorted(directory.glob("*.yml")):
        doc = load_yaml(path)
        if path.name == FLOOR_FILE:  # the safety floor, loaded by floor.py
            continue
        if path.name == "catalog.yml":
            version = str(doc.data.get("version", version)) if isinstance(doc.data, dict) else version
            continue
        if not isinstance(doc.data, list):
            problems.append(doc.problem((), "a catalog file is a list of controls"))
            continue
        for index, raw in enumerate(doc.data):
            try:
                control = Control.model_validate(raw)
            except ValidationError as err:
                for item in err.errors():
                    loc = (index, *[p for p in item["loc"] if isinstance(p, (int, str))])
                    problems.append(doc.problem(loc, item["msg"]))
                continue
            if control.id in seen:
                problems.append(doc.problem((index, "id"), f"duplicate control id (also in {seen[control.id]})"))
            seen[control.id] = path.name
            controls.append(control)
    if problems:
        raise InputError(problems)
    return Catalog(version, tuple(controls))


MODEL_CLASSES = classes_of(__name__, "AppliesTo", "Condition", "Expected", "References", "Control")


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (from the user's cache when it is unchanged: datacache.py)."""
    # The package's own directory, as facts.py finds its schema: importlib.resources (and the
    # tempfile and zipfile modules it imports) cost every short command ~5 ms for the same path.
    directory = Path(__file__).parent / "catalog"
    return cached("catalog", sorted(directory.glob("*.yml")), lambda: load_catalog_dir(directory),
                  MODEL_CLASSES | classes_of(__name__, "Catalog"), Catalog)
