from __future__ import annotations

import pytest
from mt_eklient.classification import MtClass, build_refusal, observe_class

SONO = [{"name": "SonoRev Review", "uninstall_display_name": "SonoRev Review 4.*", "services": ["SonoRevDicom"]}]


@pytest.mark.parametrize("text", ["W0", "WM1", "m2", " WM0 "])
def test_parse_valid_classes(text):
    assert str(MtClass.parse(text)) == text.strip().upper()


@pytest.mark.parametrize("text", ["WX1", "WM3", "W", "M12", ""])
def test_parse_rejects_invalid_classes(text):
    with pytest.raises(ValueError, match="expected W, WM or M"):
        MtClass.parse(text)


def test_only_matching_wm_is_buildable():
    wm1 = MtClass.parse("WM1")
    assert build_refusal(wm1, wm1) is None
    assert "never builds" in build_refusal(MtClass.parse("M1"), MtClass.parse("M1"))
    assert "never builds" in build_refusal(wm1, MtClass.parse("M1"))
    assert "does not match" in build_refusal(wm1, MtClass.parse("WM2"))
    assert "WM clients only" in build_refusal(MtClass.parse("W0"), MtClass.parse("W0"))


def facts(programs=(), domain=True, wsus=True, nameplate=None):
    registry = {"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate": {"WUServer": {"type": "REG_SZ", "value": "https://wsus"}}} if wsus else {}
    return {"programs": [{"name": p} for p in programs], "services": {}, "host": {"part_of_domain": domain},
            "registry": registry, "nameplate": nameplate}


def test_mt_app_on_it_managed_machine_looks_wm():
    evidence = observe_class(facts(["SonoRev Review 4.2.1"]), SONO)
    assert evidence.observed_type == "WM"
    assert any("SonoRev Review" in r for r in evidence.reasons)


def test_mt_app_without_it_management_looks_m():
    assert observe_class(facts(["SonoRev Review 4.2.1"], domain=False, wsus=False), SONO).observed_type == "M"


def test_it_managed_without_mt_apps_looks_w_for_a_w_profile():
    assert observe_class(facts(), []).observed_type == "W"


def test_missing_mt_app_gives_no_verdict():
    evidence = observe_class(facts(["Notepad++"]), SONO)
    assert evidence.observed_type is None
    assert any("none of the profile's MT applications" in r for r in evidence.reasons)
