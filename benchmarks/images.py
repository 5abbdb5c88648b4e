"""Learned maps on small images (issue 14 §4): every learned method and two anchors on digits.

    nice -n 5 python benchmarks/images.py                       # every method, 120 s, digits
    nice -n 5 python benchmarks/images.py --budget 600          # the 600 s bar
    nice -n 5 python benchmarks/images.py --methods flow-matching,gmm --data patches:camera?size=16
    python benchmarks/images.py --smoke                         # seconds, for CI

Protocol: scikit-learn's digits cut 70/30 (stratified by label, ``random_state=0``: 1,258
training and 539 test images; ``--data`` takes any image source, cut 70/30 the same way).
Each method is fitted on the training images with ``time_budget`` seconds for the whole fit
(:func:`pushforward.fit`: its own 10 % hold-out and closing check included), seed ``--seed``
(0), ``--threads`` torch threads (default 1: on the shared 2-core machine two threads ran
5–10× slower, see docs/benchmarks.md). One cell at a time; run it under ``nice -n 5`` and quote
``uptime``.

Per cell:

- training steps and steps per second; seconds to sample 10⁴ images.
- C2ST as the issue fixes it: scikit-learn's HistGradientBoostingClassifier on the pixels of
  539 generated vs 539 test images (classes balanced), 2-fold stratified cross-validation,
  accuracy averaged (0.5: indistinguishable). One draw of 539 generated images is noisy (five
  draws from one digits model at 600 s: 0.506–0.576, standard deviation 0.026): ``--draws N``
  gives the mean over N draws (sample seeds 1…N) beside each draw's value; the other figures
  use the first draw.
- the floors: C2ST of a second real sample (as many training images) against the test images,
  and the feature-space Fréchet distance (:mod:`pushforward.evaluation.images`: the features of
  a small classifier trained on the real training images, on the labels where there are any,
  else on telling flips apart) of the generated images and of that real sample.
- DCR ratio and near-copies (:func:`pushforward.evaluation.images.memorisation`): the median
  distance of a generated image to its nearest training image over the same median for the
  test images (≈ 1: samples like new data, ≈ 0: copies), and the generated images nearer a
  training image than 99 % of test images are.
- class shares (labelled data): each digit's share among the generated images under a
  classifier trained on the real training images (an RBF SVM, γ = 0.001: 99 % test accuracy),
  over its share among the test images; min and max over the ten digits.

Bars (digits): the best learned method's C2ST ≤ 0.65 at 120 s (≤ 0.58 at 600 s), its DCR ratio
≥ 0.9 and every class share within 0.5–2× the real share. The anchors (``gmm``, ``copula``) are
fitted the same way, for reference.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

LEARNED = ["sliced-js", "swd", "mmd", "energy", "sinkhorn", "gan", "wgan", "wgan-gp",
           "flow-matching", "ot-flow-matching", "vae", "nsf"]
ANCHORS = ["gmm", "copula"]
N_EVAL = 539


def split(data: str, seed: int = 0):
    """(train, test, train labels, test labels, image shape) of the 70/30 split of ``data``."""
    from sklearn.model_selection import train_test_split

    import pushforward

    source = pushforward.load_source(data)
    labels = source.meta.get("labels")
    if labels is None and data == "digits":
        from sklearn.datasets import load_digits

        labels = load_digits().target
    labels = np.asarray(labels) if labels is not None else None
    parts = train_test_split(source.data, *([labels] if labels is not None else []),
                             test_size=539 if data == "digits" else 0.3, random_state=seed,
                             stratify=labels)
    shape = source.meta["image_shape"]
    if labels is None:
        return parts[0], parts[1], None, None, shape
    return (*parts, shape)


def c2st(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """The issue's C2ST: gradient boosting, balanced classes, 2-fold, accuracy averaged."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    n = min(len(a), len(b))
    x = np.vstack([a[:n], b[:n]])
    y = np.r_[np.zeros(n), np.ones(n)]
    cv = StratifiedKFold(2, shuffle=True, random_state=seed)
    return float(cross_val_score(HistGradientBoostingClassifier(random_state=seed), x, y,
                                 cv=cv).mean())


def class_ratios(generated, train, train_labels, test_labels) -> tuple[float, float]:
    """(min, max) over classes of generated share / test share, under an SVM on real images."""
    from sklearn.svm import SVC

    from pushforward.evaluation.images import class_shares

    pred = SVC(gamma=0.001).fit(train, train_labels).predict(generated)
    classes = np.unique(train_labels)
    ratio = class_shares(pred, classes) / class_shares(test_labels, classes)
    return float(ratio.min()), float(ratio.max())


def cell(method: str, data: str, budget: float, threads: int, options: dict,
         timed_rows: int = 10_000, seed: int = 0, draws: int = 1) -> dict:
    """Fit one method and measure it (see the module notes)."""
    import torch

    import pushforward
    from pushforward.data.source import Source
    from pushforward.evaluation.images import image_figures

    torch.set_num_threads(threads)  # sampling and the closing check too, not only training
    train, test, ytr, yte, shape = split(data)
    src = Source(name=f"{data}-train", columns=[f"px{j}" for j in range(train.shape[1])],
                 data=train, meta={"image_shape": shape})
    learned = method not in ANCHORS
    extra = {"threads": threads, **options} if learned else dict(options)
    t = time.perf_counter()
    m = pushforward.fit(src, method=method, seed=seed, time_budget=budget, **extra)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    if timed_rows:
        m.sample(timed_rows, seed=2)
    sample_s = time.perf_counter() - t
    k = min(N_EVAL, len(test))  # images on each side of every comparison
    test = test[:k]
    yte = None if yte is None else yte[:k]
    g = np.asarray(m.sample(k, seed=1), dtype=np.float64)
    row = {"method": method, "data": data, "budget": budget, "threads": threads, "seed": seed,
           "options": options, "fit_s": round(fit_s, 1),
           f"sample_{timed_rows}_s" if timed_rows != 10_000 else "sample_1e4_s": round(sample_s, 2),
           "c2st": round(c2st(g, test), 3)}
    if draws > 1:  # more draws of k generated images: the same test images, other samples
        each = [row["c2st"]] + [round(c2st(np.asarray(m.sample(k, seed=1 + j), np.float64),
                                           test), 3) for j in range(1, draws)]
        row.update(c2st=round(float(np.mean(each)), 3), c2st_draws=each)
    # the floors: a second real sample (training images, as many as the test images) in place
    # of the generated ones
    real = train[np.random.default_rng(3).choice(len(train), k, replace=False)]
    fig = image_figures(g, test, real, train, None, labels=ytr, seed=0,
                        shape=tuple(shape) if len(shape) == 3 else (1, *shape))
    copies = fig.memorisation
    row.update(c2st_floor=round(c2st(real, test), 3), fid=round(fig.fid, 2),
               fid_floor=round(fig.fid_floor, 2), features=fig.task,
               dcr_ratio=round(copies["ratio"], 3), near_copies=copies["near_copies"])
    if learned:
        steps, seconds = m.info["steps"], m.info["seconds"]
        row.update(net=m.net_spec["name"], steps=steps,
                   steps_per_s=round(steps / max(seconds, 1e-9), 1),
                   batch=m.settings["train"]["batch_size"], stopped=m.info["stopped"],
                   copy_ratios=[round(r, 3) for r in m.history.get("val_copy", [])[::10]])
    if ytr is not None:
        lo, hi = class_ratios(g, train, ytr, yte)
        row.update(class_min=round(lo, 2), class_max=round(hi, 2))
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(LEARNED + ANCHORS))
    p.add_argument("--data", default="digits")
    p.add_argument("--budget", type=float, default=120.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--options", default="{}", help="JSON options for every learned method")
    p.add_argument("--out", default=None, help="append each cell as a JSON line")
    p.add_argument("--timed-rows", type=int, default=10_000,
                   help="images drawn to time sampling (0: not timed)")
    p.add_argument("--seed", type=int, default=0, help="the fit's seed (the split stays)")
    p.add_argument("--draws", type=int, default=1,
                   help="C2ST as the mean over this many draws of generated images")
    p.add_argument("--smoke", action="store_true", help="2 s a method, for CI")
    a = p.parse_args()
    budget = 2.0 if a.smoke else a.budget
    for method in a.methods.split(","):
        opts = json.loads(a.options) if method not in ANCHORS else {}
        row = cell(method, a.data, budget, a.threads, opts, a.timed_rows, a.seed, a.draws)
        line = json.dumps(row)
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
