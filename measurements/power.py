"""Power from phasors, as the design defines it, on whole numpy columns.

Per phase and sample: S = V·I·e^{j(θv−θi)}, P = Re S, Q = Im S, |S| = V·I.
Positive Q means the current lags the voltage (inductive load); negative Q
means it leads. Over a window: the means of per-sample P, Q and |S|, the
mean magnitudes and the circular mean of each angle. Totals add the phases
and PF = P / S, never the mean of three cosines.
"""

import numpy as np

PHASES = ("a", "b", "c")
MAGNITUDES = tuple(f"{kind}_{phase}_mag" for kind in "vi" for phase in PHASES)
ANGLES = tuple(f"{kind}_{phase}_ang" for kind in "vi" for phase in PHASES)
# The schema's fixed field list, in the order the stores keep them.
FIELDS = tuple(
    f"{kind}_{phase}_{part}"
    for kind in "vi"
    for phase in PHASES
    for part in ("mag", "ang")
)
OPTIONAL_FIELDS = ("freq", "rocof")

# Per-window columns every store's aggregate read returns: means of these.
WINDOW_MEANS = (
    MAGNITUDES
    + tuple(f"{q}_{phase}" for phase in PHASES for q in ("p", "q", "s"))
    + tuple(f"{angle}_{part}" for angle in ANGLES for part in ("sin", "cos"))
)


def wrap_degrees(angle):
    """Wrap angles in degrees into (-180, 180]."""
    wrapped = np.remainder(np.asarray(angle, dtype=np.float64) + 180.0, 360.0) - 180.0
    return np.where(wrapped == -180.0, 180.0, wrapped)


def phase_power(v_mag, v_ang, i_mag, i_ang):
    """Per-sample (P, Q, |S|) of one phase; angles in degrees, any range."""
    phi = np.radians(np.asarray(v_ang, dtype=np.float64) - i_ang)
    apparent = np.asarray(v_mag, dtype=np.float64) * i_mag
    return apparent * np.cos(phi), apparent * np.sin(phi), apparent


def sample_terms(columns):
    """The per-sample terms whose window means make a window aggregate.

    `columns` maps every name in FIELDS to a float array; the result maps
    every name in WINDOW_MEANS to an array of the same length. The sine and
    cosine of each angle serve both the circular means and, through
    cos(θv−θi) = cosθv·cosθi + sinθv·sinθi, the power, so each angle's
    trigonometry is computed once.
    """
    terms = {name: columns[name] for name in MAGNITUDES}
    for angle in ANGLES:
        radians = np.multiply(columns[angle], np.pi / 180.0)
        terms[f"{angle}_sin"] = np.sin(radians)
        terms[f"{angle}_cos"] = np.cos(radians)
    for phase in PHASES:
        v_sin, v_cos = terms[f"v_{phase}_ang_sin"], terms[f"v_{phase}_ang_cos"]
        i_sin, i_cos = terms[f"i_{phase}_ang_sin"], terms[f"i_{phase}_ang_cos"]
        apparent = columns[f"v_{phase}_mag"] * columns[f"i_{phase}_mag"]
        terms[f"p_{phase}"] = apparent * (v_cos * i_cos + v_sin * i_sin)
        terms[f"q_{phase}"] = apparent * (v_sin * i_cos - v_cos * i_sin)
        terms[f"s_{phase}"] = apparent
    return terms


def circular_mean_degrees(mean_sin, mean_cos):
    """Circular mean from mean sine and cosine, wrapped to (-180, 180]."""
    return wrap_degrees(np.degrees(np.arctan2(mean_sin, mean_cos)))


def ratio(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def window_figures(means):
    """Per-window dashboard figures from window means.

    `means` maps every name in WINDOW_MEANS to an array (one value per
    window). Returns per phase X: V_X, I_X, P_X, Q_X, S_X, PF_X, the six
    circular-mean angles, and totals P, Q, S, PF.
    """
    figures = {}
    for phase in PHASES:
        upper = phase.upper()
        p, q, s = means[f"p_{phase}"], means[f"q_{phase}"], means[f"s_{phase}"]
        figures[f"V_{upper}"] = means[f"v_{phase}_mag"]
        figures[f"I_{upper}"] = means[f"i_{phase}_mag"]
        figures[f"P_{upper}"] = p
        figures[f"Q_{upper}"] = q
        figures[f"S_{upper}"] = s
        figures[f"PF_{upper}"] = ratio(p, s)
    for angle in ANGLES:
        figures[angle] = circular_mean_degrees(
            means[f"{angle}_sin"], means[f"{angle}_cos"]
        )
    figures["P"] = sum(means[f"p_{phase}"] for phase in PHASES)
    figures["Q"] = sum(means[f"q_{phase}"] for phase in PHASES)
    figures["S"] = sum(means[f"s_{phase}"] for phase in PHASES)
    figures["PF"] = ratio(figures["P"], figures["S"])
    return figures


class WindowAccumulator:
    """Sums per-sample terms into epoch-aligned windows, batch by batch.

    Windows are `[k·w, (k+1)·w)` clipped to the query range and labelled with
    their end, as InfluxDB's aggregateWindow labels them. Feeding samples in
    batches keeps memory bounded by the number of windows, not of samples.
    """

    def __init__(self, *, start_ns, stop_ns, window_ns):
        self.start_ns, self.stop_ns, self.window_ns = start_ns, stop_ns, window_ns
        self.first_index = start_ns // window_ns
        self.size = (stop_ns - 1) // window_ns - self.first_index + 1
        self.count = np.zeros(self.size, dtype=np.int64)
        self.sums = {name: np.zeros(self.size) for name in WINDOW_MEANS}

    def add(self, times, columns):
        """Add a batch of samples; their times must be ascending."""
        if len(times) == 0:
            return
        index = np.asarray(times, dtype=np.int64) // self.window_ns - self.first_index
        # Ascending times make each window a contiguous run, so one reduceat
        # per term sums every window at once (several times faster than
        # bincount with weights).
        starts = np.flatnonzero(np.diff(index, prepend=-1))
        windows = index[starts]
        self.count[windows] += np.diff(starts, append=len(index))
        for name, values in sample_terms(columns).items():
            self.sums[name][windows] += np.add.reduceat(values, starts)

    def result(self):
        """(window end times, sample counts, means) for windows with data."""
        filled = np.nonzero(self.count)[0]
        counts = self.count[filled]
        ends = (filled + self.first_index + 1) * self.window_ns
        ends = np.minimum(ends, self.stop_ns)
        means = {name: sums[filled] / counts for name, sums in self.sums.items()}
        return ends.astype(np.int64), counts, means
