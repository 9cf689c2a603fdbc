"""execution-environment.yml: `ansible-builder create` (the PyPI package; no container engine) makes a
complete build context, and the image's pins agree with what the project declares and is tested with."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]
EE = REPO / "execution-environment.yml"
BUILDER = Path(sys.executable).parent / "ansible-builder"
# Runtime dependencies of the package the image leaves out, and why: the `ansible` community
# package only carries collections (requirements.yml brings the two the roles need); pytest and
# testinfra serve `pytest --pyargs mt_eklient.testinfra_checks`, which does not run in AWX.
NOT_IN_IMAGE = {"ansible", "pytest", "pytest-testinfra"}


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def pins() -> dict[str, Requirement]:
    lines = (REPO / "ee" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {r.name.lower(): r for r in reqs}


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ee") / "context"
    result = subprocess.run([str(BUILDER) if BUILDER.is_file() else "ansible-builder", "create", "-f", str(EE),
                             "-c", str(out), "--output-filename", "Containerfile"],
                            cwd=REPO, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_definition_is_schema_3_with_everything_the_jobs_need():
    data = yaml.safe_load(EE.read_text(encoding="utf-8"))
    assert data["version"] == 3
    deps = data["dependencies"]
    assert deps["galaxy"] == "requirements.yml"  # the build's own pinned collection list, not a copy
    assert {"ansible_core", "ansible_runner", "python_interpreter", "python", "system"} <= set(deps)


def test_create_writes_a_complete_build_context(context: Path):
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    base = yaml.safe_load(EE.read_text(encoding="utf-8"))["images"]["base_image"]["name"]
    assert f'EE_BASE_IMAGE="{base}"' in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "pip install --no-cache-dir --no-deps /build/mt-eklient" in containerfile
    build = context / "_build"
    assert (build / "requirements.yml").read_text() == (REPO / "requirements.yml").read_text()
    assert (build / "requirements.txt").read_text() == (REPO / "ee" / "requirements.txt").read_text()
    bindep = (build / "bindep.txt").read_text()
    for package in ("krb5-libs", "krb5-workstation", "krb5-devel", "libkrb5-3", "krb5-user"):
        assert package in bindep
    package = REPO / "verifier" / "mt_eklient"
    tracked = subprocess.run(["git", "ls-files", "verifier/mt_eklient"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    missing = [p for p in tracked if not (build / "mt-eklient" / p).is_file()]
    assert tracked and not missing, f"not in the build context: {missing[:5]}"
    assert (build / "mt-eklient" / "pyproject.toml").is_file() and package.is_dir()


def test_the_package_builds_from_the_context_alone(context: Path, tmp_path: Path):
    """What the image's final stage does: a wheel from _build/mt-eklient, with its data files."""
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                             str(context / "_build" / "mt-eklient"), "-w", str(tmp_path)],
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    [wheel] = tmp_path.glob("mt_eklient-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("mt_eklient/collector/collect.ps1", "mt_eklient/catalog/os.yml", "mt_eklient/scanjob.py",
                   "mt_eklient/schemas/report.schema.json", "mt_eklient/history.py"):
        assert member in names


def test_python_pins_satisfy_the_package_and_cover_its_dependencies():
    declared = {Requirement(r).name.lower(): Requirement(r) for r in pyproject()["project"]["dependencies"]}
    declared |= {Requirement(r).name.lower(): Requirement(r)
                 for r in pyproject()["project"]["optional-dependencies"]["postgresql"]}
    pinned = pins()
    # ansible-core is the definition's own ansible_core entry (next test).
    assert set(declared) - NOT_IN_IMAGE - {"ansible-core"} <= set(pinned), \
        "a runtime dependency is not pinned in ee/requirements.txt"
    for name, requirement in pinned.items():
        [spec] = list(requirement.specifier)
        assert spec.operator == "==", f"{name} is not pinned"
        if name in declared:
            assert declared[name].specifier.contains(spec.version), f"{name}=={spec.version} is outside pyproject.toml"
    assert "kerberos" in pinned["pywinrm"].extras and "kerberos" in pinned["pypsrp"].extras


def test_ansible_pins_satisfy_the_package():
    deps = yaml.safe_load(EE.read_text(encoding="utf-8"))["dependencies"]
    declared = {Requirement(r).name: Requirement(r).specifier for r in pyproject()["project"]["dependencies"]}
    core = Requirement(deps["ansible_core"]["package_pip"])
    runner = Requirement(deps["ansible_runner"]["package_pip"])
    test_extras = {Requirement(r).name: Requirement(r).specifier
                   for r in pyproject()["project"]["optional-dependencies"]["test"]}
    assert declared["ansible-core"].contains(next(iter(core.specifier)).version)
    assert test_extras["ansible-runner"].contains(next(iter(runner.specifier)).version)


def test_collections_are_the_versions_the_roles_are_tested_with():
    """The collections the tests validate the roles against (shipped by the venv's `ansible`) are in
    requirements.yml's ranges, which the image installs."""
    import ansible_collections

    root = Path(ansible_collections.__path__[0])
    wanted = {c["name"]: c["version"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    assert set(wanted) == {"ansible.windows", "community.windows"}
    for name, spec in wanted.items():
        manifest = yaml.safe_load((root / name.replace(".", "/") / "MANIFEST.json").read_text())
        assert SpecifierSet(spec).contains(manifest["collection_info"]["version"]), (name, spec)
