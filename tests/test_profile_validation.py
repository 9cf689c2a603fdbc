"""Bad profiles are rejected with one line per problem naming file, line and field; good ones load."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mt_eklient.errors import InputError
from mt_eklient.profile import load_profile

REPO_PROFILES = Path(__file__).resolve().parents[1] / "profiles"


def problems_of(path) -> list[str]:
    with pytest.raises(InputError) as err:
        load_profile(path)
    return [str(p) for p in err.value.problems]


def test_example_profile_loads(sonora, write_profile):
    loaded = load_profile(write_profile(sonora))
    assert loaded.profile.classification.label == "WM1"
    assert len(loaded.sha256) == 64


def test_malformed_yaml_names_the_line(write_profile):
    path = write_profile("id: x\nnetwork: [1,\n")
    [line] = problems_of(path)
    assert line.startswith(f"{path}:3: malformed YAML")


def test_list_where_mapping_belongs(write_profile):
    [line] = problems_of(write_profile("- a\n- b\n"))
    assert "a profile is a mapping" in line


@pytest.mark.parametrize(
    ("mutate", "field", "text"),
    [
        (lambda p: p.update(colour="blue"), "colour", "unknown key"),
        (lambda p: p["classification"].update(type="WX"), "classification.type", "'W', 'WM' or 'M'"),
        (lambda p: p["classification"].update(group=7), "classification.group", "0, 1 or 2"),
        (lambda p: p["network"]["inbound"][0].update(ports=[70000]), "network.inbound[0].ports[0]", "outside 1-65535"),
        (lambda p: p["network"]["inbound"][0].update(ports=["9-3"]), "network.inbound[0].ports[0]", "backwards"),
        (lambda p: p["network"]["zones"].update(pacs=["10.30.4.300"]), "network.zones.pacs[0]", "invalid IP"),
        (lambda p: p["network"]["zones"].update(pacs=["10.30.4.1/24"]), "network.zones.pacs[0]", "invalid IP"),
        (lambda p: p["network"]["outbound"][0].update(remote=["nowhere"]), "network.outbound[0].remote[0]", "unknown zone"),
        (lambda p: p["patching"].update(blocked_kbs=["5034441"]), "patching.blocked_kbs[0]", "pattern"),
        (lambda p: p["network"]["outbound"][1].update(name="dicom-to-pacs"), "network.outbound[1].name", "duplicate rule name"),
        (lambda p: p["antivirus"].update(permitted=False, realtime=False), "antivirus.exclusions", "not permitted"),
        (lambda p: p["applications"][0].update(publisher=None, install_paths=[]), "whitelisting.mode", "no application rules"),
        (lambda p: p["os"].update(editions=["win12-ltsc-2030"]), "os.editions", "unknown edition"),
        (lambda p: p.pop("patching"), "patching", "required key missing"),
        (lambda p: p["accounts"].update(local_admins=["Administrators"]), "accounts.local_admins[0]", "pattern"),
        (lambda p: p["accounts"]["kiosk"] if False else p["accounts"].update(kiosk={"auto_logon": True}),
         "accounts.kiosk.auto_logon", "only allowed on a kiosk"),
        (lambda p: p["patching"].update(approved_kbs=["KB5034441"]), "patching.approved_kbs[0]", "both approved and blocked"),
        (lambda p: p["waivers"][0].update(expires="soon"), "waivers[0].expires", "date"),
        (lambda p: p["patching"].update(defer_days=45), "patching.defer_days", "1 to 30"),
    ],
)
def test_invalid_profile_is_rejected_with_field_and_line(sonora, write_profile, mutate, field, text):
    mutate(sonora)
    path = write_profile(sonora)
    lines = problems_of(path)
    matching = [line for line in lines if f": {field}: " in line]
    assert matching, lines
    assert text in matching[0]
    # FILE:LINE: prefix whenever the field (or its parent) is in the file
    assert matching[0].startswith(f"{path}:")
    assert matching[0].split(":")[1].isdigit()


def test_every_problem_is_reported_not_just_the_first(sonora, write_profile):
    sonora["classification"]["group"] = 7
    sonora["colour"] = "blue"
    assert len(problems_of(write_profile(sonora))) == 2


def test_cli_validate_exit_codes_and_no_traceback(sonora, write_profile, tmp_path):
    good = write_profile(sonora)
    sonora["network"]["inbound"][0]["ports"] = [0]
    bad = write_profile(sonora, "bad.yml")
    run = [sys.executable, "-m", "mt_eklient.cli", "profile", "validate"]
    ok = subprocess.run([*run, str(good)], check=False, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    failed = subprocess.run([*run, str(good), str(bad)], check=False, capture_output=True, text=True)
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines() == [
        f"{bad}:{_line_of(bad, 'ports:') + 1}: network.inbound[0].ports[0]: port 0 outside 1-65535"]


def _line_of(path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_waiver_control_is_rejected(sonora, write_profile):
    sonora["waivers"][0]["control"] = "NO-SUCH-CONTROL"
    path = write_profile(sonora)
    run = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "profile", "validate", str(path)],
                         check=False, capture_output=True, text=True)
    assert run.returncode == 2
    assert "waivers[0].control: unknown control 'NO-SUCH-CONTROL'" in run.stderr


@pytest.mark.parametrize("impossible", ["2027-02-30", "2026-13-45"])
def test_impossible_date_names_file_line_and_field(impossible, sonora, write_profile):
    text = (REPO_PROFILES / "sonora-review-4.yml").read_text()
    path = write_profile(re.sub(r"expires: \S+", f"expires: {impossible}", text, count=1), "sonora-review-4.yml")
    run = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "profile", "validate", str(path)],
                         check=False, capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        f"{path}:{_line_of(path, impossible)}: waivers[0].expires: not a valid date (YYYY-MM-DD)"]


def test_id_must_match_the_file_name(sonora, write_profile):
    path = write_profile(sonora, "sonora-review-5.yml")
    run = subprocess.run([sys.executable, "-m", "mt_eklient.cli", "profile", "validate", str(path)],
                         check=False, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == (f"{path}:{_line_of(path, 'id: ')}: id: 'sonora-review-4' differs from the file "
                                  "name: name the file sonora-review-4.yml or set id: sonora-review-5")


@pytest.mark.parametrize(("text", "line", "words"), [
    ("id: x\nmanufacturer:\n  name: \"Sonora\n  country: SE\n", 5, "unclosed quote opened at line 3"),
    ("id: x\nmanufacturer:\n  name: Sonora\n country: SE\n", 4, "indentation: line 4 does not line up"),
    ("id: x\nos:\n\teditions: []\n", 3, "a tab character: indent with spaces"),
    ("id: x\nos: {editions: [a, b}\n", 2, "unclosed [ opened at line 2, or a missing ','"),
])
def test_yaml_errors_in_plain_words(text, line, words, write_profile):
    path = write_profile(text)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:{line}: malformed YAML: {words}"), problem


def test_unknown_key_suggests_the_known_one(sonora, write_profile):
    sonora["antivirus"]["exclusion"] = sonora["antivirus"].pop("exclusions")
    path = write_profile(sonora)
    assert f"{path}:{_line_of(path, 'exclusion:')}: antivirus.exclusion: unknown key (did you mean 'exclusions'?)" \
        in problems_of(path)


def test_unquoted_norway_gets_a_hint(write_profile, sonora):
    text = yaml.safe_dump(sonora, sort_keys=False).replace("country: SE", "country: NO")
    path = write_profile(text)
    expected = (f"{path}:{_line_of(path, 'country: NO')}: manufacturer.country: expected text, "
                'got false: quote the value ("NO", not NO)')
    assert problems_of(path) == [expected]


@pytest.mark.parametrize("url, accepted", [
    ("https://sonora.example/security-guide.pdf", True),
    ("http://vendor.example", True),
    ("javascript:alert(1)", False),  # reports link to it
    ("https://user:secret@vendor.example/guide.pdf", False),  # no secret in a URL
    ("ftp://vendor.example/guide.pdf", False),
])
def test_source_url_is_a_plain_web_address(url, accepted, sonora, write_profile):
    sonora["governance"]["sources"][0]["url"] = url
    path = write_profile(sonora)
    if accepted:
        assert load_profile(path).profile.governance.sources[0].url == url
        return
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{_line_of(path, 'url:')}: governance.sources[0].url: ")


def test_procedures_need_text(sonora, write_profile):
    sonora["procedures"] = [{"text": "Close the application before updates are installed", "source": "IfU 7.2"},
                            {"source": "IfU 7.3"}]
    path = write_profile(sonora)
    assert problems_of(path) == [f"{path}:{_line_of(path, 'source: IfU 7.3')}: procedures[1].text: required key missing"]


@pytest.mark.parametrize(("text", "words"), [
    ("id: x\nname: =\n", "a bare = is YAML's value key: quote it ('=')"),
    ("id: x\nname: !vendor SonoRev\n", "unknown tag '!vendor': quote the value or remove the tag"),
])
def test_values_yaml_cannot_build_are_a_line_not_a_crash(text, words, write_profile):
    path = write_profile(text)
    assert problems_of(path) == [f"{path}:2: malformed YAML: {words}"]
