"""The lab's own running copy of the prediction service (labcore.serve.api), in a background thread.

fastapi and uvicorn are the optional extra `[serve]`: they are imported inside functions only, so the lab
runs (and says what to install) without them.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labcore.i18n import LabError

HOST = "127.0.0.1"
EXTRA = "serve"
PACKAGES = ("fastapi", "uvicorn")
API_SOURCE = Path(__file__).with_name("api.py")


def available() -> bool:
    """Are fastapi and uvicorn installed (`pip install -e .[serve]`)?"""
    return all(importlib.util.find_spec(p) is not None for p in PACKAGES)


def api_source() -> str:
    """The standalone `api.py` to download: the very code the lab's own service runs."""
    return API_SOURCE.read_text(encoding="utf-8")


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Service:
    """A uvicorn server in a daemon thread; `stop()` ends it and frees the port."""

    server: object
    thread: threading.Thread
    host: str
    port: int
    label: str = ""  # what it serves, for the page
    started_at: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.thread.is_alive() and not self.server.should_exit

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the server to finish and wait for its thread; True when it has ended."""
        self.server.should_exit = True
        self.thread.join(timeout)
        return not self.thread.is_alive()


def _watch(service: Service, alive: Callable[[], bool], every: float) -> None:
    """Stop the service once its owner (a browser session) is gone."""
    while service.thread.is_alive() and not service.server.should_exit:
        time.sleep(every)
        try:
            gone = alive() is False
        except Exception:  # a check that fails must not stop the service
            gone = False
        if gone:
            service.server.should_exit = True
            return


def start(torchscript: bytes, meta: dict, *, host: str = HOST, port: int | None = None, label: str = "",
          alive: Callable[[], bool] | None = None, check_every: float = 2.0, timeout: float = 15.0) -> Service:
    """Serve a TorchScript model (bytes of model.pt) with its metadata on `host:port` (a free port by default).

    Returns once the server accepts connections; raises LabError("serve.start_failed") when it cannot."""
    if not available():
        raise LabError("serve.missing_extra", extra=EXTRA)
    import uvicorn

    from labcore.serve.api import create_app, load_model

    app = create_app(load_model(torchscript), meta)
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as e:  # uvicorn exits (SystemExit) when it cannot bind the port
            failed.append(e)

    thread = threading.Thread(target=run, name=f"serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(2.0)
        reason = repr(failed[0]) if failed else "no answer"
        raise LabError("serve.start_failed", port=port, reason=reason)
    service = Service(server, thread, host, port, label)
    if alive is not None:
        threading.Thread(target=_watch, args=(service, alive, check_every), name=f"serve-watch-{port}",
                         daemon=True).start()
    return service
