"""Image figures (issue 14): feature Fréchet distance, class histogram, memorisation."""

import numpy as np
import pytest

import pushforward
from pushforward.data import load_source
from pushforward.evaluation import evaluate
from pushforward.evaluation.images import (
    class_shares,
    feature_net,
    frechet_distance,
    memorisation,
)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits split 70/30 (seeded), with the labels of each part."""
    s = load_source("digits")
    x, y = s.data, np.asarray(s.meta["labels"])
    order = np.random.default_rng(0).permutation(len(x))
    tr, te = order[:1258], order[1258:]
    return x[tr], y[tr], x[te], y[te]


@pytest.fixture(scope="module")
def net(digits):
    return feature_net(digits[0], digits[1], (1, 8, 8), seed=0)


def test_frechet_distance_is_zero_for_one_set_and_grows_with_noise(digits, net):
    x = digits[2]
    f = net.features(x)
    assert frechet_distance(f, f) < 1e-6
    rng = np.random.default_rng(1)
    noisy = [frechet_distance(net.features(np.clip(x + rng.normal(0, s, x.shape), 0, 16)), f)
             for s in (1.0, 3.0, 6.0)]
    assert 0 < noisy[0] < noisy[1] < noisy[2]


def test_features_without_labels_learn_flips_and_still_see_noise(digits):
    x = digits[2]
    flips = feature_net(digits[0][:400], None, (1, 8, 8), seed=0)
    assert flips.task == "flips" and flips.features(x).shape == (len(x), 32)
    f = flips.features(x)
    noisy = np.clip(x + np.random.default_rng(2).normal(0, 6, x.shape), 0, 16)
    assert frechet_distance(flips.features(noisy), f) > 5 * frechet_distance(
        flips.features(digits[0][:len(x)]), f)


def test_class_histogram_of_real_images_matches_their_label_shares(digits, net):
    _, _, x, y = digits
    pred = class_shares(net.predict(x), net.classes)
    true = class_shares(y, net.classes)
    assert 0.5 * np.abs(pred - true).sum() < 0.05 and abs(pred.sum() - 1) < 1e-12


def test_dcr_ratio_is_one_for_held_out_images_and_zero_for_copies(digits):
    train, _, test, _ = digits
    half = len(test) // 2
    real = memorisation(test[:half], train, test[half:])
    assert 0.8 < real["ratio"] < 1.25 and real["exact_copies"] == 0
    copies = memorisation(train[:200], train, test)
    assert copies["ratio"] == 0 and copies["near_copies"] == copies["exact_copies"] == 200


def test_evaluate_shows_the_image_figures_of_a_digits_model():
    m = pushforward.fit("digits", method="copula", seed=0)
    e = evaluate(m, n=500, seed=0)
    assert {"fid", "classes", "near_copies", "dcr"} <= {r.key for r in e.rows}
    f = e.images
    assert f.task == "labels" and f.classes == list(range(10)) and f.fid_floor > 0
    assert abs(sum(f.generated) - 1) < 1e-9 and min(f.real) > 0.05  # every digit held out
    assert e["dcr"].note.endswith("pixel units") and 0.8 < e["dcr"].ratio < 3
    assert e.as_dict()["images"]["share_ratios"] is not None


def test_the_report_of_an_image_model_shows_images_nearest_neighbours_and_classes(tmp_path):
    import base64
    import io
    import re

    from PIL import Image

    from pushforward.report import report

    m = pushforward.fit("digits", method="copula", seed=0)
    text = report(m, out=tmp_path / "r.html", n=300).read_text()
    found = dict(re.findall(r'data-plot="([\w-]+)"><img src="data:image/png;base64,([^"]+)"',
                            text))
    assert {"generated-images", "real-images", "nearest-training", "classes"} <= set(found)
    assert "pairs" not in found  # pixels' corner plot: replaced by the images
    pairs = np.asarray(Image.open(io.BytesIO(base64.b64decode(found["nearest-training"]))))
    zoom = 6  # 48 pixels a side for 8×8 images, 1-pixel gaps, 16 columns, 2 rows
    assert pairs.shape == (2 * 8 * zoom + 1, 16 * 8 * zoom + 15)
    below = pairs[8 * zoom + 1::zoom, :8 * zoom:zoom]  # the first generated image's neighbour
    train = load_source("digits").data * 255 / 16  # digits' 0 … 16 written as 0 … 255
    assert (np.abs(train - below.ravel()).max(axis=1) <= 0.5).any()  # a real training image
