# Imports mt-eklient in Ansible's main process, before it forks a worker per host and task.
from __future__ import annotations

DOCUMENTATION = """
    name: mt_eklient_preload
    type: aggregate
    short_description: import mt-eklient once, before Ansible forks its workers
    description:
      - >-
        The roles' action plugins (mt_build_plan, mt_build_preflight, mt_build_verify, mt_scan_*) run
        in the worker Ansible forks for every host and task, and a module the main process never
        imported is imported again by every worker: about 0.2 CPU-seconds per host and task for
        mt-eklient's modules and pydantic, and the catalog read again. When a playbook starts, this
        callback imports them and loads the catalog, the safety floor and the LTSC dates (through the
        parsed-data cache) in the main process, so every worker inherits them.
      - >-
        It writes nothing and changes nothing. Where mt-eklient cannot be imported it does nothing:
        the action plugins then report that themselves.
      - >-
        Ansible loads it for every playbook in this directory (a callback_plugins directory next to
        the playbook), with no configuration: under ansible-playbook, mtk lab ansible-playbook and
        ansible-runner (AWX) alike.
"""

import contextlib
import importlib

from ansible.plugins.callback import CallbackBase

# What the roles' action plugins import.
PRELOADED = ("mt_eklient.buildplan", "mt_eklient.buildverify", "mt_eklient.applying", "mt_eklient.changeset",
             "mt_eklient.collection", "mt_eklient.drafts", "mt_eklient.hosts", "mt_eklient.reports.plan_report",
             "mt_eklient.scanjob")


def preload():
    for name in PRELOADED:
        importlib.import_module(name)
    from mt_eklient.catalog import load_catalog
    from mt_eklient.floor import load_floor
    from mt_eklient.lifecycle import editions

    load_catalog()
    load_floor()
    editions()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mt_eklient_preload"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_start(self, playbook):
        # Only an optimisation: whatever fails here fails again, with its own message, in the worker.
        with contextlib.suppress(Exception):
            preload()
