"""Image sets in (issue 14): folders of pictures, image arrays, patches of bundled pictures."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.data import load_source
from pushforward.data.schema import infer_schema
from pushforward.errors import PushforwardError


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def test_a_grey_folder_is_read_pixel_for_pixel_in_name_order(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(3, 5, 7), dtype=np.uint8)
    for i, img in enumerate(imgs):
        _save(tmp_path / "f" / f"{2 - i}.png", img)  # names in reverse of the array's order
    (tmp_path / "f" / "notes.txt").write_text("not an image")
    s = load_source(f"images:{tmp_path / 'f'}")
    assert s.data.shape == (3, 35) and s.meta["image_shape"] == [5, 7]
    np.testing.assert_array_equal(s.data, imgs[::-1].reshape(3, -1))
    assert infer_schema(s).event_shape == (1, 5, 7)
    assert s.spec.endswith("?size=7x5")


def test_a_colour_folder_is_rgb_channel_first_and_resized_on_request(tmp_path):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red everywhere
    _save(tmp_path / "f" / "a.png", rgb)
    _save(tmp_path / "f" / "b.png", np.full((8, 8), 50))  # grey: read as RGB with the rest
    s = load_source(f"images:{tmp_path / 'f'}", size="3x2")
    assert s.meta["image_shape"] == [3, 2, 3] and infer_schema(s).event_shape == (3, 2, 3)
    x = s.data.reshape(2, 3, 2, 3)
    assert (x[0, 0] == 200).all() and (x[0, 1:] == 0).all()  # channel first: R, G, B planes
    assert (x[1] == 50).all()


def test_skip_bad_leaves_out_a_corrupt_file_and_names_it(tmp_path):
    for i in range(2):
        _save(tmp_path / "f" / f"{i}.png", np.full((4, 4), 10 * i))
    (tmp_path / "f" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(PushforwardError, match="bad.png"):
        load_source(f"images:{tmp_path / 'f'}")
    s = load_source(f"images:{tmp_path / 'f'}", skip_bad=True)
    assert len(s.data) == 2 and s.meta["skipped"] == ["bad.png"]
    assert s.spec.endswith("&skip-bad=1")
    assert len(load_source(s.spec).data) == 2  # the spec reads the same set again


@pytest.mark.parametrize("suffix", ["npy", "npz"])
def test_image_arrays_channels_last_are_read_channel_first(tmp_path, suffix):
    a = np.random.default_rng(1).integers(0, 256, size=(5, 4, 3, 3)).astype(np.uint8)
    path = tmp_path / f"a.{suffix}"
    np.save(path, a) if suffix == "npy" else np.savez(path, images=a)
    s = load_source(str(path))
    assert s.meta["image_shape"] == [3, 4, 3]
    np.testing.assert_array_equal(s.data.reshape(5, 3, 4, 3), a.transpose(0, 3, 1, 2))
    np.save(tmp_path / "g.npy", a[..., 0])  # (n, H, W): grey
    g = load_source(str(tmp_path / "g.npy"))
    assert g.meta["image_shape"] == [4, 3] and infer_schema(g).event_shape == (1, 4, 3)


def test_patches_cut_a_bundled_picture_without_overlap_by_default():
    pytest.importorskip("skimage")
    s = load_source("patches:camera?size=16")
    assert s.data.shape == (32 * 32, 256) and s.meta["image_shape"] == [16, 16]
    from skimage import data

    cam = data.camera().astype(np.float64)
    np.testing.assert_array_equal(s.data[1].reshape(16, 16), cam[:16, 16:32])
    t = load_source("patches:camera?size=16&stride=8")
    assert len(t.data) == 63 * 63
    c = load_source("patches:astronaut?size=8&stride=64")
    assert c.meta["image_shape"] == [3, 8, 8] and len(c.data) == 64


# --------------------------------------------------------------------------- out
runner = CliRunner()


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    """A copula fitted on 40 colour 8-bit images of 3×4 pixels, 0 … 255 (some levels unseen)."""
    d = tmp_path_factory.mktemp("rgb")
    a = np.random.default_rng(3).integers(0, 256, size=(40, 3, 4, 3)).astype(np.uint8)
    np.save(d / "a.npy", a)
    r = runner.invoke(app, ["fit", str(d / "a.npy"), "--method", "copula", "--out",
                            str(d / "m"), "--seed", "0"])
    assert r.exit_code == 0, r.output
    return d / "m"


def test_png_folder_and_npy_of_an_image_model_hold_the_same_images(tmp_path, rgb_model):
    r = runner.invoke(app, ["sample", str(rgb_model), "-n", "7", "--format", "png", "--out",
                            str(tmp_path / "imgs"), "--seed", "4", "--grid",
                            str(tmp_path / "g.png")])
    assert r.exit_code == 0, r.output
    files = sorted((tmp_path / "imgs").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(7)]
    r = runner.invoke(app, ["sample", str(rgb_model), "-n", "7", "--out",
                            str(tmp_path / "s.npy"), "--seed", "4"])
    assert r.exit_code == 0, r.output
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (7, 3, 4, 3)  # (n, H, W, C): channels last
    assert set(np.unique(s)) <= set(range(256))  # 8-bit support: whole numbers 0 … 255
    back = load_source(f"images:{tmp_path / 'imgs'}").data.reshape(7, 3, 3, 4)
    np.testing.assert_array_equal(back, s.transpose(0, 3, 1, 2))  # 8-bit: written as is
    g = np.asarray(Image.open(tmp_path / "g.png"))
    zoom = 12  # 48 / 4 pixels
    assert g.shape == (3 * 3 * zoom + 2, 3 * 4 * zoom + 2, 3)  # 3 × 3 cells, 1-pixel gaps
    np.testing.assert_array_equal(g[:3 * zoom:zoom, :4 * zoom:zoom], s[0].astype(np.uint8))


def test_png_output_is_refused_for_tables_and_into_a_full_folder(tmp_path, rgb_model):
    m = pushforward.fit(np.random.default_rng(0).normal(size=(50, 2)), method="copula", seed=0)
    m.save(tmp_path / "t")
    r = runner.invoke(app, ["sample", str(tmp_path / "t"), "-n", "3", "--format", "png",
                            "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "not fitted on images" in r.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = runner.invoke(app, ["sample", str(rgb_model), "-n", "3", "--format", "png", "--out",
                            str(tmp_path / "full")])
    assert r.exit_code == 2 and "--force" in r.stderr
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_a_folder_given_again_is_read_at_the_model_s_image_size(tmp_path):
    from pushforward.evaluation import evaluate

    rng = np.random.default_rng(5)
    for i in range(240):  # two sizes: the fit resizes them all to 4×3
        side = (3, 4) if i % 2 else (6, 8)
        _save(tmp_path / "f" / f"{i:03d}.png", rng.integers(0, 256, size=side))
    r = runner.invoke(app, ["fit", f"images:{tmp_path / 'f'}", "--size", "4x3", "--method",
                            "copula", "--out", str(tmp_path / "m"), "--seed", "0"])
    assert r.exit_code == 0, r.output
    m = pushforward.load(tmp_path / "m")
    assert m.schema.event_shape == (1, 3, 4)
    e = evaluate(m, f"images:{tmp_path / 'f'}", n=100, metrics=["c2st"])
    assert e.reference == "held-out"  # the fit's own rows, found again at its size
