"""Hyperparameter sweeps (issue 14): a search space (grid or seeded random), synchronous successive halving,
the sweep as an engine job (local threads, or Ray Tune with ASHA when LAB_RAY_ADDRESS is set)."""

from labcore.sweep.halving import budget, keep_count, plan, promote, rungs
from labcore.sweep.job import TRIAL_STATES, SweepJob, TrialRow
from labcore.sweep.space import BACKENDS, ETAS, METHODS, PARALLEL, SweepConfig, Trial, ray_ready, run_config, size, trials

__all__ = ["BACKENDS", "ETAS", "METHODS", "PARALLEL", "TRIAL_STATES", "SweepConfig", "SweepJob", "Trial", "TrialRow",
           "budget", "keep_count", "plan", "promote", "ray_ready", "rungs", "run_config", "size", "trials"]
