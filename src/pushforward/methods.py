"""The method table: every way of turning data into a fitted map, exact or learned.

A method is a function ``fit(source, *, noise, latent_dim, seed, **options) -> FittedMap`` where
``source`` is a :class:`~pushforward.data.source.Source`. The table below is literal: listing its
keys and descriptions imports nothing (no torch), and :func:`get` imports only the method asked
for. Exact methods name their fit function; learned methods name the objective that the one loop
(:func:`pushforward.learned.fit_learned`) trains a network on. Every loss of
:data:`pushforward.losses.LOSSES` is a learned method under the same key, with
:class:`~pushforward.objectives.divergence.Divergence` of that loss as its objective.

Example:
    >>> "quantile" in METHODS and "sliced-js" in LEARNED
    True
    >>> METHODS.get("no-such-method")
    Traceback (most recent call last):
    ...
    pushforward.errors.PushforwardError: unknown method 'no-such-method'; valid: copula, energy, \
flow-matching, gan, gmm, hist-js, hist-kl, inverse-cdf, kde, mmd, nsf, ot-flow-matching, \
parametric, quantile, sinkhorn, sliced-js, sliced-kl, swd, vae, wgan, wgan-gp
"""

from __future__ import annotations

from collections.abc import Callable

from .losses import LOSSES
from .registry import Table, resolve

MethodFit = Callable[..., "object"]

_DIVERGENCE = "pushforward.objectives.divergence:Divergence"

#: Exact methods: key → ("module:fit function", description).
EXACT = {
    "inverse-cdf": ("pushforward.exact.inverse_cdf:fit_inverse_cdf",
                    "exact inverse CDF of a known distribution (a spec target)"),
    "parametric": ("pushforward.exact.parametric:fit_parametric",
                   "a scipy.stats family fitted by maximum likelihood (family=)"),
    "quantile": ("pushforward.exact.quantile:fit_quantile",
                 "empirical quantile map per column, tails extrapolated or clipped"),
    "copula": ("pushforward.exact.copula:fit_copula",
               "Gaussian copula: quantile marginals + normal-score correlation"),
}

#: Classical baselines (scikit-learn density estimators sampled as mixtures): key → ("module:fit
#: function", description), dispatched like the exact methods.
BASELINES = {
    "gmm": ("pushforward.baselines.gmm:fit_gmm",
            "Gaussian mixture (scikit-learn), components chosen by held-out likelihood"),
    "kde": ("pushforward.baselines.kde:fit_kde",
            "Gaussian kernel density (scikit-learn), bandwidth by likelihood cross-validation"),
}

#: Learned methods: key → ("module:objective class", description). Every loss of the (literal,
#: torch-free) loss table is one, under the same key, built as ``Divergence(key, **options)``;
#: the critics and flows are built as ``cls(**options)``.
LEARNED = {
    **{key: (_DIVERGENCE, f"learned map minimising {description}")
       for key, description in LOSSES.describe()},
    "gan": ("pushforward.objectives.adversarial:GAN",
            "GAN (non-saturating loss; instance noise and label smoothing options)"),
    "wgan": ("pushforward.objectives.adversarial:WGAN",
             "Wasserstein GAN with weight clipping and RMSProp"),
    "wgan-gp": ("pushforward.objectives.adversarial:WGANGP",
                "Wasserstein GAN with gradient penalty (Adam betas (0.5, 0.9))"),
    "flow-matching": ("pushforward.objectives.flow_matching:FlowMatching",
                      "flow matching (I-CFM): a velocity field on straight noise-to-data paths"),
    "ot-flow-matching": ("pushforward.objectives.flow_matching:OTFlowMatching",
                         "flow matching on minibatch exact optimal-transport pairs (OT-CFM)"),
    "nsf": ("pushforward.objectives.likelihood:MaximumLikelihood",
            "neural spline flow (zuko) by maximum likelihood: invertible, with an exact density"),
    "vae": ("pushforward.objectives.vae:VAE",
            "variational autoencoder (ELBO, learned noise per column); the map is its decoder"),
}

class MethodTable(Table[MethodFit]):
    """The method table; :meth:`get` returns a method's fit function, learned ones included."""

    def get(self, key: str) -> MethodFit:
        """The fit function of method ``key``; an unknown key raises an error listing every key."""
        target, description = self[self.check(key)]
        if key in EXACT or key in BASELINES:
            return resolve(target)
        from .learned import learned_fit

        factory = resolve(target)
        if target == _DIVERGENCE:
            return learned_fit(key, description, lambda **options: factory(key, **options))
        return learned_fit(key, description, factory)


#: Every method key with its description (``pushforward list``, ``fit --method`` choices).
METHODS = MethodTable("method", {**EXACT, **BASELINES, **LEARNED})
