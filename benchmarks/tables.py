"""Mixed-type tables: pushforward against SDV's three synthesizers, on one split, one budget.

    # SDV only for this benchmark, in its own environment on top of the project's (torch and
    # the rest are the project's; SDV's pandas pin stays inside /work/sdvenv):
    python -m venv --system-site-packages /work/sdvenv
    echo "$PWD/.venv/lib/python3.11/site-packages" > \\
        /work/sdvenv/lib/python3.11/site-packages/project.pth
    /work/sdvenv/bin/pip install "sdv==2.0.0" "palmerpenguins==0.1.6"
    PYTHONPATH=src /work/sdvenv/bin/python benchmarks/tables.py            # 60 s budget
    PYTHONPATH=src /work/sdvenv/bin/python benchmarks/tables.py --budget 10 --tables penguins
    python benchmarks/tables.py --no-sdv        # pushforward only, without SDV

Tables (each split 70/30 with seed 0: every method fits the same training rows):

- ``penguins``: palmerpenguins' CSV (344 rows: species, island, sex categorical with gaps,
  four measurements with gaps, year);
- ``diabetes``: scikit-learn's ``load_diabetes(scaled=False)`` (442 rows; sex as "F"/"M",
  age and the target integers) with the body-mass index binned into four named bands;
- ``wine``: scikit-learn's ``load_wine`` (178 rows, 13 measurements, the class as a string);
- ``mixed``: a generated table of 3,000 rows whose structure is known: a segment (4 ordered
  categories, pandas ``category``) that shifts a skewed positive amount (log-normal) by a
  factor of 1–4, an integer count whose Poisson rate depends on the segment, a boolean that
  depends on the amount, 8 % gaps in the amount and 5 % in a channel category.

Methods, each with the same wall budget (``--budget``, 60 s): SDV's GaussianCopula, CTGAN and
TVAE (epochs sized to the budget from probes of 1 and 3 epochs, their data transformer's set-up
apart, at most their default 300: they take no time budget; the probes are not timed), and
pushforward's ``auto``, ``copula`` and two learned methods (``swd``, ``ot-flow-matching``) with
``time_budget``. One torch thread for everything.

Figures (pushforward.evaluation.tables; the test rows are the reference, and the floor is a
block of training rows of the same size scored the same way): C2ST (gradient boosting,
categories native; the mean of 5 splits), Column Shapes and Column Pair Trends as SDMetrics
defines them (against the test rows, beside the floor; and, as SDMetrics' own report does,
against all training rows with as many generated rows: ``sh/tr``, ``tr/tr``), DCR ratio on
the encoded table and the share of exact copies of training rows; type fidelity per column
(dtype equal, categories ⊆ training, integers integral, missing share within ±2 points of the
training rows'). Fit and sample seconds, and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
import torch

import pushforward
from pushforward.data import load_source
from pushforward.data.schema import infer_schema
from pushforward.data.table import coded
from pushforward.evaluation.c2st import c2st_test
from pushforward.evaluation.tables import categorical_mask, category_codes, table_figures

PUSHFORWARD = ("auto", "copula", "swd", "ot-flow-matching")
SDV = ("sdv-gaussiancopula", "sdv-ctgan", "sdv-tvae")
#: Rows generated per method: the type checks read them all (a missing share from 240 rows
#: moves by ±1.1 points by chance alone), the figures their first test- or training-size rows.
TYPE_ROWS = 5000


# ------------------------------------------------------------------------------------- tables
def penguins() -> pd.DataFrame:
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        raise SystemExit('penguins needs the palmerpenguins package: pip install '
                         '"palmerpenguins==0.1.6"') from None
    return load_penguins()


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    d = load_diabetes(scaled=False, as_frame=True).frame
    d["sex"] = np.where(d["sex"] == 1, "F", "M")
    d["bmi_band"] = pd.cut(d.pop("bmi"), [0, 18.5, 25, 30, 100],
                           labels=["under", "normal", "over", "obese"]).astype(str)
    d["age"] = d["age"].astype("int64")
    d["target"] = d["target"].astype("int64")
    return d


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    d = load_wine(as_frame=True)
    f = d.data.copy()
    f["class"] = np.array(d.target_names)[d.target]
    return f


def mixed(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seg = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    amount = rng.lognormal(3.0, 0.6, n) * (1 + seg)  # segment k multiplies the amount by k + 1
    count = rng.poisson(1 + 2 * seg)
    flag = rng.random(n) < 1 / (1 + np.exp(-(np.log(amount) - 4)))
    channel = rng.choice(["web", "shop", "phone"], n, p=[0.6, 0.3, 0.1]).astype(object)
    amount[rng.random(n) < 0.08] = np.nan
    channel[rng.random(n) < 0.05] = None
    return pd.DataFrame({
        "segment": pd.Categorical.from_codes(seg, ["bronze", "silver", "gold", "platinum"],
                                             ordered=True),
        "amount": amount, "count": count, "flag": flag, "channel": channel})


TABLES = {"penguins": penguins, "diabetes": diabetes, "wine": wine, "mixed": mixed}


def split(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(0.7 * len(frame))
    return (frame.iloc[order[:cut]].reset_index(drop=True),
            frame.iloc[order[cut:]].reset_index(drop=True))


# ------------------------------------------------------------------------------------ methods
def fit_pushforward(method: str, train: pd.DataFrame, budget: float, seed: int):
    options = {"time_budget": budget}
    if method not in ("auto", "copula"):
        options["threads"] = 1
    m = pushforward.fit(train, method=method, seed=seed, **options)
    return lambda n, s: m.sample(n, seed=s), m


def fit_sdv(method: str, train: pd.DataFrame, budget: float, seed: int):
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    # SDV's detection took diabetes' bmi_band (four words) for an ID and generated random
    # strings: the columns pushforward reads as categories are declared categorical, so both
    # sides model the same kinds. CTGAN and TVAE refuse pandas 'category' columns: they get
    # them as strings, and their samples are cast back (what a user would do).
    cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c].dtype)
            or pd.api.types.is_bool_dtype(train[c].dtype)]
    dtypes = {c: train[c].dtype for c in train.columns}
    plain = train.astype({c: object for c in train.columns
                          if isinstance(dtypes[c], pd.CategoricalDtype)})
    metadata = Metadata.detect_from_dataframes({"t": plain})
    for c in cats:
        metadata.update_column(c, table_name="t", sdtype="categorical")
    kind = {"sdv-gaussiancopula": GaussianCopulaSynthesizer, "sdv-ctgan": CTGANSynthesizer,
            "sdv-tvae": TVAESynthesizer}[method]
    torch.manual_seed(seed)
    if kind is GaussianCopulaSynthesizer:
        synth = kind(metadata)
    else:  # no time budget: size the epochs from probes of 1 and 3 epochs (set-up apart)
        took = []
        for e in (1, 3):
            start = time.perf_counter()
            kind(metadata, epochs=e, enable_gpu=False).fit({"t": plain})
            took.append(time.perf_counter() - start)
        per_epoch = max((took[1] - took[0]) / 2, 1e-3)
        setup = max(took[0] - per_epoch, 0.0)
        epochs = int(np.clip((0.95 * budget - setup) / per_epoch, 1, 300))
        synth = kind(metadata, epochs=epochs, enable_gpu=False)
        synth.epochs_used = epochs  # shown beside the name
    start = time.perf_counter()
    synth.fit({"t": plain})  # SDV 2.0 takes {table name: frame}, single tables too
    synth.fit_seconds = time.perf_counter() - start

    def sample(n: int, s: int) -> pd.DataFrame:
        out = synth.sample(n)
        out = next(iter(out.values())) if isinstance(out, dict) else out
        return out.astype({c: t for c, t in dtypes.items()
                           if isinstance(t, pd.CategoricalDtype)})

    return sample, synth


# ------------------------------------------------------------------------------------ figures
def as_table(frame: pd.DataFrame, schema) -> np.ndarray:
    """A generated frame as the float table of ``schema`` (labels → codes by name; a label
    the schema lacks, or a value that is not a number, becomes a gap, and is counted by the
    type checks instead)."""
    out = np.full((len(frame), schema.dim), np.nan)
    for j, c in enumerate(schema.columns):
        col = frame[c.name] if c.name in frame else pd.Series([np.nan] * len(frame))
        if coded(c):
            labels = list(c.categories or (c.value,))
            lookup = {str(x): i for i, x in enumerate(labels)}
            out[:, j] = [lookup.get(str(v), np.nan) if pd.notna(v) else np.nan for v in col]
        else:
            out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float,
                                                                     na_value=np.nan)
    return out


def type_faults(fake: pd.DataFrame, train: pd.DataFrame) -> list[str]:
    """What differs in kind: columns or order, dtypes, unseen categories, non-integral values
    in a column whose training values are whole, a missing share off by more than 2 points."""
    if list(fake.columns) != list(train.columns):
        return ["columns differ"]
    faults = []
    for name in train.columns:
        a, b = train[name], fake[name]
        if str(a.dtype) != str(b.dtype):
            faults.append(f"{name}: dtype {b.dtype} (train {a.dtype})")
        if not pd.api.types.is_numeric_dtype(a.dtype) or pd.api.types.is_bool_dtype(a.dtype):
            new = set(map(str, b.dropna())) - set(map(str, a.dropna()))
            if new:
                faults.append(f"{name}: unseen {sorted(new)[:2]}")
        else:
            whole = np.all(np.mod(a.dropna().to_numpy(dtype=float), 1) == 0)
            vals = pd.to_numeric(b.dropna(), errors="coerce").to_numpy(dtype=float)
            if whole and not np.all(np.mod(vals, 1) == 0):
                faults.append(f"{name}: not integral")
        gap = 100 * abs(b.isna().mean() - a.isna().mean())
        if gap > 2:
            faults.append(f"{name}: missing Δ {gap:.1f} pp")
    return faults


def score(fake: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, schema, seed: int):
    """C2ST, Column Shapes, Pair Trends, DCR, copies of one generated frame (test rows the
    reference)."""
    g, tr, te = (as_table(f, schema) for f in (fake, train, test))
    k = len(te)
    f = table_figures(g[:k], te, [tr[:k]], schema, train=tr, held=te, seed=seed)
    # SDMetrics' own report compares with the training rows: all of them, as many generated
    sd = table_figures(g[:len(tr)], tr, [tr], schema, seed=seed)
    return {"c2st": c2st_mean(g[:k], te, schema, seed), "shapes": f.shapes,
            "shapes_train": sd.shapes, "trends_train": sd.trends, "trends": f.trends,
            "dcr": f.dcr["ratio"], "copies": f.copies, "missing": f.missing}


def c2st_mean(g: np.ndarray, te: np.ndarray, schema, seed: int, repeats: int = 5) -> float:
    """C2ST accuracy averaged over ``repeats`` splits (a test set of ~100 rows scores ~50
    points per split: one split's accuracy moves by ±0.07)."""
    a, b = category_codes(g, schema), category_codes(te, schema)
    mask = categorical_mask(schema)
    return float(np.mean([c2st_test(a, b, categorical=mask, seed=seed + r).accuracy
                          for r in range(repeats)]))


def floor(train: pd.DataFrame, test: pd.DataFrame, schema, seed: int) -> dict:
    """The same figures for real training rows (a block of the test's size) in place of the
    generated ones."""
    k = len(test)
    tr, te = as_table(train, schema), as_table(test, schema)
    block = tr[np.random.default_rng(seed).permutation(len(tr))[:k]]
    f = table_figures(block, te, [block], schema, train=tr, held=te, seed=seed)
    # DCR ratio: held-out rows over held-out rows, 1 by definition
    return {"c2st": c2st_mean(block, te, schema, seed), "shapes": f.shapes,
            "shapes_train": float("nan"), "trends_train": float("nan"), "trends": f.trends,
            "dcr": 1.0, "copies": f.copies_floor, "missing": f.missing}


# ---------------------------------------------------------------------------------------- run
def run_one(method: str, train, test, schema, budget: float, seed: int) -> dict:
    fitter = fit_sdv if method.startswith("sdv-") else fit_pushforward
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sample, model = fitter(method, train, budget, seed)
        fit_s = getattr(model, "fit_seconds", time.perf_counter() - start)
        start = time.perf_counter()
        fake = sample(max(len(train), TYPE_ROWS), seed + 1)
        sample_s = time.perf_counter() - start
    except Exception as e:  # a failing baseline is a result, not the end of the run
        return {"method": method, "error": f"{type(e).__name__}: {str(e)[:120]}"}
    out = {"method": method, "fit_s": fit_s, "sample_s": sample_s,
           "types": type_faults(fake, train), **score(fake, train, test, schema, seed)}
    if method == "auto":
        out["picked"] = model.method
    elif hasattr(model, "epochs_used"):
        out["picked"] = f"{model.epochs_used} epochs"
    return out


def line(r: dict) -> str:
    if "error" in r:
        return f"{r['method']:<20} failed: {r['error']}"
    name = r["method"] + (f" → {r['picked']}" if r.get("picked") else "")
    types = "exact" if not r["types"] else "; ".join(r["types"][:3])
    return (f"{name:<30} {r['fit_s']:6.1f} {r['sample_s']:6.2f}  {r['c2st']:.3f}  "
            f"{r['shapes']:.3f}  {r['trends'] or float('nan'):.3f}  {r['shapes_train']:.3f}  "
            f"{r['trends_train'] or float('nan'):.3f}  {r['dcr']:5.2f}  "
            f"{r['copies']:.3f}  {r['missing']:4.1f}  {types}")


HEADER = (f"{'method':<30} {'fit s':>6} {'smp s':>6}  C2ST   shapes trends sh/tr  "
          "tr/tr  DCR    copies miss  types")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--tables", default=",".join(TABLES))
    p.add_argument("--methods", default=",".join((*SDV, *PUSHFORWARD)))
    p.add_argument("--no-sdv", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    methods = [m for m in a.methods.split(",") if not (a.no_sdv and m.startswith("sdv-"))]
    print(f"load {os.getloadavg()[0]:.1f} at the start; budget {a.budget:g} s; torch "
          f"{torch.__version__}; pandas {pd.__version__}", flush=True)
    for name in a.tables.split(","):
        frame = TABLES[name]()
        train, test = split(frame, a.seed)
        schema = infer_schema(load_source(train))
        print(f"\n{name}: {len(train)} training rows, {len(test)} test rows; schema "
              f"{schema.summary()}", flush=True)
        fl = floor(train, test, schema, a.seed)
        print(HEADER)
        print(line({"method": "real rows (floor)", "fit_s": 0.0, "sample_s": 0.0,
                    "types": [], **fl}), flush=True)
        for method in methods:
            print(line(run_one(method, train, test, schema, a.budget, a.seed)), flush=True)
    print(f"\nload {os.getloadavg()[0]:.1f} at the end", file=sys.stdout)


if __name__ == "__main__":
    main()
