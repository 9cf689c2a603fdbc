"""Simulated-lab stand-in for ansible.windows.win_reboot (see mt_eklient.lab; lab runs only)."""

from mt_eklient.lab.action import LabAction


class ActionModule(LabAction):
    MODULE = "ansible.windows.win_reboot"
