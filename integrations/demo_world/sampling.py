"""Fast categorical draws: ``Generator.choice(k, n, p=...)`` is several times slower at millions of rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def categorical(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """``n`` draws of indices ``0..len(weights)-1`` with probability proportional to ``weights``."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    draws = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return np.minimum(draws, len(cumulative) - 1)
