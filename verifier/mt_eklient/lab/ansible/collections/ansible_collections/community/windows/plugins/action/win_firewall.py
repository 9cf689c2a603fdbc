"""Simulated-lab stand-in for community.windows.win_firewall (see mt_eklient.lab; lab runs only)."""

from mt_eklient.lab.action import LabAction


class ActionModule(LabAction):
    MODULE = "community.windows.win_firewall"
