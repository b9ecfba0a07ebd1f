"""The HTML report opened in a real headless Chromium (Debian's): every chart area has ink in the screenshot,
the regression is marked in red on the trend, no console message, nothing fetched from the network.

The data is real: a real agent on the Pi 5 fixture board (power and temperature sensors) run by the real
regress command for three nights, the third against a baseline four times faster so it is flagged."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgebench.controller.link.local_agent import start_local_agent
from edgebench.controller.store import NewRun, open_store
from tests.conftest import STEADY_AGENT_ARGS, bench_json, run_controller
from tests.e2e.models import matmul_chain
from tests.sensors.sensor_fixtures import make_board

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1",
         # Any attempt to reach a host fails (and shows up as a console error).
         "--host-resolver-rules=MAP * ~NOTFOUND"]
WIDTH = 1280

# Appended to a copy of the page (never to the product): records where each chart is drawn.
PROBE = """<script>document.addEventListener('DOMContentLoaded', () => {
  const charts = [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const r = svg.getBoundingClientRect();
    const titles = [...svg.querySelectorAll('text.t')].map(t => ({text: t.textContent,
      length: t.getComputedTextLength(), width: svg.viewBox.baseVal.width}));
    const labels = [...svg.querySelectorAll('text.k')].map(t => t.textContent);
    return {id: f.dataset.chart, x: r.x, y: r.y + window.scrollY, w: r.width, h: r.height, titles, labels,
            caption: f.querySelector('figcaption').textContent};
  });
  const boards = [...document.querySelectorAll('#summary ~ table tr td:first-child')].map(td => td.textContent);
  const pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify({charts, boards, height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});</script>"""

SUITE = '[[benchmarks]]\nmodel = "zoo:tiny_cnn"\nruntime = "onnxruntime"\nthreads = [1]\nruns = 60\n'


def chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (./scripts/system-deps.sh does)")
    profile = tmp_path / f"chromium-{len(list(tmp_path.glob('chromium-*')))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                           *args, url], capture_output=True, text=True, timeout=90)


def console_messages(stderr: str) -> list[str]:
    return re.findall(r":CONSOLE(?:\(\d+\))?:?\d*\] (.*)", stderr)


def ink(region: np.ndarray) -> tuple[float, int]:
    """Fraction of pixels that are not white, and how many distinct colours there are."""
    rgb = region[..., :3].reshape(-1, 3)
    non_white = (rgb < 245).any(axis=1).mean()
    return float(non_white), len(np.unique(rgb // 16, axis=0))


def red_pixels(region: np.ndarray) -> int:
    r, g, b = (region[..., i].astype(int) for i in range(3))
    return int(((r > 190) & (g < 80) & (b < 80)).sum())  # the regression marker, #d62728


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("report")
    board = make_board("pi5", tmp)
    db = f"sqlite://{tmp / 'results.sqlite'}"
    (tmp / "fleet.toml").write_text('[[targets]]\nname = "pi5"\naddress = "ADDR"\n')
    (tmp / "suite.toml").write_text(SUITE)
    args = ["--sysfs-root", str(board.root), "--vcgencmd", board.config.vcgencmd, "--tegrastats",
            board.config.tegrastats, "--idle-baseline", "0.3", *STEADY_AGENT_ARGS]
    with start_local_agent(str(tmp / "state"), extra_args=args) as agent:
        (tmp / "fleet.toml").write_text(f'[[targets]]\nname = "pi5"\naddress = "{agent.address}"\n')
        base = ["regress", "--fleet", str(tmp / "fleet.toml"), "--suite", str(tmp / "suite.toml"), "--db", db]
        run_controller(*base, check_rc=0)
        run_controller(*base, "--alpha", "1e-300", check_rc=0)
        with open_store(db) as store:
            last = store.query(__import__("edgebench.controller.store", fromlist=["RunFilter"]).RunFilter(limit=1))[0]
            fast = store.get(last.id)
            samples = store.samples([last.id])[last.id]
            store.add_runs([NewRun(dict(fast.record, samples_ms=(samples / 4).tolist()), {"git": "fast"})])
        run_controller(*base, "--baseline", "label:git=fast", "--noise-floor-ms", "0", "--html",
                       str(tmp / "session.html"), check_rc=1)
    run_controller("report", "--db", db, "--html", str(tmp / "report.html"), check_rc=0)
    return tmp / "report.html", tmp / "session.html", db


LONG = "light_shufflenet_v2_x0_5_int8_calibrated_per_channel"


@pytest.fixture(scope="module")
def wide(tmp_path_factory, agent) -> Path:
    """The issue's night: 17 benchmarks, of which only 3 have a history, measured by a real agent."""
    tmp = tmp_path_factory.mktemp("wide")
    db = f"sqlite://{tmp / 'wide.sqlite'}"
    models = [str(matmul_chain(tmp / f"{LONG if i % 3 == 0 else 'chain'}_{i}.onnx", repeats=i, n=32))
              for i in range(1, 16)] + ["zoo:tiny_cnn", "zoo:tiny_cnn_tflite"]
    bench_json("--target", agent.address, *models, "--threads", "1", "--runs", "10", "--warmup", "1", "--db", db)
    for _ in range(2):
        bench_json("--target", agent.address, *models[:3], "--threads", "1", "--runs", "10", "--warmup", "1",
                   "--db", db)
    run_controller("report", "--db", db, "--html", str(tmp / "wide.html"), check_rc=0)
    return tmp / "wide.html"


def layout(tmp_path: Path, page: Path, width: int) -> dict:
    probe_page = tmp_path / f"probed-{page.stem}.html"
    probe_page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(tmp_path, probe_page.as_uri(), f"--window-size={width},900", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    return json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S).group(1).replace("&quot;", '"'))


def screenshot(tmp_path: Path, page: Path, width: int, height: int) -> np.ndarray:
    shot = tmp_path / f"{page.stem}-{width}.png"
    proc = chromium(tmp_path, page.as_uri(), f"--window-size={width},{height}", f"--screenshot={shot}")
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    assert console_messages(proc.stderr) == []
    shutil.copy(shot, Path(page).with_name(shot.name))  # kept beside the page for a human to look at
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[1] == width and pixels.shape[0] >= height - 40
    return pixels


def test_the_page_is_self_contained(report):
    for page in report[:2]:
        html = page.read_text()
        assert html.startswith("<!DOCTYPE html>")
        # Nothing to fetch: no external script, style, image or font (the SVG namespace URI is not a fetch).
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    html = report[0].read_text()
    for section in ("summary", "regressions", "trend", "predicted", "power"):
        assert f'id="{section}"' in html
    # A summary first, then the regression's evidence, then the trend.
    assert html.index('id="summary"') < html.index('data-chart="regression-') < html.index('data-chart="trend-')
    assert html.count('data-chart="trend-') == 1 and html.count('data-chart="regression-') == 1
    assert 'data-chart="predicted"' in html and 'data-chart="power-' in html and 'data-chart="thermal-' in html
    assert "class='regression'" in html and "1 regression;" in html


def test_charts_render_in_chromium_with_ink_and_the_regression_in_red(report, tmp_path):
    page = report[0]
    found = layout(tmp_path, page, WIDTH)
    charts = {c["id"]: c for c in found["charts"]}
    assert {re.sub(r"-\d+$", "", k) for k in charts} == {"regression", "trend", "predicted", "power", "thermal"}
    assert set(found["boards"]) == {"pi5"}  # the fleet's name, not the fingerprint
    pixels = screenshot(tmp_path, page, WIDTH, int(found["height"]) + 20)
    for chart_id, c in charts.items():
        assert c["w"] > 300 and c["h"] > 200, (chart_id, c)
        x, y, w, h = (int(round(c[k])) for k in ("x", "y", "w", "h"))
        region = pixels[y:y + h, x:x + w]
        assert region.shape[:2] == (h, w), (chart_id, region.shape)
        covered, colours = ink(region)
        # Axes, ticks, labels and marks: a blank or failed SVG would be (almost) all white.
        assert covered > 0.02 and colours >= 4, (chart_id, covered, colours)
    for kind in ("trend", "regression"):  # the regression marker; now's distribution
        c = next(c for k, c in charts.items() if k.startswith(kind))
        x, y, w, h = (int(round(c[k])) for k in ("x", "y", "w", "h"))
        assert red_pixels(pixels[y:y + h, x:x + w]) > 50, kind
    evidence = next(c for k, c in charts.items() if k.startswith("regression"))
    assert any(label.startswith("baseline: run #") for label in evidence["labels"])
    assert any(label.startswith("now: run #") for label in evidence["labels"])
    x, y, w, h = (int(round(evidence[k])) for k in ("x", "y", "w", "h"))
    region = pixels[y:y + h, x:x + w].astype(int)
    grey = (abs(region[..., 0] - region[..., 1]) < 8) & (abs(region[..., 1] - region[..., 2]) < 8) & \
        (region[..., 0] > 120) & (region[..., 0] < 220)
    assert grey.sum() > 200  # the baseline's bars beside now's


def test_a_night_of_17_benchmarks_reads_as_one_page(wide, tmp_path):
    """The issue's page: titles cut off, times without dates, an unlabelled scatter, 34 charts for 17
    benchmarks, 45% of a 1400 px page empty."""
    found = layout(tmp_path, wide, 1400)
    charts = found["charts"]
    trends = [c for c in charts if c["id"].startswith("trend-")]
    assert len(trends) == 3 and len(charts) == 4  # a chart only where there is a history, and the scatter
    assert len(found["boards"]) == 17
    for c in charts:
        full = " ".join(t["text"] for t in c["titles"])
        assert "…" not in full and c["titles"], c["id"]
        for t in c["titles"]:  # as Chromium measures the text, every line inside the chart
            assert t["length"] <= t["width"] - 8, (c["id"], t)
    assert any(LONG in " ".join(t["text"] for t in c["titles"]) for c in trends)
    for c in trends:  # dated ticks
        assert any(re.fullmatch(r"(\d{4}-)?\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?", label) for label in c["labels"]), c["labels"]
    [scatter] = [c for c in charts if c["id"] == "predicted"]
    # Every point has its name beside it, or a number whose name the caption gives.
    named = [label for label in scatter["labels"] if label.startswith(("chain_", LONG, "tiny_cnn"))]
    numbered = [label for label in scatter["labels"] if label.isdigit()]
    assert len(named) + len(numbered) == 17 and len(named) >= 10, scatter["labels"]
    assert all(f"{n} " in scatter["caption"] for n in numbered)
    pixels = screenshot(tmp_path, wide, 1400, int(found["height"]) + 20)
    page_bg = (np.abs(pixels.astype(int) - 250) <= 2).all(axis=2)
    assert page_bg.mean() < 0.30, f"{page_bg.mean():.0%} of the page is empty"


def test_the_console_check_can_fail(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://example.invalid/x.png"><script>nope()</script></body></html>')
    proc = chromium(tmp_path, bad.as_uri(), "--window-size=400,300", f"--screenshot={tmp_path / 'bad.png'}")
    assert any("nope is not defined" in m for m in console_messages(proc.stderr))


def test_the_regress_session_page_renders(report, tmp_path):
    html = report[1].read_text()
    assert "regress session" in html and "1 regressions" in html
    proc = chromium(tmp_path, report[1].as_uri(), "--window-size=1280,2000", f"--screenshot={tmp_path / 's.png'}")
    assert proc.returncode == 0 and console_messages(proc.stderr) == []
    covered, _ = ink(np.asarray(Image.open(tmp_path / "s.png").convert("RGB")))
    assert covered > 0.02


def test_an_empty_store_gives_a_page_that_says_so(tmp_path):
    url = f"sqlite://{tmp_path / 'empty.sqlite'}"
    open_store(url).close()  # a store with no runs (report itself never creates one)
    run_controller("report", "--db", url, "--html", str(tmp_path / "e.html"), check_rc=0)
    assert "no stored runs match" in (tmp_path / "e.html").read_text()
