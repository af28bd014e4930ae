"""spikey.analysis.report: self-contained HTML reports of GA, Tune and series folders, their CSV tables,
the ``spikey report`` command, and a look at the reports in headless Chromium.

Chromium runs only where /usr/bin/chromium exists (skipped with the reason otherwise). Its screenshots
go to ``$SPIKEY_ARTIFACTS`` or ``runs/artifacts/``.
"""
import base64
import io
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from spikey.analysis import best_configs, importance, load, read_source, summarize
from spikey.analysis.report import TABLES, build_report
from test_analysis import make_ga_folder, make_series, make_tune_folder

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("SPIKEY_ARTIFACTS") or Path(__file__).resolve().parents[1] / "runs" / "artifacts")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    out = {name: base / name for name in ("ga", "tune", "series")}
    for path in out.values():
        path.mkdir()
    make_ga_folder(out["ga"])
    make_tune_folder(out["tune"])
    make_series(out["series"])
    return out


@pytest.fixture(scope="module")
def combined(folders, tmp_path_factory):
    """One report of all three kinds (GA, Tune, series) together."""
    return build_report([folders["ga"], folders["tune"], folders["series"]], tmp_path_factory.mktemp("all"),
                        title="All kinds")


def images(text):
    return re.findall(r'<img [^>]*src="([^"]*)"', text)


def check_self_contained(text, n_images):
    """No reference leaves the file; every image is an embedded PNG that decodes; no plot failed."""
    from matplotlib.image import imread
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    references = re.findall(r'(?:src|href|action|srcset)\s*=\s*"([^"]*)"', text)
    assert references and all(r.startswith("data:image/png;base64,") for r in references)
    for marker in ("http:", "https:", "url(", "@import", "<link", "<script", "<iframe"):
        assert marker not in text, marker
    sources = images(text)
    assert len(sources) == n_images
    for source in sources:
        picture = imread(io.BytesIO(base64.b64decode(source.split(",", 1)[1])), format="png")
        assert picture.shape[0] >= 200 and picture.shape[1] >= 400
    assert 'class="note"' not in text, "a plot failed: " + str(re.findall(r'class="note">([^<]*)', text))


def test_html_is_self_contained_with_decodable_images(combined):
    text = combined.read_text()
    check_self_contained(text, 3 * 4)  # per folder: curves, 2 parameter plots, raster
    sections = re.split(r"<section>", text)[1:]
    assert [re.search(r"<h2>\d+\. (\w+):", s).group(1) for s in sections] == ["evolve", "tune", "series"]
    ga, tune, series = sections
    assert "Fitness by generation" in ga and "Learning curves of the sweep" in tune
    assert "Learning curves per configuration" in series
    # the raster shows the best configuration of each folder (chosen by the test's own numbers)
    assert "learning_rate=0.028, firing_threshold=1.6" in ga          # GA member with fitness 0.75
    assert "learning_rate=0.01, firing_threshold=1.2" in tune         # trial t1: last accuracy 0.70


def test_csv_tables_equal_the_frames(folders, combined):
    out = combined.parent
    assert sorted(p.name for p in out.iterdir()) == sorted(["report.html"] + [f"{n}.csv" for n in TABLES])
    paths = [folders["ga"], folders["tune"], folders["series"]]
    expected = {"tidy": load(paths), "summary": [], "importance": [], "best": []}
    for path, metric in zip(paths, ("fitness", "accuracy", "accuracy")):
        source = read_source(path)
        by = source.varied
        assert sorted(by) == ["firing_threshold", "learning_rate"]
        for name, frame in (("summary", summarize(source.frame, by=by, metric=metric)),
                            ("importance", importance(source.frame, metric)),
                            ("best", best_configs(source.frame, metric, n=5, by=by))):
            frame.insert(0, "source", str(path))
            expected[name].append(frame)
    for name in ("summary", "importance", "best"):
        expected[name] = pd.concat(expected[name], ignore_index=True)
    for name, frame in expected.items():
        read = pd.read_csv(out / f"{name}.csv", low_memory=False)
        pdt.assert_frame_equal(read, frame, check_exact=False, rtol=1e-12)
    # the GA's best rows: fitness 0.75, 0.70 (evaluated twice), 0.65
    best = pd.read_csv(out / "best.csv")
    ga = best[best["source"] == str(folders["ga"])]
    assert ga["mean"].head(3).tolist() == [0.75, 0.70, 0.65] and ga["count"].head(3).tolist() == [1, 2, 1]


def test_spikey_report_command(folders, tmp_path, capsys):
    from spikey.cli import main
    assert main(["report", str(folders["tune"]), "--out", str(tmp_path / "r"), "--no-raster",
                 "--metric", "game_reward"]) == 0
    assert str(tmp_path / "r" / "report.html") in capsys.readouterr().out
    text = (tmp_path / "r" / "report.html").read_text()
    check_self_contained(text, 3)
    assert "metric <code>game_reward</code>" in text
    best = pd.read_csv(tmp_path / "r" / "best.csv")
    assert best["mean"].iloc[0] == pytest.approx(0.60) and best["metric"].iloc[0] == "game_reward"
    assert main(["report", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert "spikey report: error" in error and str(tmp_path / "nothing") in error


# -- headless Chromium ------------------------------------------------------------------------------------
CHECK_SCRIPT = """<script>
window.addEventListener("load", function () {
  var all = Array.prototype.slice.call(document.images);
  var decoded = all.filter(function (img) { return img.complete && img.naturalWidth > 0; });
  console.log("SPIKEY_CHECK images=" + all.length + " decoded=" + decoded.length);
});
</script>"""


def open_in_chromium(report: Path, screenshot: Path, tmp_path: Path) -> list[str]:
    """Open a copy of ``report`` with an image check added; returns its console lines. Saves a screenshot."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium) - the browser check needs it")
    page = report.with_name("check.html")
    page.write_text(report.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--screenshot={screenshot}",
               "--window-size=1200,2000", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
               page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    page.unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    assert screenshot.exists() and screenshot.stat().st_size > 10000
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in done.stderr.splitlines() if "Uncaught" in line or "ERROR:" in line and "console" in line.lower()]
    return console


def check_console(console: list[str], n_images: int) -> None:
    assert len(console) == 1, console  # only the check's own line: no errors, no warnings
    assert f"SPIKEY_CHECK images={n_images} decoded={n_images}" in console[0]


def test_combined_report_opens_in_chromium(combined, tmp_path):
    console = open_in_chromium(combined, ARTIFACTS / "report_all_kinds.png", tmp_path)
    check_console(console, 12)


# (a Done-when item of the GA/report work: kept in the default suite, ~10 s)
def test_each_report_opens_in_chromium(folders, tmp_path):
    for name in ("ga", "tune", "series"):
        path = build_report([folders[name]], tmp_path / name)
        check_self_contained(path.read_text(), 4)
        console = open_in_chromium(path, ARTIFACTS / f"report_{name}.png", tmp_path)
        check_console(console, 4)


@pytest.mark.slow
@pytest.mark.ray
def test_report_of_a_real_sweep(ray_session, tmp_path):
    """run_sweep's own folder (format 2) loads trial by trial and reports without notes."""
    from spikey.meta.tune import run_sweep
    from test_analysis import tiny_experiment
    result = run_sweep(tiny_experiment(), {"learning_rate": [0.001, 0.05, "log"], "firing_threshold": [0.5, 2.0]},
                       storage_path=tmp_path, name="sweep", num_samples=3, metric="accuracy", scheduler="fifo",
                       progress=False)
    frame = load(result.path)
    assert frame["trial_id"].nunique() == 3 and len(frame) == 3 * 3
    for trial, rows in result.results.groupby("trial_id"):
        mine = frame[frame["trial_id"] == trial].sort_values("episode")
        np.testing.assert_array_equal(mine["accuracy"].to_numpy(), rows.sort_values("episode")["accuracy"].to_numpy())
        assert mine["learning_rate"].iloc[0] == rows["config/learning_rate"].iloc[0]
    path = build_report([result.path], tmp_path / "report")
    check_self_contained(path.read_text(), 4)
    console = open_in_chromium(path, tmp_path / "sweep.png", tmp_path)
    check_console(console, 4)


@pytest.mark.slow
def test_xor_examples_series_then_report(tmp_path):
    """examples/series_xor.py (shortened, no Ray) and examples/report_xor.py end to end."""
    from example_scripts import load_example
    modules = {name: load_example(name) for name in ("series_xor", "report_xor")}
    series = tmp_path / "series"
    assert modules["series_xor"].main(["--out", str(series), "--no-ray", "--seeds", "2", "--episodes", "2"]) == 0
    assert len(load(series)) == 9 * 2 * 2
    assert modules["report_xor"].main(["--series", str(series), "--evolve", str(tmp_path / "none"),
                                       "--out", str(tmp_path / "report")]) == 0
    check_self_contained((tmp_path / "report" / "report.html").read_text(), 4)
