"""History matching: waves of designs, emulators and implausibility that cut the parameter space to a region.

A history matching varies the free parameters (``search.FREE_PARAMETERS``, or any of ``search.SEARCHABLE``, in their
search ranges or others inside the declared ones) against every check of the chosen targets
(default: every target of ``targets.TARGETS``, held-out ones included). ``run_wave`` runs or
resumes one wave:

1. a space-filling design: wave 1 a Latin hypercube over the whole range (``FIRST_WAVE_FACTOR``
   times the points of a later wave); later waves a maximin subset of a uniform sample of the
   current non-implausible region (rejection sampling from all earlier waves' emulators);
2. every design point runs every virtual study with the same replication seeds (common random
   numbers), and its statistics are stored as it finishes;
3. an emulator per check (``emulator.Emulator``) on the points of this and earlier waves that lie
   in the current region, with leave-one-out diagnostics;
4. a uniform sample of the new region (candidates in the padded bounding box of the last one, kept
   where every wave's second-largest implausibility is at most 3); its share of the prior space
   estimates the region's volume.

Waves stop at ``waves``, when the region is empty, or when it stops shrinking: its volume is more
than ``STOP_SHARE`` of the previous wave's. Then ``ensemble_check`` draws members from the final
region and checks each by simulation, and ``history_report`` writes the report and the figures
(``matching.history_match`` runs it all).

Every random choice is seeded from the root seed and the wave; each wave's files are written
atomically and its ``summary.json`` last, each design point's result as it completes; a rerun after
an interruption (even kill -9) skips what is stored and gives byte-identical files. Seconds are kept
apart in ``timings.json``.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.model.parameters import SPECS
from simulation.model.version import model_fingerprint
from simulation.outputs import MARKER, write_marker
from simulation.sweep.store import write_bytes_atomic, write_json_atomic
from simulation.validation import targets as targets_module
from simulation.validation.calibrate.emulator import (
    CUTOFF,
    MD_FRACTION,
    Emulator,
    diagnostics_row,
    fit_emulator,
    implausibility_matrix,
    observation,
    second_largest,
)
from simulation.validation.calibrate.search import FREE_PARAMETERS, SEARCHABLE, CalibrationError, not_searchable
from simulation.validation.checks import evaluate
from simulation.validation.runner import DEFAULT_SEED, QUICK_REPLICATIONS, _run_chunk, replication_seed, studies_for
from simulation.workers import pool_options, shut_down

#: Version of the method (part of a folder's settings: a run of another version is not resumed).
METHOD_VERSION = 2
#: Defaults of the real run (docs/calibration/history-matching.md).
POINTS, WAVES, REPLICATIONS = 80, 5, 20
#: Wave 1 has this many times the points of the later waves: the whole prior space is the emptiest to cover.
FIRST_WAVE_FACTOR = 2
#: Stop when a wave leaves more than this share of the previous region's volume: "stopped shrinking".
STOP_SHARE = 0.9
#: Candidates per batch of the rejection sampling, and most batches per wave.
CANDIDATES, MAX_BATCHES = 20_000, 5
#: Region sample kept per wave (uniform in the region; the next design and the figures draw on it).
REGION_SAMPLE = 4_000
#: The bounding box of a region sample is padded by this share of its width on each side.
PAD = 0.1
#: Ensemble defaults: members wanted, and most draws from the region simulated per member wanted.
ENSEMBLE_SIZE, ENSEMBLE_TRIES = 100, 3
#: Most candidates simulated per member wanted, the walk's included. An assumption: room for a walk accepting one step
#: in five (the pilot at the defaults accepted two in five; run 2's walk one in nine, docs/calibration).
WALK_TRIES = 6
#: The ensemble's walk: SD of a proposal's step on each axis of the unit cube. An assumption, from a pilot at the
#: defaults of the 11-parameter run (docs/calibration/history-matching.md): 2 of 5 steps of 0.03 passed every check,
#: 0 of 1 of 0.06 (the defaults sit near the edges of T10 and T15b).
WALK_STEP = 0.03
SETTINGS, TIMINGS = "settings.json", "timings.json"
#: The folder's kind in its marker (``outputs.MARKER``: what ``rupture-sim verify`` reads).
FOLDER_KIND = "history-matching"


@dataclass(frozen=True)
class Axis:
    """One varied parameter: its name and range (log scale if searched on one)."""

    name: str
    low: float
    high: float
    log: bool = False

    def value(self, u: np.ndarray) -> np.ndarray:
        """Values for unit-cube coordinates ``u``."""
        u = np.asarray(u, dtype=float)
        if self.log:
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def unit(self, value: float) -> float:
        """The unit-cube coordinate of a value."""
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Settings:
    """What a history matching is: the space, the checks, seeds and sizes (its folder's signature).

    Attributes:
        axes: The varied parameters and ranges.
        targets: Target ids matched.
        checks: Check ids matched (every check of ``targets``).
        seed: Root seed of replications and of every random choice.
        replications: Replications per design point.
        points: Design points per wave.
        waves: Most waves.
        size_factor: Scales every study's sample size (tests).
        check_replications: Replications of the pass rules read at the median (range, direction checks),
            and of the ensemble's check by simulation.
        check_seed: Root seed of the ensemble's check (the validation's: out of sample).
        candidates: Candidates per rejection-sampling batch.
        ensemble_size: Members wanted.
        left_out: Checks emulated and reported but not matched: the region and the ensemble's members ignore
            them (a check no parameter set reaches, named with the reason in the report), and the report
            predicts them from the region of the others.
        walk_step: SD of a step of the ensemble's walk on each unit-cube axis (``ensemble_check``).
    """

    axes: tuple[Axis, ...]
    targets: tuple[str, ...]
    checks: tuple[str, ...]
    seed: int = 1
    replications: int = REPLICATIONS
    points: int = POINTS
    waves: int = WAVES
    size_factor: float = 1.0
    check_replications: int = QUICK_REPLICATIONS
    check_seed: int = DEFAULT_SEED
    candidates: int = CANDIDATES
    ensemble_size: int = ENSEMBLE_SIZE
    left_out: tuple[str, ...] = ()
    walk_step: float = WALK_STEP
    method_version: int = field(default=METHOD_VERSION)

    @property
    def matched(self) -> tuple[str, ...]:
        """The checks the region and the ensemble must meet: every check but the left-out ones."""
        return tuple(c for c in self.checks if c not in self.left_out)

    def passes(self, record: dict[str, Any]) -> bool:
        """Whether a simulated point (``point_record``) passed every matched check."""
        return all(record["checks"][c]["passed"] for c in self.matched)

    @property
    def names(self) -> list[str]:
        """Names of the varied parameters."""
        return [a.name for a in self.axes]

    def params(self, u: np.ndarray) -> dict[str, float]:
        """Parameter overrides for one unit-cube point (whole numbers rounded)."""
        out = {}
        for axis, x in zip(self.axes, u, strict=True):
            value = float(axis.value(x))
            out[axis.name] = float(round(value)) if SPECS[axis.name].integer else value
        return out

    def signature(self) -> dict[str, Any]:
        """JSON-able settings plus the model's fingerprint and each check's rule."""
        data = asdict(self)
        data["axes"] = [asdict(a) for a in self.axes]
        data["rules"] = {
            c: [k.study, k.statistic, k.rule, k.published, list(k.interval or ()), k.sign]
            for c, k in ((c, targets_module.CHECKS[c]) for c in self.checks)
        }
        data["model"] = model_fingerprint()
        return data


def make_settings(
    params: Iterable[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    targets: Iterable[str] | str | None = None,
    left_out: Iterable[str] = (),
    **sizes: Any,
) -> Settings:
    """Checked settings of a history matching; raises ``CalibrationError`` (one sentence) for a bad spec.

    Args:
        params: Parameters to vary, free or held (``search.SEARCHABLE``; default: every free parameter); the
            others keep their defaults.
        ranges: Narrower or wider ranges by name, inside each parameter's declared range.
        targets: Target ids (default: every target, held-out ones included).
        left_out: Checks of those targets run, emulated and reported but not matched (``--leave-out``).
        **sizes: Other ``Settings`` fields (seed, replications, points, waves, ...).
    """
    names = list(FREE_PARAMETERS) if params is None else [str(p).strip() for p in params if str(p).strip()]
    if not names:
        raise CalibrationError(f"--params is empty; name at least one of {', '.join(FREE_PARAMETERS)}.")
    problem = not_searchable("--params", names)
    if problem:
        raise CalibrationError(problem)
    ranges = dict(ranges or {})
    outside = [n for n in ranges if n not in names]
    if outside:
        raise CalibrationError(
            f"--range: {', '.join(outside)} is not among the varied parameters ({', '.join(names)})."
        )
    axes = []
    for name in dict.fromkeys(names):
        free, spec = SEARCHABLE[name], SPECS[name]
        low, high = ranges.get(name, (free.low, free.high))
        if not (math.isfinite(low) and math.isfinite(high) and spec.low <= low < high <= spec.high):
            raise CalibrationError(
                f"--range {name}={low:g}:{high:g} must satisfy {spec.low:g} <= low < high <= {spec.high:g} "
                "(its declared range)."
            )
        if free.log and low <= 0:
            raise CalibrationError(f"--range {name}: a parameter searched on a log scale needs low > 0 (got {low:g}).")
        axes.append(Axis(name, float(low), float(high), free.log))
    try:
        chosen = (
            tuple(t.id for t in targets_module.TARGETS) if targets is None else targets_module.select_targets(targets)
        )
    except targets_module.TargetError as err:
        raise CalibrationError(f"--targets: {str(err)[0].lower()}{str(err)[1:]}") from None
    checks = tuple(c.id for t in targets_module.TARGETS if t.id in chosen for c in t.checks)
    left = tuple(dict.fromkeys(str(c).strip() for c in left_out if str(c).strip()))
    unknown = [c for c in left if c not in checks]
    if unknown:
        raise CalibrationError(
            f"--leave-out: {', '.join(unknown)} is not a check of the matched targets; allowed: {', '.join(checks)}."
        )
    if len(left) == len(checks):
        raise CalibrationError("--leave-out leaves no check to match; leave out fewer checks.")
    return Settings(tuple(axes), chosen, checks, left_out=left, **sizes)


# --- the folder -------------------------------------------------------------------------------------------------


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n").encode()


def _clean(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def open_run(folder: Path, settings: Settings) -> None:
    """Create the run folder or check that it holds this history matching.

    Raises:
        CalibrationError: If it holds another run (other settings, model or method) or other files.
    """
    path = folder / SETTINGS
    wanted = json.loads(_json(settings.signature()))  # as stored: tuples read back as lists
    if path.exists():
        found = json.loads(path.read_text())
        if found != wanted:
            diff = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            raise CalibrationError(
                f"{folder} holds a history matching with other {', '.join(diff)}; rerun with its settings or choose "
                "another --out."
            )
    elif folder.exists() and any(not p.name.startswith(".") for p in folder.iterdir()):
        raise CalibrationError(f"{folder} exists and is not a history-matching folder; choose another --out.")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, _json(wanted))
    if not (folder / MARKER).exists():
        write_marker(folder, FOLDER_KIND)


def wave_dir(folder: Path, wave: int) -> Path:
    """The folder of one wave."""
    return folder / f"wave-{wave:02d}"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as the run's files hold it (every float exact)."""
    return frame.to_csv(index=False, float_format="%.17g").encode()


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    write_bytes_atomic(path, csv_bytes(frame))


class Timings:
    """Seconds per design point and per step, kept apart from the results (they differ between runs)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / TIMINGS
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {"points": {}}

    def point(self, key: str, seconds: float) -> None:
        """Record one point's seconds (rewritten atomically)."""
        self.data["points"][key] = round(seconds, 3)
        write_json_atomic(self.path, self.data)

    def per_point(self) -> float | None:
        """Mean seconds per design point so far."""
        values = list(self.data["points"].values())
        return sum(values) / len(values) if values else None


# --- running design points ----------------------------------------------------------------------------------------


def point_record(settings: Settings, frames: Mapping[str, pd.DataFrame], params: dict[str, float]) -> dict[str, Any]:
    """What a design point's run says about each check: replication mean and variance, median, interval, pass."""
    out: dict[str, Any] = {"params": params, "checks": {}}
    for cid in settings.checks:
        check = targets_module.CHECKS[cid]
        values = frames[check.study][check.statistic].to_numpy(dtype=float)
        valid = values[np.isfinite(values)]
        verdict = evaluate(check, values)
        out["checks"][cid] = {
            "mean": _clean(np.mean(valid)) if len(valid) else None,
            "var": _clean(np.var(valid, ddof=1)) if len(valid) > 1 else None,
            "n_valid": len(valid),
            "median": _clean(verdict.median),
            "q05": _clean(verdict.q05),
            "q95": _clean(verdict.q95),
            "passed": verdict.passed,
        }
    return out


def run_points(
    settings: Settings,
    points: list[tuple[str, dict[str, float]]],
    seed: int,
    replications: int,
    workers: int,
    done: Callable[[str, dict[str, Any], float], None],
) -> None:
    """Run design points (key, parameters) on common random numbers; call ``done`` as each completes, in order.

    One pool serves every point (its workers start once); a point's studies and replication blocks are its tasks.
    """
    names = studies_for(settings.targets)
    seeds = {name: [replication_seed(seed, name, r) for r in range(replications)] for name in names}
    chunk = max(1, math.ceil(replications / max(1, 2 * workers)))
    blocks = [(name, seeds[name][i : i + chunk]) for name in names for i in range(0, replications, chunk)]
    size = settings.size_factor

    def collect(results: list[tuple[str, list[dict[str, float]]]]) -> dict[str, pd.DataFrame]:
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for name, block in results:
            rows[name].extend(block)
        return {name: pd.DataFrame(rows[name]) for name in names}

    if workers <= 1:
        for key, params in points:
            start = time.perf_counter()
            frames = collect([_run_chunk(name, block, size, params) for name, block in blocks])
            done(key, point_record(settings, frames, params), time.perf_counter() - start)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), **pool_options())
    finished = False
    try:
        futures: list[list[Future]] = [
            [pool.submit(_run_chunk, name, block, size, params) for name, block in blocks] for _, params in points
        ]
        start = time.perf_counter()
        for (key, params), point_futures in zip(points, futures, strict=True):
            frames = collect([f.result() for f in point_futures])
            now = time.perf_counter()
            done(key, point_record(settings, frames, params), now - start)
            start = now
        finished = True
    finally:
        shut_down(pool, finished)


# --- designs and the region ------------------------------------------------------------------------------------


def _rng(settings: Settings, *parts: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([settings.seed, 7919, *parts]))


def latin_hypercube(settings: Settings, n: int, low: np.ndarray, high: np.ndarray, *parts: int) -> np.ndarray:
    """``n`` points of a seeded, optimised Latin hypercube in the box [low, high] of the unit cube."""
    from scipy.stats import qmc  # here, not at the top: scipy.stats takes a second to import, the help needs none

    d = len(settings.axes)
    sampler = qmc.LatinHypercube(d, seed=_rng(settings, *parts))
    return low + sampler.random(n) * (high - low)


def maximin_subset(sample: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` points of ``sample`` chosen greedily to spread out (each the farthest from those chosen)."""
    if len(sample) <= n:
        return np.arange(len(sample))
    chosen = [int(rng.integers(len(sample)))]
    distance = np.sum((sample - sample[chosen[0]]) ** 2, axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.sum((sample - sample[nxt]) ** 2, axis=1))
    return np.array(chosen)


def non_implausible(
    settings: Settings, waves: list[dict[str, Emulator]], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each point is non-implausible under every wave's emulators, and its largest second-largest I.

    Only the matched checks count (``Settings.matched``).
    """
    observations = {c: observation(targets_module.CHECKS[c]) for c in settings.matched}
    worst = np.zeros(len(x))
    alive = np.arange(len(x))
    for emulators in waves:  # a later wave's emulators only see what the earlier ones left (as in the waves)
        values = implausibility_matrix(emulators, observations, x[alive], settings.check_replications, settings.matched)
        worst[alive] = np.maximum(worst[alive], second_largest(values))
        alive = alive[worst[alive] <= CUTOFF]
    return worst <= CUTOFF, worst


def sample_region(
    settings: Settings, waves: list[dict[str, Emulator]], low: np.ndarray, high: np.ndarray, wave: int
) -> tuple[np.ndarray, float, int]:
    """A uniform sample of the region left by ``waves`` inside the box [low, high], and its volume share.

    Returns:
        The kept points (at most ``REGION_SAMPLE``), the estimated share of the prior space (box volume x
        acceptance), and the candidates evaluated.
    """
    kept, tried = [], 0
    for batch in range(MAX_BATCHES):
        candidates = latin_hypercube(settings, settings.candidates, low, high, wave, 1, batch)
        ok, _ = non_implausible(settings, waves, candidates)
        kept.append(candidates[ok])
        tried += len(candidates)
        if sum(len(k) for k in kept) >= REGION_SAMPLE:
            break
    sample = np.concatenate(kept) if kept else np.empty((0, len(settings.axes)))
    volume = float(np.prod(high - low)) * len(sample) / tried
    return sample[:REGION_SAMPLE], volume, tried


def padded_box(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of a sample, padded by ``PAD`` of its width on each side, inside the unit cube."""
    low, high = sample.min(axis=0), sample.max(axis=0)
    width = np.maximum(high - low, 1e-6)
    return np.clip(low - PAD * width, 0, 1), np.clip(high + PAD * width, 0, 1)


def write_region(settings: Settings, where: Path, sample: np.ndarray) -> None:
    """Store a region sample: unit-cube coordinates (exact) and parameter values."""
    frame = pd.DataFrame({f"u_{n}": sample[:, i] for i, n in enumerate(settings.names)})
    for i, n in enumerate(settings.names):
        frame[n] = settings.axes[i].value(sample[:, i])
    write_bytes_atomic(where / "region.csv", frame.to_csv(index=False, float_format="%.17g").encode())


def read_region(settings: Settings, where: Path) -> np.ndarray:
    """A stored region sample (unit cube)."""
    frame = pd.read_csv(where / "region.csv")
    return frame[[f"u_{n}" for n in settings.names]].to_numpy(dtype=float).reshape(-1, len(settings.axes))


# --- emulators from stored points -------------------------------------------------------------------------------


def read_points(settings: Settings, folder: Path, wave: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The design (unit cube) of a wave and the stored records of its points (``None`` where not run yet)."""
    where = wave_dir(folder, wave)
    design = pd.read_csv(where / "design.csv")
    x = design[[f"u_{n}" for n in settings.names]].to_numpy(dtype=float)
    records = []
    for i in range(len(design)):
        path = where / "points" / f"{i:04d}.json"
        records.append(json.loads(path.read_text()) if path.exists() else None)
    return x, records


def fit_wave(settings: Settings, x: np.ndarray, records: list[dict[str, Any]], wave: int) -> dict[str, Emulator]:
    """An emulator per check from design points (inputs ``x``, records in the same order)."""
    emulators = {}
    for j, cid in enumerate(settings.checks):
        stats = [r["checks"][cid] for r in records]
        mean = np.array([np.nan if s["mean"] is None else s["mean"] for s in stats])
        var = np.array([np.nan if s["var"] is None else s["var"] for s in stats])
        n_valid = np.array([s["n_valid"] for s in stats], dtype=float)
        undefined = 2 * n_valid <= settings.replications
        mean[undefined] = np.nan
        emulator = fit_emulator(cid, x, mean, var, n_valid, settings.seed * 1000 + wave * 100 + j)
        if emulator is not None:
            emulators[cid] = emulator
    return emulators


def training_set(
    settings: Settings, folder: Path, wave: int, earlier: list[dict[str, Emulator]]
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Points of this and earlier waves that lie in the region left by the earlier waves (all of wave 1's)."""
    xs, records = [], []
    for w in range(1, wave + 1):
        x, recs = read_points(settings, folder, w)
        if w < wave and earlier:
            ok, _ = non_implausible(settings, earlier, x)
            x, recs = x[ok], [r for r, keep in zip(recs, ok, strict=True) if keep]
        xs.append(x)
        records += recs
    return np.concatenate(xs), records


# --- the waves ------------------------------------------------------------------------------------------------


def _estimate(settings: Settings, timings: Timings, wave: int) -> str:
    """Time left at most, from the seconds per point so far: the remaining waves' points and the ensemble's."""
    per = timings.per_point()
    if per is None:
        return "time left: measured after the first point"
    left = (settings.waves - wave + 1 + (FIRST_WAVE_FACTOR - 1) * (wave == 1)) * settings.points * per
    left += WALK_TRIES * settings.ensemble_size * per * settings.check_replications / settings.replications
    return f"at most about {left / 60:.0f} min left ({per:.1f} s per point)"


def run_wave(
    settings: Settings,
    folder: Path,
    wave: int,
    earlier: list[dict[str, Emulator]],
    region: np.ndarray,
    workers: int,
    timings: Timings,
    say: Callable[[str], None],
    figure: Callable[..., None] | None = None,
) -> tuple[dict[str, Any], dict[str, Emulator], np.ndarray]:
    """One wave (resumed where stored): design, runs, emulators, diagnostics, the new region, its summary.

    ``figure`` draws the wave's figure (``history_report.wave_figure``) before the summary marks it complete.
    """
    where = wave_dir(folder, wave)
    (where / "points").mkdir(parents=True, exist_ok=True)
    design_path = where / "design.csv"
    d = len(settings.axes)
    if not design_path.exists():
        if wave == 1:
            u = latin_hypercube(settings, FIRST_WAVE_FACTOR * settings.points, np.zeros(d), np.ones(d), wave, 0)
        else:
            u = region[maximin_subset(region, settings.points, _rng(settings, wave, 2))]
        values = np.array([[settings.params(p)[n] for n in settings.names] for p in u]) if len(u) else u
        frame = pd.DataFrame({**{f"u_{n}": u[:, i] for i, n in enumerate(settings.names)}})
        for i, n in enumerate(settings.names):
            frame[n] = values[:, i]
        _write_csv(design_path, frame)
    x, records = read_points(settings, folder, wave)
    todo = [(f"{i:04d}", settings.params(x[i])) for i, r in enumerate(records) if r is None]
    if todo:
        say(f"wave {wave}: {len(todo)} of {len(x)} design points to run; {_estimate(settings, timings, wave)}")
        count = [len(x) - len(todo)]

        def done(key: str, record: dict[str, Any], seconds: float) -> None:
            write_bytes_atomic(where / "points" / f"{key}.json", _json(record))
            timings.point(f"{wave}/{key}", seconds)
            count[0] += 1
            passed = sum(c["passed"] for c in record["checks"].values())
            say(
                f"wave {wave} point {count[0]}/{len(x)}: {passed}/{len(record['checks'])} checks pass, "
                f"{seconds:.1f} s; "
                f"{_estimate(settings, timings, wave)}"
            )

        run_points(settings, todo, settings.seed, settings.replications, workers, done)
        x, records = read_points(settings, folder, wave)
    summary_path = where / "summary.json"
    x_train, train = training_set(settings, folder, wave, earlier)
    emulators = fit_wave(settings, x_train, train, wave)
    if summary_path.exists():
        return json.loads(summary_path.read_text()), emulators, read_region(settings, where)
    diagnostics = pd.DataFrame([diagnostics_row(e) for e in emulators.values()])
    _write_csv(where / "diagnostics.csv", diagnostics)
    low, high = (np.zeros(d), np.ones(d)) if wave == 1 else padded_box(region)
    sample, volume, tried = sample_region(settings, [*earlier, emulators], low, high, wave)
    write_region(settings, where, sample)
    sample = read_region(settings, where)  # as stored: a resumed run continues from the same numbers
    previous = json.loads((wave_dir(folder, wave - 1) / "summary.json").read_text())["volume"] if wave > 1 else 1.0
    stop = ""
    if len(sample) == 0:
        stop = "the region is empty: no parameter set is non-implausible for all the targets (see the conflicts)"
    elif wave > 1 and volume > STOP_SHARE * previous:
        stop = f"the region stopped shrinking ({volume:.3g} after {previous:.3g}, more than {STOP_SHARE:.0%} left)"
    elif wave == settings.waves:
        stop = f"the wave limit ({settings.waves})"
    summary = {
        "wave": wave,
        "design_points": len(x),
        "training_points": len(x_train),
        "passed_all": int(sum(settings.passes(r) for r in records)),
        "emulated": len(emulators),
        "not_emulated": [c for c in settings.checks if c not in emulators],
        "candidates": tried,
        "region_points": len(sample),
        "volume": volume,
        "shrink": volume / previous if previous > 0 else 0.0,
        "box": {"low": [float(v) for v in low], "high": [float(v) for v in high]},
        "coverage_2sd": _clean(diagnostics["coverage_2sd"].mean()) if len(diagnostics) else None,
        "stop": stop,
        "cutoff": CUTOFF,
        "md_fraction": MD_FRACTION,
    }
    if figure is not None:
        figure(settings, where, wave, x, records, emulators, diagnostics, [*earlier, emulators])
    write_bytes_atomic(summary_path, _json(summary))
    return summary, emulators, sample
