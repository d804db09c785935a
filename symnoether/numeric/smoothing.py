"""Smoothing of noisy positions by local least-squares polynomials (Savitzky-Golay).

Kept apart from `positions.py` so that `PositionLoss` (which `positions.py` imports) can
validate its smoothing settings.
"""

import numpy as np

from ..errors import DataError

__all__ = ["local_polynomials", "smoothing_problems"]


def smoothing_problems(window, degree) -> list[str]:
    """What is wrong with a smoothing window and degree (an empty list when nothing)."""
    problems = []
    if not (isinstance(window, int) and not isinstance(window, bool) and window >= 1
            and window % 2 == 1):  # fmt: skip
        problems.append(f"smooth_window must be an odd int >= 1 (samples; 1: no smoothing), "
                        f"got {window!r}")  # fmt: skip
    if not (isinstance(degree, int) and not isinstance(degree, bool) and degree >= 0):
        problems.append(f"smooth_degree must be an int >= 0, got {degree!r}")
    elif isinstance(window, int) and window > 1 and degree >= window:
        problems.append(f"smooth_degree ({degree}) must be below smooth_window ({window}): a "
                        "polynomial of that degree through every sample smooths nothing")
    return problems


def local_polynomials(q: np.ndarray, lengths: np.ndarray, window: int, degree: int) -> np.ndarray:
    """Trajectories `q` `(B, T, n)` with `lengths` valid samples each, every sample replaced
    by the value at its time of the polynomial of `degree` fitted by least squares to the
    `window` samples around it (the first and last `window // 2` samples of a trajectory by
    the polynomial of its first or last window); padding repeats the last valid sample."""
    if int(lengths.min()) < window:
        raise DataError(f"a trajectory of {int(lengths.min())} positions is shorter than the "
                        f"smoothing window ({window}); lower smooth_window or give longer "
                        "trajectories")  # fmt: skip
    half = window // 2
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    fit = np.linalg.pinv(np.vander(offsets, degree + 1, increasing=True))  # (degree+1, window)

    def weights(x):  # of the window's samples, for the value at offset x from its centre
        return np.vander([float(x)], degree + 1, increasing=True)[0] @ fit

    out = q.copy()
    for b, size in enumerate(lengths):
        trajectory = q[b, :size]
        windows = np.lib.stride_tricks.sliding_window_view(trajectory, window, axis=0)
        out[b, half:size - half] = windows @ weights(0)  # (size - window + 1, n)
        for x in range(1, half + 1):  # the ends: the first and the last window's polynomial
            out[b, half - x] = weights(-x) @ trajectory[:window]
            out[b, size - 1 - half + x] = weights(x) @ trajectory[size - window:]
        out[b, size:] = out[b, size - 1]  # padding repeats the last valid sample
    return out
