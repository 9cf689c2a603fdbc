"""inventories/example-site/, the template a site copies: Ansible reads it, every host resolves with
the repository's profiles and its site, and the docs name it (and only it) as the example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from mt_eklient.hosts import HostResolver

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "inventories" / "example-site"


def test_ansible_reads_the_template_and_every_host_resolves():
    inventory = subprocess.run([str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(EXAMPLE),
                                "--list"], capture_output=True, text=True, check=True, timeout=120)
    hostvars = json.loads(inventory.stdout)["_meta"]["hostvars"]
    assert set(hostvars) == {"wm1-sono-01.region.local", "wm0-lab-01.region.local", "w0-std-01.region.local",
                             "m1-ct-01.region.local"}
    resolver = HostResolver(date(2026, 11, 25))
    for name, variables in hostvars.items():
        assert variables["mt_site"] == "region-vastland"
        assert variables["ansible_password"] == "{{ vault_mtk_password }}"  # never a password in clear
        _, baseline = resolver(name, variables)
        assert baseline.site["id"] == "region-vastland"


def test_the_vault_file_is_a_template_ansible_ignores():
    assert not (EXAMPLE / "group_vars" / "all" / "vault.yml").exists()
    assert "ansible-vault encrypt" in (EXAMPLE / "group_vars" / "all" / "vault.yml.example").read_text()


def test_readme_scan_and_build_docs_name_the_same_example_inventory():
    for doc in ("README.md", "docs/scan.md", "docs/build.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        assert "inventories/example-site" in text, doc
        others = set(re.findall(r"inventories/([a-z][\w-]*)", text)) - {"example-site", "lab"}
        assert not others, f"{doc} names other example inventories: {others}"


def test_scan_doc_shows_the_template_connection_file_as_it_is():
    text = (REPO / "docs" / "scan.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# inventories/example-site/group_vars/all/connection.yml\n(.*?)```", text, re.DOTALL)
    assert block and block.group(1) == (EXAMPLE / "group_vars" / "all" / "connection.yml").read_text()
