"""Running the `atrium` command in-process, as the CLI tests do."""
from __future__ import annotations

from atrium.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    """`atrium ARGS`: its exit code, what it printed, what it wrote to stderr."""
    try:
        code = main([str(a) for a in args])  # paths too
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
