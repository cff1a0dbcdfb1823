"""The README stays true: its two commands exist and CI runs the test one; its local Python example runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_setup_and_test_commands_and_ci_runs_the_test_one() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["./scripts/run.sh", "./scripts/test.sh"]
    for command in commands:
        assert os.access(ROOT / command, os.X_OK)
    assert "./scripts/test.sh" in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_the_local_python_example_runs(capsys) -> None:
    block = re.search(r"```python\n(from memorylayer.engine import Engine.*?)```", README, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "deploy-process: Deploys run on merge to main."
