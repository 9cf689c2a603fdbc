"""A build refuses a draft profile (not approved by MT engineering) on the controller, before any
remote call; a scan may use the draft and says so."""

from __future__ import annotations

import re
import shutil

from lab_session import REPO


def test_draft_profile_is_refused_before_the_host_is_touched(tmp_path, built_lab):
    profiles = tmp_path / "profiles"
    shutil.copytree(REPO / "profiles", profiles)
    path = profiles / "sonora-review-4.yml"
    text = path.read_text()
    text, approvals = re.subn(r"(?m)^  approved_(by|date): .*\n", "", text)
    assert approvals == 2
    path.write_text(text)
    with built_lab.preserved():
        calls = len(built_lab.journal("wm1-sono-01"))
        result = built_lab.play("--limit", "wm1-sono-01", "-e", f"mt_preflight_profiles_dir={profiles}", expect=None)
        assert result.returncode != 0
        assert re.search(r"REFUSED wm1-sono-01: profile sonora-review-4 \(\S+\) is a draft", result.stdout), \
            result.stdout[-3000:]
        assert len(built_lab.journal("wm1-sono-01")) == calls  # no remote call at all
