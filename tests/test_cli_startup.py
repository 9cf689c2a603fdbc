"""`mtk` start-up: only the chosen command's module is imported (every `mtk` call and every test
subprocess pays the imports), and the command list in `mtk --help` matches the real commands."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from mt_eklient import cli

HEAVY = ("mt_eklient.commands.", "pydantic", "jsonschema", "mt_eklient.catalog", "mt_eklient.lab")


def _imported_after(argv: list[str]) -> list[str]:
    code = ("import sys; from mt_eklient import cli\n"
            f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.splitlines()


def test_help_imports_no_command_module_nor_their_libraries():
    loaded = _imported_after(["--help"])
    assert "mt_eklient.cli" in loaded
    assert [m for m in loaded if m.startswith(HEAVY)] == []


@pytest.mark.parametrize(("argv", "module", "absent"), [
    (["catalog", "--help"], "mt_eklient.commands.catalog", "mt_eklient.commands.scan"),
    (["scan", "--help"], "mt_eklient.commands.scan", "mt_eklient.commands.lab"),
    (["drift", "--help"], "mt_eklient.commands.verify", "mt_eklient.commands.profile"),
])
def test_a_command_imports_its_own_module_only(argv, module, absent):
    loaded = _imported_after(argv)
    assert module in loaded and absent not in loaded


def test_lab_commands_build_their_parser_without_the_scan_or_the_evaluation():
    """Every `mtk lab ...` call (tests and the demo make hundreds) builds the lab group's parser, which
    registers `lab scan` and `lab plan`: their options come from light modules, not from the scan,
    the evaluation and the reports (~0.15 CPU-s a call)."""
    loaded = _imported_after(["lab", "env", "--help"])
    assert "mt_eklient.commands.lab" in loaded and "mt_eklient.commands.scan" in loaded
    assert [m for m in loaded if m in ("mt_eklient.scan", "mt_eklient.evaluate", "mt_eklient.commands.verify",
                                       "mt_eklient.catalog") or m.startswith("pydantic")] == []


def test_help_lists_every_command_with_the_modules_own_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listing = capsys.readouterr().out
    full = cli.build_parser()  # every module registered
    subparsers = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    registered = {a.dest: a.help for a in subparsers._choices_actions}
    assert registered == {name: help_text for name, (_, help_text) in cli.COMMANDS.items()}
    for name, (_, help_text) in cli.COMMANDS.items():
        assert name in listing and help_text in " ".join(listing.split())


def test_unknown_command_is_a_usage_error_listing_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["sacn"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'sacn'" in err and "scan" in err and "verify" in err


def test_lab_scan_is_registered_with_the_lab_group():
    parser = cli.build_parser(["lab", "scan", "--help"])
    lab = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["lab"]
    lab_sub = next(a for a in lab._actions if isinstance(a, argparse._SubParsersAction))
    assert "scan" in lab_sub.choices
