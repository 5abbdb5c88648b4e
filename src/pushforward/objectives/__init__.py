"""Training objectives: what the one loop optimises (divergences now; critics and flows later)."""

from .base import Objective
from .divergence import Divergence

__all__ = ["Objective", "Divergence"]
