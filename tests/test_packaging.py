"""Installs that fit into other projects and a setup that works offline.

- ``scripts/setup.sh`` runs pip only when pyproject.toml or constraints.txt changed (pip itself is the
  stand-in here: a recording ``.venv/bin/python``), and always with the constraints file;
- ``scripts/run.sh`` on this installed checkout starts the server with no package index reachable and
  says what to do next;
- a virtual environment holding only the bare install imports ``memorylayer.Client`` with no numpy,
  onnxruntime or fastapi, and its ``memorylayer`` command names the extra it needs;
- deptry finds every imported package declared and every declared one used.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from support import wait_for_health

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _recording_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the setup inputs whose .venv/bin/python records pip calls and runs anything else."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("pyproject.toml", "constraints.txt", "scripts/setup.sh"):
        shutil.copy2(ROOT / name, checkout / name)
    log = tmp_path / "pip-calls.log"
    fake = checkout / ".venv/bin/python"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> {log}; exit 0; fi\n'
        f'exec {sys.executable} "$@"\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    return checkout, log


def _setup(checkout: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("MEMORYLAYER_REINSTALL", None)
    subprocess.run(["bash", "scripts/setup.sh"], cwd=checkout, env=env, check=True, timeout=60)


def test_setup_installs_from_the_constraints_once_and_again_only_when_they_change(tmp_path: Path) -> None:
    checkout, log = _recording_checkout(tmp_path)
    _setup(checkout)
    first = log.read_text(encoding="utf-8").splitlines()
    assert "-m pip install --quiet -c constraints.txt -e .[all,dev]" in first
    assert (checkout / ".venv/memorylayer-setup.stamp").is_file()
    _setup(checkout)
    assert log.read_text(encoding="utf-8").splitlines() == first  # unchanged: pip never ran
    with (checkout / "constraints.txt").open("a", encoding="utf-8") as handle:
        handle.write("# moved a pin\n")
    _setup(checkout)
    assert log.read_text(encoding="utf-8").splitlines()[len(first) :] == first


def test_every_range_in_pyproject_has_an_exact_pin_in_the_constraints() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    declared = [*PYPROJECT["project"]["dependencies"]]
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared.extend(extra)
    for requirement in declared:
        name = requirement.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
        if name != "memorylayer-agents":
            assert name.replace("_", "-") in pins, f"{name} has no pin in constraints.txt"


def test_run_sh_starts_the_server_with_no_package_index_and_says_what_to_do_next(tmp_path: Path) -> None:
    if not (ROOT / ".venv/memorylayer-setup.stamp").is_file():
        pytest.skip("this checkout was not installed by scripts/setup.sh (no stamp in .venv)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    offline = {
        **os.environ,
        "MEMORYLAYER_HOME": str(tmp_path / "home"),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    offline.pop("MEMORYLAYER_REINSTALL", None)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["./scripts/run.sh", "--port", str(port)], cwd=ROOT, env=offline, stderr=out)
    try:
        health = wait_for_health(port, process, log=log)
        assert health.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    banner = log.read_text(encoding="utf-8")
    for expected in (
        f"http://127.0.0.1:{port}/mcp",
        f"http://127.0.0.1:{port}/docs",
        f"http://127.0.0.1:{port}/openapi.json",
        "memorylayer admin create-account",
    ):
        assert expected in banner, banner


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline with the setuptools of this environment."""
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), "."],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(build)},
        check=True,
        timeout=240,
    )
    return next(out.glob("memorylayer_agents-*.whl"))


def test_the_wheel_says_what_a_package_index_shows(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode("utf-8")
        files = archive.namelist()
    headers, _, description = metadata.partition("\n\n")
    assert "Name: memorylayer-agents" in headers and "License-Expression: Apache-2.0" in headers
    assert "Classifier: Programming Language :: Python :: 3.11" in headers
    bare = [line for line in headers.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert sorted(re.split(r"[<>=]", line.split()[1])[0] for line in bare) == ["anyio", "httpx", "pydantic"]
    assert description.startswith("# memorylayer-agents") and "./scripts/" not in description
    assert "memorylayer/embedding/data/tokenizer.json" in files and "memorylayer/py.typed" in files


def test_the_sdk_alone_imports_without_the_engine_server_or_mcp(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "sdk"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # The wheel without its extras, and the bare install's own dependencies at the pinned versions.
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"), str(wheel)],
        check=True,
        timeout=240,
    )
    probe = """
import importlib.util, sys
import memorylayer
client = memorylayer.Client(api_key="wm_live_x", base_url="http://127.0.0.1:9")
client.close()
heavy = ("numpy", "onnxruntime", "fastapi", "starlette", "uvicorn", "mcp", "typer")
absent = [m for m in heavy if importlib.util.find_spec(m)]
print(type(client).__name__, absent)
"""
    done = subprocess.run([str(venv / "bin/python"), "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Client []"
    command = subprocess.run([str(venv / "bin/memorylayer"), "list"], capture_output=True, text=True, timeout=60)
    assert command.returncode == 1 and "Traceback" not in command.stderr
    assert command.stderr.startswith("error [not_configured]") and "memorylayer-agents[local]" in command.stderr


def test_deptry_finds_no_undeclared_unused_or_transitive_imports() -> None:
    done = subprocess.run(
        [str(VENV_BIN / "deptry"), "src"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
