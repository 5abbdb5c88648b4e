"""The HTML report: self-contained, one decodable image per plot, and it renders in a browser."""

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pushforward
from pushforward import plots
from pushforward.data import load_source
from pushforward.report import report

CHROMIUM = Path("/usr/bin/chromium")
FIGURE = re.compile(r'<figure data-plot="([\w-]+)"><img src="data:(image/\w+);base64,([^"]+)"')


def _images(text: str) -> list[tuple[str, str, Image.Image]]:
    out = []
    for name, mime, b64 in FIGURE.findall(text):
        img = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
        img.load()  # decodes the whole image, not only its header
        out.append((name, mime, img))
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Three reports: exact 1-D map, tiny learned 2-D map with an animation, 4-D copula."""
    d = tmp_path_factory.mktemp("reports")
    gamma = load_source("gamma(a=2)")
    q = pushforward.fit(gamma.draw(2000, seed=0), method="quantile", seed=0)
    moons = load_source("moons").draw(600, seed=0)
    learned = pushforward.fit(moons, method="swd", steps=3, seed=0)
    snaps = [learned.sample(300, seed=s) for s in range(3)]
    x4 = np.random.default_rng(0).normal(size=(600, 4)) @ np.triu(np.ones((4, 4)))
    cop = pushforward.fit(x4, method="copula", seed=0)
    return {
        "1d": (report(q, "gamma(a=2)", out=d / "1d.html", n=400), q, gamma.dist),
        "2d": (report(learned, moons, out=d / "2d.html", n=400, snapshots=snaps,
                      snapshot_steps=[0, 1, 3]), learned, None),
        "4d": (report(cop, x4, out=d / "4d.html", n=400), cop, None),
    }


@pytest.mark.parametrize("key", ["1d", "2d", "4d"])
def test_the_report_embeds_one_decodable_png_per_applicable_plot(reports, key):
    path, model, dist = reports[key]
    text = path.read_text()
    found = _images(text)
    pngs = [name for name, mime, _ in found if mime == "image/png"]
    expected = list(plots.plots_for(model, model.sample(50, seed=0), n=50, dist=dist))
    assert pngs == expected
    assert text.count("data:image/png;base64,") == len(expected)
    assert all(img.width > 100 and img.height > 100 for _, _, img in found)


def test_the_animation_is_an_embedded_gif(reports):
    found = _images(reports["2d"][0].read_text())
    gifs = [img for name, mime, img in found if mime == "image/gif"]
    assert len(gifs) == 1 and gifs[0].n_frames == 3


@pytest.mark.parametrize("key", ["1d", "2d", "4d"])
def test_the_report_is_self_contained(reports, key):
    text = reports[key][0].read_text()
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert "http://" not in text and "https://" not in text
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', text))


def test_the_report_states_the_verdict_and_the_floors(reports):
    text = reports["1d"][0].read_text()
    assert "real vs real" in text and "max |G(u) − F⁻¹(u)|" in text
    assert re.search(r"class='verdict (ok|bad)'>(in)?distinguishable", text)


def test_a_report_without_data_says_so(tmp_path):
    m = pushforward.fit(np.random.default_rng(1).normal(size=(300, 1)), method="quantile",
                        seed=0)
    text = report(m, out=tmp_path / "r.html", n=300).read_text()
    assert "No data given" in text and "not evaluated" in text
    assert [name for name, _, _ in _images(text)] == ["histogram"]


def test_an_existing_report_is_kept_without_force(tmp_path):
    m = pushforward.fit("norm", method="inverse-cdf", seed=0)
    out = tmp_path / "r.html"
    out.write_text("keep me")
    with pytest.raises(pushforward.PushforwardError, match="already exists"):
        report(m, "norm", out=out, n=200, force=False)
    assert out.read_text() == "keep me"


PROBE = """<script>window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => i.complete ? i.naturalWidth : -1);
  document.body.setAttribute("data-widths", JSON.stringify(imgs));
});</script></body>"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium) is "
                    "not installed; apt-get install chromium to run this test")
def test_every_image_decodes_in_headless_chromium(reports, tmp_path):
    for key, (path, _, _) in reports.items():
        page = tmp_path / f"{key}.html"
        page.write_text(path.read_text().replace("</body>", PROBE))
        cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", f"--user-data-dir={tmp_path / ('profile-' + key)}",
               "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
        match = re.search(r'data-widths="([^"]*)"', dom)
        assert match, f"{key}: Chromium did not finish loading the page"
        widths = json.loads(match.group(1).replace("&quot;", '"'))
        assert len(widths) == len(_images(path.read_text())) > 0
        assert all(w > 0 for w in widths), f"{key}: an image did not decode: {widths}"
    shutil.rmtree(tmp_path, ignore_errors=True)


#: One method of every map kind: exact, learned, flow and adversarial; tiny runs.
KINDS = {"copula": {}, "swd": {"steps": 3}, "flow-matching": {"steps": 3},
         "wgan-gp": {"steps": 3, "objective_options": {"critic_width": 16, "critic_depth": 1}}}


@pytest.mark.parametrize("method", list(KINDS))
def test_a_report_of_a_loaded_model_of_every_kind(tmp_path, method):
    fitted = pushforward.fit("moons", method=method, seed=0, width=16, depth=1,
                             **KINDS[method]) if method != "copula" else \
        pushforward.fit("moons", method=method, seed=0)
    loaded = pushforward.load(fitted.save(tmp_path / "m"))
    # no data given: the model's own target is reloaded; snapshots come from the model file
    text = report(tmp_path / "m", out=tmp_path / "r.html", n=300).read_text()
    names = [name for name, _, _ in _images(text)]
    assert names[0] == "scatter" and re.search(r"class='verdict \w+'>(in)?distinguishable", text)
    learned = method != "copula"
    assert learned == (getattr(loaded, "snapshots_", None) is not None)  # an array: the crash
    assert ("animation" in names) == learned and ("training" in names) == learned
