"""What the CLI tests of each `mixmock` command share: its help, and the command lines it must refuse (each
test folder keeps its own in a `bad_settings.yaml`, rows of `id`, `command_line` and the `words` its error
names)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from mock_server.settings import declarations, env_name
from mock_server.tooling.cli import main
from tests.cases import case_table


def bad_command_lines(test_file: str) -> pytest.MarkDecorator:
    """Parametrizes a test over (command_line, words), the rows of bad_settings.yaml next to `test_file`."""
    table = Path(test_file).with_name("bad_settings.yaml")
    return pytest.mark.parametrize(("command_line", "words"), case_table(table, command_line=str, words=str))


def assert_refused(capsys: pytest.CaptureFixture[str], command_line: str, words: str) -> None:
    """`mixmock <command_line>` exits 2 with a one-line reason naming `words`, not a traceback."""
    assert main(shlex.split(command_line)) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err


def unnamed_variables(capsys: pytest.CaptureFixture[str], command: str, kind: type[Any]) -> list[str]:
    """The environment variables of `kind`'s settings that `mixmock <command> --help` (exit 0) leaves out."""
    with pytest.raises(SystemExit) as raised:
        main([command, "--help"])
    assert raised.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    names = [env_name(item.name, kind) for item, _ in declarations(kind)]
    return [name for name in names if not re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", text)]
