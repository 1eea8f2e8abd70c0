"""docs/consultant-guide.md's commands, run as written in a fresh folder holding the base and the
worked example; and the overlay folder they make is one a consultant can commit."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_kit import run

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "consultant-guide.md"
# The command summary writes placeholders (DIR, PATH, NEWPATH): those lines are a syntax, not a step.
PLACEHOLDER = re.compile(r"\b[A-Z]{3,}\b")


def guide_commands() -> list[tuple[str, list[str]]]:
    """Each `atrium ...` line of the guide's code blocks, in order, with the lines it shows as its output."""
    steps: list[tuple[str, list[str]]] = []
    fence, block = None, []  # the open fence's language ('' for a plain block), its lines
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if fence is None:
                fence, block = line[3:].strip(), []
                continue
            if fence == "":
                steps.extend(_block_steps(block))
            fence = None
        elif fence is not None:
            block.append(line)
    return steps


def _block_steps(block: list[str]) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in block:
        if line.startswith("atrium "):
            if not PLACEHOLDER.search(line):
                steps.append((line, []))
        elif steps and line.strip():
            steps[-1][1].append(line)
    return steps


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """The repository's layout as the guide assumes it, with a copy of the base as its next version
    beside it (`--base ../b2b_sales-v2`)."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "blueprints" / "b2b_sales", work / "blueprints" / "b2b_sales")
    shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
    shutil.copytree(ROOT / "blueprints" / "b2b_sales", tmp_path / "b2b_sales-v2")
    monkeypatch.chdir(work)
    for name in ("ATRIUM_SITE_OVERLAY", "ATRIUM_BLUEPRINT", "ATRIUM_DATABASE_URL", "ATRIUM_OVERLAYS"):
        monkeypatch.setenv(name, "")  # recorded, so the values `serve` sets are taken back afterwards
        monkeypatch.delenv(name)
    return work


def test_the_guide_has_the_steps_this_test_runs():
    commands = [command for command, _ in guide_commands()]
    assert commands[0] == "atrium overlay new overlays/hengtai_machinery --extends blueprints/b2b_sales"
    assert any(" check" in c for c in commands) and any(" diff" in c for c in commands)
    assert "atrium overlay lock overlays/hengtai_machinery" in commands
    assert any(c.startswith("atrium overlay upgrade overlays/hengtai_machinery --base") for c in commands)


def test_every_command_of_the_guide_works_as_written(capsys, workspace, monkeypatch):
    import uvicorn
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.update(kwargs))
    for command, shown in guide_commands():
        code, out, err = run(capsys, *shlex.split(command)[1:])
        assert code == 0, f"{command}\n{out}\n{err}"
        assert "Traceback" not in err
        if shown and not shown[0].startswith(("-", " ")):  # its first line, counts aside (the base grows)
            expected, printed = (re.sub(r"\d+", "N", text) for text in (shown[0], out))
            assert expected in printed, f"{command}: the guide shows {shown[0]!r}, the command printed\n{out}"
    assert served, "serve was run"


def test_the_overlay_folder_is_committable(capsys, workspace):
    folder = workspace / "overlays" / "hengtai_machinery"
    assert run(capsys, "overlay", "new", folder.relative_to(workspace), "--extends", "blueprints/b2b_sales")[0] == 0
    assert run(capsys, "overlay", "lock", folder.relative_to(workspace))[0] == 0
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert str(workspace) not in text and str(workspace.parent) not in text, path  # no absolute path
    assert {p.name for p in folder.rglob(".*")} <= {".gitkeep"}  # no hidden state; empty folders kept for git
    moved = workspace.parent / "elsewhere"
    shutil.move(workspace, moved)  # a clone in another place checks the same
    code, out, err = run(capsys, "--blueprint", moved / "overlays" / "hengtai_machinery", "check")
    assert code == 0 and "OK" in out, err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_keeps_a_consultants_overlay_and_ignores_the_site_overlay_of_make_run():
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0
    assert not ignored("overlays/hengtai_machinery/blueprint.yaml")
    assert not ignored("overlays/hengtai_machinery/base.lock")
    assert ignored("overlays/site/blueprint.yaml")
