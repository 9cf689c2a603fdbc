"""The exposure model: catalog/risk/exposure.yml (points, assumptions, reasons, Normen and NSM
references), loaded and validated. Numbers live in the data; mt_eklient.fleet.scoring applies them."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..catalog import References
from ..errors import InputError
from ..yamlsource import load_yaml
from .normen import PROPERTIES

Severity = Literal["low", "medium", "high", "critical"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertyRule(_Model):
    title: str
    points: int = Field(ge=0)
    assume: bool
    reason: str
    references: References


class GroupRule(_Model):
    points: int = Field(ge=0)
    reason: str


class _Explained(_Model):
    """A finding rule: why it scores (with its Normen/NSM references) and the measure that lowers it."""

    reason: str
    references: References
    measure: str


class FailedControl(_Explained):
    severity_points: dict[Severity, int]
    error_factor: float = Field(ge=0)
    compensating_factor: float = Field(ge=1)
    measure_m: str

    @model_validator(mode="after")
    def _every_severity(self) -> FailedControl:
        missing = {"low", "medium", "high", "critical"} - set(self.severity_points)
        if missing:
            raise ValueError(f"severity_points lacks {', '.join(sorted(missing))}")
        return self


class WaiverRule(_Explained):
    severity_factor: float = Field(ge=0)
    expiring_days: int = Field(ge=0)
    expiring_points: int = Field(ge=0)


class PatchAge(_Explained):
    control: str
    points_per_started_30_days: int = Field(ge=0)
    max_points: int = Field(ge=0)


class SupportBand(_Model):
    ended: bool = False
    within_months: int | None = Field(default=None, ge=1)
    points: int = Field(ge=0)
    reason: str

    @model_validator(mode="after")
    def _one_kind(self) -> SupportBand:
        if self.ended == (self.within_months is not None):
            raise ValueError("a band is either ended: true or within_months: N")
        return self


class OsSupport(_Model):
    control: str
    bands: list[SupportBand] = Field(min_length=1)
    references: References
    measure: str


class Unreachable(_Explained):
    points: int = Field(ge=0)
    points_per_day: int = Field(ge=0)
    max_points: int = Field(ge=0)


class Findings(_Model):
    failed_control: FailedControl
    waiver: WaiverRule
    patch_age: PatchAge
    os_support: OsSupport
    unreachable: Unreachable


class ExposureModel(_Model):
    version: int
    findings_factor_per_exposure_point: float = Field(ge=0)
    properties: dict[str, PropertyRule]
    groups: dict[Literal[0, 1, 2], GroupRule]
    findings: Findings

    @model_validator(mode="after")
    def _every_property(self) -> ExposureModel:
        unknown = set(self.properties) - set(PROPERTIES)
        missing = set(PROPERTIES) - set(self.properties)
        if unknown or missing:
            raise ValueError(f"properties must be exactly {', '.join(PROPERTIES)}")
        if set(self.groups) != {0, 1, 2}:
            raise ValueError("groups must give points for 0, 1 and 2")
        return self


EXPOSURE_FILE = "catalog/risk/exposure.yml"


def load_exposure_file(path: Path) -> ExposureModel:
    doc = load_yaml(path)
    try:
        return ExposureModel.model_validate(doc.data)
    except ValidationError as err:
        raise InputError([doc.problem(tuple(p for p in e["loc"] if isinstance(p, (str, int))), e["msg"])
                          for e in err.errors()]) from None


@cache
def load_exposure() -> ExposureModel:
    """The exposure model shipped in the catalog."""
    return load_exposure_file(Path(str(resources.files("mt_eklient").joinpath(EXPOSURE_FILE))))
