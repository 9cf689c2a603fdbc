"""Internal Ansible files of `mtk scan`: the collection playbook and its callback plugin.

`collect.yml` runs the read-only collector once per host with `ansible.windows.win_powershell`;
`callback_plugins/mtk_scan.py` (loaded as the stdout callback, next to the playbook) writes one JSON
line per host outcome to the file named by `$MTK_SCAN_EVENTS`, which `mt_eklient.scan` reads as
the lines arrive. Nothing here is meant to be run by hand.
"""

from pathlib import Path

PLAYBOOK = Path(__file__).resolve().parent / "collect.yml"
CALLBACK_NAME = "mtk_scan"
