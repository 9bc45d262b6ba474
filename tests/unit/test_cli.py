"""`python -m labcore ...` as a user runs it: a subprocess, JSON on stdout, messages on stderr, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labcore.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def labcore(*args: str, data_dir=None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # No downloads from a test: every proxy points at a closed local port, so a fetch fails at once.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env[var] = "http://127.0.0.1:9"
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    if data_dir is not None:
        env["LABCORE_DATA"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "labcore", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def test_train_json():
    proc = labcore(
        "train",
        "--data",
        "digits",
        "--model",
        "cnn",
        "--optimizer",
        "adam",
        "--lr",
        "1e-3",
        "--batch-size",
        "64",
        "--epochs",
        "5",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # one JSON object, nothing else on stdout
    out = json.loads(lines[0])
    assert out["status"] == "finished"
    assert out["test_accuracy"] > 0.9
    assert out["epochs"] == 5 and out["seconds"] > 0
    assert out["config"]["optim"]["lr"] == 1e-3 and out["config"]["train"]["batch_size"] == 64
    assert out["config"]["data"]["name"] == "digits" and out["config"]["model"]["name"] == "cnn"
    assert "Traceback" not in proc.stderr


def test_huge_learning_rate_reports_diverged_and_exits_1():
    proc = labcore(
        "train",
        "--data",
        "digits",
        "--model",
        "cnn",
        "--optimizer",
        "sgd",
        "--lr",
        "100",
        "--epochs",
        "3",
        "--json",
    )
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "diverged"
    assert "learning rate" in proc.stderr and "Traceback" not in proc.stderr


def test_offline_dataset_exits_2_with_a_friendly_message(tmp_path):
    proc = labcore("train", "--data", "mnist", "--epochs", "1", "--json", data_dir=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "mnist is not in the data folder" in proc.stderr and str(tmp_path) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bench_overhead_json():
    proc = labcore("bench", "overhead", "--json", "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"ratio", "labcore", "bare"} <= set(out)
    assert out["ratio"] > 0 and out["labcore"] > 0 and out["bare"] > 0
    assert out["ratio"] == pytest.approx(out["labcore"] / out["bare"])


def test_list_names_everything(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for word in (
        "datasets:",
        "digits",
        "models:",
        "resnet",
        "optimizers:",
        "lion",
        "schedules:",
        "one_cycle",
    ):
        assert word in text


def test_human_readable_output_and_progress_bar(capsys):
    assert main(["train", "--data", "moons", "--model", "mlp", "--epochs", "2", "--lr", "0.01"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("finished: test accuracy")
    assert "epoch" in captured.err or captured.err == ""  # the bar redraws at most every 0.1 s


def test_model_options_reach_the_config(capsys):
    args = [
        "train",
        "--data",
        "wine",
        "--model",
        "mlp",
        "--depth",
        "1",
        "--width",
        "7",
        "--activation",
        "tanh",
        "--epochs",
        "1",
        "--schedule",
        "cosine",
        "--clip-norm",
        "1",
        "--noise",
        "0.1",
        "--json",
    ]
    assert main(args) == 0
    cfg = json.loads(capsys.readouterr().out)["config"]
    assert cfg["model"] == {**cfg["model"], "depth": 1, "width": 7, "activation": "tanh"}
    assert cfg["optim"]["schedule"] == "cosine" and cfg["optim"]["clip_norm"] == 1
    assert cfg["augment"]["noise_std"] == 0.1


def test_unknown_choices_are_refused():
    with pytest.raises(SystemExit) as err:
        main(["train", "--data", "imagenet"])
    assert err.value.code == 2


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion"])
def test_command_line_and_api_start_from_the_optimizers_own_defaults(name):
    """One source of truth: `--optimizer adamw` decays its weights, Lion keeps beta2 = 0.99, and
    `RunConfig().with_(optim={"name": ...})` gives the same as the command line and the page."""
    from labcore.__main__ import _config, build_parser
    from labcore.config import RunConfig
    from labcore.train.optimizers import optimizer_config

    want = optimizer_config(name)
    cli = _config(build_parser().parse_args(["train", "--optimizer", name])).optim
    api = RunConfig().with_(optim={"name": name}).optim
    assert cli == want and api == want
    if name == "adamw":
        assert want.weight_decay == 0.01
    if name == "lion":
        assert want.beta2 == 0.99
    # every option has its flag, and a flag beats the default
    flags = _config(build_parser().parse_args(["train", "--optimizer", name, "--beta2", "0.95", "--eps", "1e-6",
                                               "--momentum", "0.5", "--alpha", "0.9", "--lr", "0.3",
                                               "--weight-decay", "0.001"])).optim
    assert (flags.beta2, flags.eps, flags.momentum, flags.alpha, flags.lr, flags.weight_decay) == \
        (0.95, 1e-6, 0.5, 0.9, 0.3, 0.001)
    assert RunConfig().with_(optim={"name": name, "lr": 0.3}).optim == optimizer_config(name, lr=0.3)


def test_bench_load_serves_every_session_through_the_queue():
    """A small class (5 sessions, 2 slots on this machine): every press is served, none refused (before the
    queue, three of the five got "already training 2 models")."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "labcore", "bench", "load", "--sessions", "5", "--json"],
                         capture_output=True, text=True, timeout=300, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["finished"] == 5 and r["errors"] == [], r
    assert r["total_s"] > 0 and r["ratio"] > 0 and r["peak_memory_mb"] > 0
