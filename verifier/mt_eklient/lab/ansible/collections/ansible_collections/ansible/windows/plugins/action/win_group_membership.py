"""Simulated-lab stand-in for ansible.windows.win_group_membership (see mt_eklient.lab; lab runs only)."""

from mt_eklient.lab.action import LabAction


class ActionModule(LabAction):
    MODULE = "ansible.windows.win_group_membership"
