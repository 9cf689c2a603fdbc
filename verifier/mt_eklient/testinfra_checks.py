"""The mt-eklient controls as testinfra tests: one test per control and host.

    pytest --pyargs mt_eklient.testinfra_checks --hosts=ansible://wm1-sono-01 \
        --ansible-inventory=inventories/prod --force-ansible

Options (mt_eklient.testinfra_plugin): --profile FILE, --mt-class CLASS, --mt-warn-days N. See
docs/scan.md. Facts are collected once per host; each test reads the cached evaluation.
"""

from __future__ import annotations

from mt_eklient.testinfra_plugin import check_control


def test_control(host, mt_control, pytestconfig):
    check_control(host, mt_control, pytestconfig)
