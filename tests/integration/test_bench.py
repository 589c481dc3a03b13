"""`vessel bench --quick --output DIR` (docs/bench.md): the whole quick run
finishes within 3 minutes on this 2-core machine; results.json and
report.html exist, parse, and hold every registered suite's cells (the
suites as `vessel bench --help` lists them) with sane numbers; the report
renders in headless Chromium with its charts (SVG with data drawn); the run
leaves no scratch directory, mount or process behind."""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICK_BUDGET_S = 180
RUN_TIMEOUT_S = 600
# The plausible range of each suite's ratio (docs/bench.md: ratios).
RATIO_BOUNDS = {
    "overhead": (1e-3, 100.0),  # speed vs native; TCG can be 100x slower
    "start": (1e-3, 1e5),  # multiple of native's fork+exec
    "interference": (0.05, 1e3),  # slowdown vs alone
    "density": (1e-2, 1e3),  # multiple of N=1
}


def suites_in_help(vessel_bin):
    out = subprocess.run(
        [vessel_bin, "bench", "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    block = out.split("Suites", 1)[1].split("Options:", 1)[0]
    return [m.group(1) for m in re.finditer(r"^  (\S+)\s", block, re.M)]


def _mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(str(path))]


def _processes_mentioning(marker):
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{p.name}: {cmd}")
    return found


@pytest.fixture(scope="module")
def quick_run(vessel_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    out, scratch = base / "out", base / "scratch"
    scratch.mkdir()
    # Every file the run writes is under the test's directory: the engine's
    # data and state roots too (the suites' containers, the workload image).
    env = dict(os.environ, TMPDIR=str(scratch), VESSEL_ROOT=str(base / "data"),
               VESSEL_RUNTIME_ROOT=str(base / "run"),
               VESSEL_SYSTEM_CONFIG=str(base / "no-config.json"),
               XDG_CONFIG_HOME=str(base / "xdg"))
    env.pop("VESSEL_CONFIG", None)
    floor = REPO / "build" / "bench" / "floor"
    if floor.exists():
        env["VESSEL_BENCH_FLOOR"] = str(floor)
    t0 = time.monotonic()
    proc = subprocess.run(
        [vessel_bin, "bench", "--quick", "--output", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
    )
    elapsed = time.monotonic() - t0
    return {"proc": proc, "elapsed": elapsed, "out": out, "scratch": scratch, "base": base}


def _results(quick_run):
    with open(quick_run["out"] / "results.json") as f:
        return json.load(f)


def test_quick_run_finishes_within_budget(quick_run):
    proc = quick_run["proc"]
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr: {proc.stderr}"
    assert quick_run["elapsed"] < QUICK_BUDGET_S, (
        f"vessel bench --quick took {quick_run['elapsed']:.0f} s, "
        f"over the {QUICK_BUDGET_S} s budget of a CI run"
    )


def test_quick_run_leaves_nothing(quick_run):
    scratch = quick_run["scratch"]
    assert os.listdir(scratch) == [], f"left in the scratch dir: {os.listdir(scratch)}"
    assert _mounts_under(quick_run["base"]) == []
    assert _processes_mentioning(str(scratch)) == []
    # The suites remove their containers from the data root they used.
    ctrs = quick_run["base"] / "data" / "containers"
    assert not ctrs.exists() or os.listdir(ctrs) == [], os.listdir(ctrs)


def _baseline(key):
    suite = key["suite"]
    if suite == "interference":
        return None if key["variant"] == "alone" else dict(key, variant="alone")
    if suite == "density":
        return None if key["variant"] == "1" else dict(key, variant="1")
    return None if key["backend"] == "native" else dict(key, backend="native")


def _median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def test_results_json(quick_run, vessel_bin):
    doc = _results(quick_run)
    m = doc["machine"]
    assert m["cores"] >= 1 and m["memory_MiB"] > 0
    assert m["cgroup_mode"] in ("v1", "hybrid", "v2", "none")
    assert m["accelerator"] in ("kvm", "tcg") and m["accelerator_reason"]
    assert m["kernel"] == os.uname().release
    suites = suites_in_help(vessel_bin)
    assert suites, "vessel bench --help lists no suite"
    results = doc["results"]
    for suite in suites:
        assert any(r["suite"] == suite for r in results), f"suite {suite} recorded no cell"
    index = {}
    for r in results:
        keys = {"suite", "test", "variant", "backend", "metric", "unit", "higher_is_better"}
        assert keys | {"samples"} <= set(r), r
        assert r["suite"] in suites, f"a cell of unlisted suite {r['suite']}"
        if "skipped" in r:
            assert r["skipped"].strip() and "\n" not in r["skipped"], r
            assert r["samples"] == [], r
            continue
        assert len(r["samples"]) >= 1, r
        for v in r["samples"]:
            assert isinstance(v, (int, float)) and math.isfinite(v), r
            if r["unit"] == "%":
                # A loss of 0 % is the sane (usual) value, not a missing one.
                assert 0 <= v <= 100, r
            else:
                assert v > 0, r
        index[(r["suite"], r["test"], r["variant"], r["backend"], r["metric"])] = r
    ratios = 0
    for key, r in index.items():
        base = _baseline(r)
        if not base:
            continue
        b = index.get((base["suite"], base["test"], base["variant"], base["backend"], key[4]))
        # UDP jitter and loss have no ratio (docs/bench.md: ratios).
        if not b or key[4] in ("jitter_ms", "lost_percent"):
            continue
        ratio = _median(r["samples"]) / _median(b["samples"])
        lo, hi = RATIO_BOUNDS.get(r["suite"], (1e-3, 1e3))
        # The bounds hold whichever way the ratio is taken.
        assert lo <= ratio <= hi or lo <= 1 / ratio <= hi, f"{key}: ratio {ratio}"
        ratios += 1
    assert ratios > 0, "no cell could be compared with its baseline"


class _Dom(HTMLParser):
    """Charts (figure.chart) with their SVG's drawing elements, and the
    suite sections, of a rendered page."""

    def __init__(self):
        super().__init__()
        self.charts, self.sections, self._fig = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "chart" in (a.get("class") or ""):
            self._fig = {"suite": a.get("data-suite"), "points": int(a.get("data-points", 0))}
            self._fig.update(svg=0, paths=0, marks=0)
            self.charts.append(self._fig)
        elif tag == "section" and "suite" in (a.get("class") or ""):
            self.sections.append(a.get("data-suite"))
        elif self._fig is not None and tag == "svg":
            self._fig["svg"] += 1
        elif self._fig is not None and tag == "path" and a.get("d"):
            self._fig["paths"] += 1
        elif self._fig is not None and tag in ("use", "rect", "polygon"):
            self._fig["marks"] += 1

    def handle_endtag(self, tag):
        if tag == "figure":
            self._fig = None


def _chromium():
    exe = shutil.which("chromium")
    if not exe:
        pytest.skip("chromium is not installed (scripts/deps.sh installs it)")
    return exe


def _chromium_args(exe, tmp):
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp}/profile"]


def test_report_renders_with_charts(quick_run, vessel_bin, tmp_path):
    exe = _chromium()
    if not shutil.which("gnuplot"):
        pytest.skip("gnuplot is not installed: the report has no charts (scripts/deps.sh)")
    report = quick_run["out"] / "report.html"
    html = report.read_text()
    for part in ('id="summary"', 'id="limits"', 'id="seeds"', 'id="machine"'):
        assert part in html
    probe = subprocess.run(
        _chromium_args(exe, tmp_path) + ["--dump-dom", "about:blank"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0 or "<html" not in probe.stdout:
        pytest.skip(f"chromium cannot start here: {probe.stderr.strip().splitlines()[-1:]}")
    dom = subprocess.run(
        _chromium_args(exe, tmp_path) + ["--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr
    parser = _Dom()
    parser.feed(dom.stdout)
    doc = _results(quick_run)
    ran = {r["suite"] for r in doc["results"] if r["samples"]}
    present = {r["suite"] for r in doc["results"]}
    assert set(parser.sections) == present
    for suite in ran:
        charts = [c for c in parser.charts if c["suite"] == suite]
        assert charts, f"suite {suite} ran but the report has no chart for it"
    for c in parser.charts:
        assert c["svg"] == 1 and c["points"] > 0, c
        # Each value drawn is at least one path (a bar, a cell, a line
        # segment); axes, tics and the key add more.
        assert c["paths"] + c["marks"] >= c["points"], c
    png = tmp_path / "report.png"
    shot = subprocess.run(
        _chromium_args(exe, tmp_path)
        + ["--hide-scrollbars", "--window-size=1100,3000", f"--screenshot={png}", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
    print(f"report screenshot: {png}")


def _bench_env(base):
    env = dict(os.environ, TMPDIR=str(base / "scratch"), VESSEL_ROOT=str(base / "data"),
               VESSEL_RUNTIME_ROOT=str(base / "run"),
               VESSEL_SYSTEM_CONFIG=str(base / "no-config.json"),
               XDG_CONFIG_HOME=str(base / "xdg"))
    env.pop("VESSEL_CONFIG", None)
    (base / "scratch").mkdir()
    return env


def _start_until_a_container_runs(vessel_bin, base, env):
    """`vessel bench start --isolation container`, returned once its own
    store holds a container (a `vessel run` is under way)."""
    proc = subprocess.Popen([vessel_bin, "bench", "start", "--isolation", "container"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any((base / "scratch").glob("vessel-bench.*/start-data/containers/*")):
            return proc
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    pytest.fail(f"bench start ran no container within 120 s: {proc.stderr.read()}")


def _assert_nothing_left(base):
    assert list((base / "scratch").iterdir()) == []
    assert _mounts_under(base) == []
    assert _processes_mentioning(str(base)) == []


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_nothing(vessel_bin, tmp_path, sig):
    """A signal mid-run: the bench removes its containers and scratch
    directory, then dies of the signal (as a shell expects)."""
    env = _bench_env(tmp_path)
    proc = _start_until_a_container_runs(vessel_bin, tmp_path, env)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -getattr(signal, sig), err
    assert "interrupted" in err
    _assert_nothing_left(tmp_path)


def test_killed_run_is_removed_by_the_next(vessel_bin, tmp_path):
    """kill -9 mid-run leaves the scratch directory (and maybe a running
    container in its store); the next run finds its lock free and removes
    both before it starts."""
    env = _bench_env(tmp_path)
    proc = _start_until_a_container_runs(vessel_bin, tmp_path, env)
    proc.kill()
    proc.wait()
    left = list((tmp_path / "scratch").iterdir())
    assert len(left) == 1
    r = subprocess.run([vessel_bin, "bench", "start", "--isolation", "native"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"removing {left[0]}" in r.stderr
    _assert_nothing_left(tmp_path)
