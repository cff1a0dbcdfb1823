"""Every code block of the README and docs/ runs, or is named with the reason it does not.

- Python runs against one real server per module (a real socket, a temp home) or the local engine in
  a temp home, with the placeholder key and address replaced by real ones. docs/sdk.md's blocks are
  run by tests/client/test_client_docs.py, with its own fixtures.
- Shell lines run as commands in a temp ``MEMORYLAYER_HOME``; servers (``serve``, ``mcp``) are
  checked with ``--help`` (options exist) since they run until stopped; lines of third-party tools or
  of this suite are listed with their reason by ``test_shell_lines_not_run_are_named``.
- JSON and TOML blocks parse; TypeScript passes ``tsc --strict`` where Node tools are installed, against
  a declaration of ``@withmemory/sdk`` written from the spec (the package is not on the npm registry).
- ``text`` blocks (output, or lines for another machine) are not run.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memorylayer.cli import app as cli
from memorylayer.config import Settings
from memorylayer.server import admin, create_app
from support import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
STANDIN_TYPES = ROOT / "tests/standins/withmemory-sdk.d.ts"
TSC = ROOT / ".tools/typescript/node_modules/.bin/tsc"

#: Shell lines not run here, by what they start with, and why.
NOT_RUN = {
    "./scripts/run.sh": "tests/test_packaging.py runs it offline",
    "./scripts/test.sh": "this suite is what it runs",
    "source .venv/bin/activate": "the commands here run from .venv/bin already",
    "claude mcp add": "Claude Code is not installed here; tests/mcp_server runs the same stdio server",
    "npx @modelcontextprotocol/inspector": "tests/mcp_server/test_mcp_inspector.py runs the Inspector",
    ".venv/bin/python -m pytest": "runs part of this suite",
    "MEMORYLAYER_SCREENSHOTS=": "runs part of this suite",
}


def blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for lang, code in FENCE.findall(path.read_text(encoding="utf-8")):
            if lang == language:
                found.append((str(path.relative_to(ROOT)), code))
    return found


def shell_lines() -> list[tuple[str, str]]:
    lines = []
    for doc, code in [*blocks("bash"), *blocks("sh")]:
        for line in code.replace("\\\n", " ").splitlines():
            command = line.split(" #")[0].strip()
            if command and not command.startswith("#"):
                lines.append((doc, command))
    return lines


def not_run_reason(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """One real server for the module: its base URL, a full-scope key for the Python blocks, and the key
    of you@example.com (username ``you``; bob@example.com exists too) for docs/registry.md's shell lines."""
    home = tmp_path_factory.mktemp("docs-server")
    app = create_app(Settings.load(home=home))
    srv = app.state.server
    account = admin.create_account(srv.store, srv.server, "docs@example.com", plan="pro")
    _, key = admin.create_key(srv.store, account.id)
    you = admin.create_account(srv.store, srv.server, "you@example.com", plan="pro")
    admin.create_account(srv.store, srv.server, "bob@example.com", plan="pro")
    _, you_key = admin.create_key(srv.store, you.id)
    with serve_in_thread(app, lifespan="on") as url:
        yield url, key, you_key
    srv.engine.close()


def real(code: str, url: str, key: str) -> str:
    for placeholder in ("http://127.0.0.1:8787", "http://localhost:8787"):
        code = code.replace(placeholder, url)
    return code.replace("wm_live_…", key)


def test_every_python_block_runs(
    server: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, key, _ = server
    monkeypatch.setenv("MEMORYLAYER_HOME", str(tmp_path / "local"))
    ran = []
    for doc, code in blocks("python"):
        if doc == "docs/sdk.md":
            continue  # tests/client/test_client_docs.py
        try:
            exec(compile(real(code, url, key), doc, "exec"), {"__name__": "__docs__"})  # noqa: S102 - our own docs
        except Exception as exc:
            raise AssertionError(f"{doc} block failed:\n{code}") from exc
        ran.append(doc)
    assert {"README.md", "docs/engine.md", "docs/mcp.md"} <= set(ran)
    printed = capsys.readouterr().out
    assert "Deploys run on merge to main." in printed  # the README's SDK example recalled what it added


def test_every_shell_line_runs_in_a_fresh_home(
    server: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI runner, so the model loads once for all of them.

    Registry commands talk to the module's real server (``MEMORYLAYER_REGISTRY``), logged in with the
    key of ``you``; each page runs in a working directory of its own (``init`` writes memory.json there).
    """
    url, _, you_key = server
    runner = CliRunner()
    ran = 0
    for doc, command in shell_lines():
        if not_run_reason(command) is not None:
            continue
        work = tmp_path / doc / "work"
        work.mkdir(parents=True, exist_ok=True)
        monkeypatch.chdir(work)
        command = command.replace("wm_live_…", you_key)
        argv = shlex.split(command.replace("/srv/memorylayer", str(tmp_path / doc / "srv")))
        assert argv[0] == "memorylayer", f"{doc}: {command!r} is neither run nor named in NOT_RUN"
        if argv[1] in ("serve", "mcp"):
            argv.append("--help")  # runs until stopped: check that its options exist
        (tmp_path / doc / "srv").mkdir(parents=True, exist_ok=True)
        home = str(tmp_path / doc / "home")  # each page starts from a fresh home
        result = runner.invoke(cli, argv[1:], env={"MEMORYLAYER_HOME": home, "MEMORYLAYER_REGISTRY": url})
        assert result.exit_code == 0, f"{doc}: {command}\n{result.output}"
        ran += 1
    assert ran >= 12


def test_shell_lines_not_run_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    named = [(doc, command, not_run_reason(command)) for doc, command in shell_lines()]
    with capsys.disabled():
        for doc, command, why in named:
            if why is not None:
                print(f"\n  not run: {doc}: {command[:60]} ({why})", end="")
    assert all(command.startswith("memorylayer ") or why for _, command, why in named)


def test_json_and_toml_blocks_parse() -> None:
    for _doc, code in blocks("json"):
        json.loads(code.replace("…", ""))
    for _doc, code in blocks("toml"):
        tomllib.loads(code)
    assert len(blocks("json")) >= 7


def test_typescript_blocks_pass_strict_tsc(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not TSC.exists():
        pytest.skip("no Node.js or no TypeScript in .tools (scripts/test-tools.sh installs it where npm exists)")
    sources = []
    for number, (doc, code) in enumerate([*blocks("ts"), *blocks("typescript")], 1):
        path = tmp_path / f"example{number}.ts"
        path.write_text(f"// {doc}\nexport {{}};\n{code}", encoding="utf-8")
        sources.append(path.name)
    shutil.copy(STANDIN_TYPES, tmp_path / "withmemory-sdk.d.ts")
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "es2022",
            "module": "es2022",
            "moduleResolution": "bundler",
            "types": [],
        },
        "files": ["withmemory-sdk.d.ts", *sources],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run(
        [node, str(TSC), "-p", str(tmp_path)], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sources
