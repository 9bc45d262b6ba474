"""Train-page runs on Ray (LAB_RAY_ADDRESS=local starts a Ray on this machine): the engine hands out a relay
job, the run trains in an actor, and everything the page uses works as for a local run."""

from __future__ import annotations

import time

import pytest
import torch

from labcore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from labcore.engine import Engine
from labcore.i18n import LabError
from labcore.train.job import TrainingJob
from labcore.train.optimizers import optimizer_config

pytestmark = pytest.mark.cluster

CFG = RunConfig(data=DataConfig(name="digits"), model=ModelConfig(name="mlp"), optim=optimizer_config("adam"),
                train=TrainConfig(epochs=3, batch_size=64, num_threads=1))


def test_without_the_setting_nothing_imports_ray(monkeypatch):
    import subprocess
    import sys
    import textwrap

    monkeypatch.delenv("LAB_RAY_ADDRESS", raising=False)
    code = textwrap.dedent("""
        import sys
        from labcore.config import RunConfig, TrainConfig
        from labcore.engine import Engine
        job = Engine(max_running=1).submit(RunConfig(train=TrainConfig(epochs=1)), owner="x")
        job.join(120)
        assert job.status == "finished", job.status
        assert "ray" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_a_missing_ray_or_cluster_is_a_sentence(monkeypatch):
    from labcore import cluster

    monkeypatch.setenv("LAB_RAY_ADDRESS", "ray://nowhere.invalid:10001")
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(LabError) as err:
        cluster.connect()
    assert err.value.key == "cluster.no_ray" and "pip install" in err.value.message()


def test_a_run_on_ray_gives_the_local_runs_numbers_and_model(ray_local):
    from labcore.cluster import RayTrainingJob

    engine = Engine(max_running=2)
    remote = engine.submit(CFG, owner="student")
    assert isinstance(remote, RayTrainingJob)
    local = TrainingJob(CFG, owner=None).start()
    assert remote.join(120) and local.join(120)
    assert remote.status == "finished", remote.error
    steps_r, epochs_r = remote.snapshot()
    steps_l, epochs_l = local.snapshot()
    assert [r["loss"] for r in steps_r] == pytest.approx([r["loss"] for r in steps_l], abs=1e-6)  # same seed
    assert [e["val_acc"] for e in epochs_r] == pytest.approx([e["val_acc"] for e in epochs_l], abs=1e-6)
    assert remote.outcome.test_accuracy == pytest.approx(local.outcome.test_accuracy, abs=1e-6)
    assert remote.outcome.test_accuracy > 0.85
    for a, b in zip(remote.trainer.model.state_dict().values(), local.trainer.model.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)  # the trained weights came back: Explain and Try it use them
    assert remote.progress().fraction == pytest.approx(1.0)


def test_pause_resume_new_rate_and_stop_reach_the_actor(ray_local):
    cfg = CFG.with_(train={"epochs": 50, "step_delay": 0.02})  # slow motion: ~50 steps a second at most
    job = Engine(max_running=2).submit(cfg, owner="student")
    deadline = time.time() + 60
    while len(job.snapshot()[0]) < 5 and time.time() < deadline:
        time.sleep(0.1)
    job.pause()
    time.sleep(1.0)  # the relay has told the actor; its last batch lands
    seen = len(job.snapshot()[0])
    time.sleep(1.0)
    assert len(job.snapshot()[0]) == seen and job.status == "paused"  # paused over there too
    job.resume()
    assert job.set_lr(0.05)
    deadline = time.time() + 30
    while not job.lr_changes and time.time() < deadline:
        time.sleep(0.1)
    assert job.lr_changes and job.lr_changes[0][2] == 0.05
    before = len(job.snapshot()[0])
    time.sleep(0.8)
    assert len(job.snapshot()[0]) > before  # running again
    t0 = time.time()
    job.stop()
    assert job.join(30) and job.status == "stopped" and time.time() - t0 < 10
    assert job.outcome is not None  # a stopped run still has its results (on the weights it had)
