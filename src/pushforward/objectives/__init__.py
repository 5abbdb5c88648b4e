"""Training objectives: what the one loop optimises (divergences, adversarial critics, flows)."""

from .adversarial import GAN, WGAN, WGANGP, Adversarial
from .base import Objective
from .divergence import Divergence
from .flow_matching import FlowMatching, OTFlowMatching
from .likelihood import MaximumLikelihood
from .vae import VAE

__all__ = ["Objective", "Divergence", "Adversarial", "GAN", "WGAN", "WGANGP", "FlowMatching",
           "OTFlowMatching", "MaximumLikelihood", "VAE"]
