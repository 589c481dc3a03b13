"""The command reference is generated from the binary (`make cli-docs`):
docs/cli.md's command list from the command table (`vessel help
--markdown`), docs/cli-engine.md from every engine command's --help. A
command or flag added without regenerating them fails here."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _gen(vessel_bin, what):
    env = dict(os.environ, VESSEL=str(vessel_bin))
    env.pop("VESSEL_CONFIG", None)
    proc = subprocess.run(["sh", str(REPO / "scripts" / "gen-cli-docs.sh"), what], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_command_list_matches_the_table(vessel_bin):
    doc = (REPO / "docs" / "cli.md").read_text()
    begin = doc.index("<!-- commands:begin")
    begin = doc.index("\n", begin) + 1
    end = doc.index("<!-- commands:end")
    assert doc[begin:end] == _gen(vessel_bin, "list"), "docs/cli.md is stale: run make cli-docs"


def test_engine_reference_matches_help(vessel_bin):
    committed = (REPO / "docs" / "cli-engine.md").read_text()
    assert committed == _gen(vessel_bin, "engine"), \
        "docs/cli-engine.md is stale: run make cli-docs"


def test_help_lists_every_listed_command(vessel_bin):
    out = subprocess.run([str(vessel_bin), "help"], capture_output=True, text=True,
                         timeout=30).stdout
    names = _gen(vessel_bin, "list")
    for line in names.splitlines():
        if line.startswith("| `") and " " not in line.split("`")[1]:
            assert f"  {line.split('`')[1]} " in out, line
