"""`python -m labcore bench load --sessions 30`: a class pressing Train at once.

Each session is a real Streamlit session driven by Streamlit's own test client (AppTest): it opens the Train
page on its default run, presses Train, and its job goes through the same `start_job` -> engine queue as a
browser's. Printed as JSON: how many finished, errors, the median and 95th-percentile wait between the press
and the job's start, the total time, the process's peak memory, and the ratio of the total time to what a
perfect queue would take (sessions x one solo run / capacity; goal <= 1.3).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app" / "main.py")


def _open_train_page(query: dict[str, str]):
    """One session with the Train page open (with `query` in its link), ready to press Train."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page("views/train.py").run()
    if at.exception:
        raise RuntimeError(str(at.exception[0].message))
    return at


def _press_train(at):
    """Press Train; the session's job and the time of the press."""
    from app.state import registry

    pressed = time.perf_counter()
    at.button(key="btn_train").click().run()
    if at.exception:
        raise RuntimeError(str(at.exception[0].message))
    if "job_id" not in at.session_state:
        raise RuntimeError(at.session_state["train_error"] if "train_error" in at.session_state else "no job")
    return registry().get(at.session_state["job_id"]), pressed


def _one_owner_per_test_client() -> None:
    """AppTest gives every test client the same session id, so the engine would see one student pressing
    Train thirty times (and stop them at two waiting runs); in a browser each tab has its own. Give each
    client its own id, kept in its session state."""
    import uuid

    import streamlit as st

    import app.state

    app.state._session_id = lambda: st.session_state.setdefault("_bench_session", uuid.uuid4().hex)


def run(sessions: int = 30, query: dict[str, str] | None = None, timeout_s: float = 1800.0) -> dict:
    import streamlit as st

    from app.state import registry

    _one_owner_per_test_client()
    query = query or {}
    st.cache_resource.clear()
    # The baseline: one session alone on the same server, from the press to the end of its run.
    job, pressed = _press_train(_open_train_page(query))
    job.join(timeout_s)
    solo_s = job._ended - pressed
    capacity = registry().max_running

    results: list[dict] = []
    lock = threading.Lock()
    # Every student has the page open first; then they all press Train, one right after the other (each
    # press is a full run of the page script; AppTest runs one script at a time in a process).
    pages = [_open_train_page(query) for _ in range(sessions)]
    start = time.perf_counter()

    def session(job, pressed) -> None:  # waits for one student's run
        ok = job.join(timeout_s) and job.status == "finished"
        with lock:
            results.append({"ok": ok, "error": None if ok else f"status {job.status}: {job.error}",
                            "wait_s": (job._started - pressed) if job._started else None, "end": job._ended})

    threads = []
    for at in pages:
        job_and_press = _safe_press(at, results, lock)
        if job_and_press is not None:
            threads.append(threading.Thread(target=session, args=job_and_press))
            threads[-1].start()
    pressed_s = time.perf_counter() - start
    for t in threads:
        t.join()
    total_s = max((r["end"] for r in results if r.get("end")), default=time.perf_counter()) - start
    waits = sorted(r["wait_s"] for r in results if r.get("wait_s") is not None)
    ideal_s = sessions * solo_s / capacity
    return {
        "benchmark": "load", "sessions": sessions, "capacity": capacity, "cpus": os.cpu_count(),
        "finished": sum(r["ok"] for r in results), "errors": sorted({r["error"] for r in results if r["error"]}),
        "solo_run_s": round(solo_s, 2), "presses_took_s": round(pressed_s, 1), "total_s": round(total_s, 1),
        "median_wait_s": round(statistics.median(waits), 1) if waits else None,
        "p95_wait_s": round(waits[min(len(waits) - 1, int(0.95 * len(waits)))], 1) if waits else None,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "ratio": round(total_s / ideal_s, 3), "goal": "ratio <= 1.3",
    }


def _safe_press(at, results: list[dict], lock: threading.Lock):
    try:
        return _press_train(at)
    except Exception as e:  # a session that could not even press Train
        with lock:
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.load")
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--query", default="", help="the Train page's link parameters, e.g. 'data.name=moons&model.name=mlp'")
    a = p.parse_args(argv)
    query = dict(kv.split("=", 1) for kv in a.query.split("&") if "=" in kv)
    print(json.dumps(run(max(1, a.sessions), query)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
