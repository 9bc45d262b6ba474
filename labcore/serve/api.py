"""A prediction service for one model trained in the Deep Learning Visual Lab: FastAPI + TorchScript.

This file stands alone (no lab import): put it beside `model.pt` (TorchScript) and `metadata.json` from the
lab's "Save & serve" bundle, then

    pip install fastapi uvicorn torch pillow
    uvicorn api:app --host 127.0.0.1 --port 8000        (or: python api.py --port 8000)

and open http://127.0.0.1:8000/docs to try it. POST /predict takes JSON:
    tables and 2-D points: {"features": [x1, x2, ...]}
    images: {"pixels": [[...], ...]} (C x H x W, or H x W for one channel, values in [0, 1])
            or {"png": "<base64 PNG>"} (resized to the model's input size)
and answers {"prediction_index", "label", "confidence", "probabilities"}; a request the model cannot take gets
HTTP 400 with {"error": "..."} saying what is wrong. GET /health says the service is up. GET /monitor lists
summaries of the latest requests it answered (mean and spread of the input, predicted class, confidence: never
the inputs themselves), for a monitoring job to scrape; ?since=N gives only those after request number N.
"""

import base64
import binascii
import collections
import io
import json
import math
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import torch

MAX_BODY_BYTES = 1_000_000  # a request larger than this is refused before it is parsed
MAX_VALUES = 100_000  # numbers in one request
MAX_ABS_VALUE = 1e6  # |feature| above this is a typo or an attack, not a measurement
MAX_PNG_PIXELS = 4096 * 4096
MONITOR_SIZE = 2000  # GET /monitor: the service remembers this many of its latest requests, no more
HERE = Path(__file__).resolve().parent


class InputError(ValueError):
    """A request the model cannot take: the service answers HTTP 400 with this message."""


class RequestLog:
    """Summaries of the latest `size` requests answered (a ring buffer: memory stays bounded however long the
    service runs), safe to write from many threads. Each row: request number, time, mean and standard deviation
    of the input's values (for images: brightness and contrast), predicted class index, its probability."""

    FIELDS = ("seq", "time", "mean", "std", "prediction", "confidence")

    def __init__(self, size: int = MONITOR_SIZE):
        self.size = size
        self._rows: collections.deque = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self.served = 0

    def add(self, x: torch.Tensor, index: int, confidence: float) -> None:
        mean, std = float(x.mean()), float(x.std(correction=0))
        with self._lock:
            self.served += 1
            self._rows.append((self.served, round(time.time(), 3), mean, std, int(index), float(confidence)))

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def snapshot(self, since: int = 0) -> dict:
        """The rows after request number `since`, column by column, with the buffer's size and the count served."""
        with self._lock:
            rows = [r for r in self._rows if r[0] > since]
            served = self.served
        return {"size": self.size, "served": served, **{f: [r[i] for r in rows] for i, f in enumerate(self.FIELDS)}}


def load_model(source: str | Path | bytes) -> torch.jit.ScriptModule:
    """The TorchScript model, on the CPU, in eval mode: loaded once, at start-up."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated in favour of torch.export
        model = torch.jit.load(io.BytesIO(source) if isinstance(source, bytes) else str(source), map_location="cpu")
    return model.eval()


def _walk(value: Any, depth: int, count: list[int]) -> None:
    """Nested lists of plain numbers only: no strings, booleans, nulls, NaN or huge values."""
    if depth > 4:
        raise InputError("too deeply nested: send a flat list (tables) or a C x H x W / H x W nested list (images)")
    if isinstance(value, list):
        for v in value:
            _walk(v, depth + 1, count)
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"every value must be a number; got {json.dumps(value)[:40]}")
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise InputError(f"too large: more than {MAX_VALUES} numbers")
    if not math.isfinite(value):
        raise InputError("values must be finite numbers (no NaN or Infinity)")
    if abs(value) > MAX_ABS_VALUE:
        raise InputError(f"value {value} is out of range (|value| must be at most {MAX_ABS_VALUE:g})")


def _numbers(value: Any, shape: tuple[int, ...], what: str) -> torch.Tensor:
    if not isinstance(value, list):
        raise InputError(f'"{what}" must be a list of numbers')
    _walk(value, 0, [0])
    try:
        x = torch.tensor(value, dtype=torch.float32)
    except (ValueError, TypeError) as e:  # ragged nesting: rows of different lengths
        raise InputError(f'"{what}" must be a rectangular list: {e}') from None
    if len(shape) == 3 and shape[0] == 1 and tuple(x.shape) == shape[1:]:
        x = x.unsqueeze(0)  # one-channel images may leave the channel out: H x W
    if tuple(x.shape) != tuple(shape):
        want = " x ".join(map(str, shape))
        got = " x ".join(map(str, x.shape)) or "a single number"
        raise InputError(f'"{what}" has the wrong shape: expected {want} (got {got})')
    return x


def _png(text: Any, shape: tuple[int, ...]) -> torch.Tensor:
    if not isinstance(text, str):
        raise InputError('"png" must be a base64 string')
    if len(text) > MAX_BODY_BYTES:
        raise InputError("too large: the image is over the size limit")
    try:
        raw = base64.b64decode(text.split(",")[-1], validate=True)  # a data: URL prefix is fine too
    except (binascii.Error, ValueError):
        raise InputError('"png" is not valid base64') from None
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(raw))
        if image.width * image.height > MAX_PNG_PIXELS:
            raise InputError("too large: the image has too many pixels")
        image = image.convert("L" if shape[0] == 1 else "RGB").resize((shape[2], shape[1]), Image.Resampling.BILINEAR)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InputError('"png" is not a readable image') from None
    x = torch.tensor(list(image.getdata()), dtype=torch.float32) / 255
    return x.view(shape[1], shape[2], shape[0]).permute(2, 0, 1).contiguous()


def to_input(payload: Any, meta: dict) -> torch.Tensor:
    """A request's JSON as a batch of one, after every check; raises InputError with a clear message."""
    data = meta["dataset"]
    shape = tuple(data["input_shape"])
    if not isinstance(payload, dict):
        body = ('{"pixels": [[...], ...]} or {"png": "..."}' if data["kind"] == "image"
                else f'{{"features": [{shape[0]} numbers]}}')
        raise InputError(f"send a JSON object: {body}")
    if data["kind"] == "image":
        if "png" in payload:
            return _png(payload["png"], shape).unsqueeze(0)
        if "pixels" not in payload:
            raise InputError('send "pixels" (a C x H x W or H x W list of values in [0, 1]) or "png" (a base64 PNG)')
        x = _numbers(payload["pixels"], shape, "pixels")
        if x.min() < 0 or x.max() > 1:
            raise InputError("pixel values must lie in [0, 1]")
        return x.unsqueeze(0)
    if "features" not in payload:
        raise InputError(f'send "features": a list of {shape[0]} numbers')
    return _numbers(payload["features"], shape, "features").unsqueeze(0)


def example(meta: dict) -> dict:
    """A request body the docs page shows (the dataset's first test row when the lab wrote one)."""
    data = meta["dataset"]
    if meta.get("example") is not None:
        return meta["example"]
    shape = data["input_shape"]
    if data["kind"] == "image":
        return {"pixels": torch.zeros(shape).tolist()}
    return {"features": [0.0] * shape[0]}


def predict(model: torch.jit.ScriptModule, x: torch.Tensor, classes: list[str]) -> dict:
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)[0]
    i = int(probs.argmax())
    return {"prediction_index": i, "label": classes[i], "confidence": round(float(probs[i]), 4),
            "probabilities": {c: float(p) for c, p in zip(classes, probs.tolist(), strict=True)}}


def create_app(model: torch.jit.ScriptModule, meta: dict):
    """The FastAPI app: POST /predict, GET /health, GET /monitor, and the OpenAPI docs at /docs."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    data = meta["dataset"]
    classes = [str(c) for c in data["classes"]]
    lock = threading.Lock()  # one forward pass at a time: the model is small, the machine may be shared
    log = RequestLog()
    app = FastAPI(title=f"{meta.get('title', 'Lab model')}: {data['name']}", version=str(meta.get("created", "1")),
                  description=f"Classes: {', '.join(classes)}. Input shape: {data['input_shape']}. {data.get('input', '')}")

    schema = {"type": "object", "example": example(meta)}

    async def predict_route(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            if len(body) > MAX_BODY_BYTES:
                raise InputError(f"too large: the request is over {MAX_BODY_BYTES} bytes")
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise InputError("the request body is not valid JSON") from None
            x = to_input(payload, meta)
        except InputError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        with lock:
            answer = predict(model, x, classes)
        log.add(x, answer["prediction_index"], answer["probabilities"][answer["label"]])
        return JSONResponse(answer)

    extra = {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
    app.add_api_route("/predict", predict_route, methods=["POST"], summary="Class probabilities for one input",
                      openapi_extra=extra)
    app.add_api_route("/predict/", predict_route, methods=["POST"], include_in_schema=False)  # the book's spelling

    @app.get("/health", summary="Is the service up, and which model does it serve?")
    def health() -> dict:
        return {"status": "ok", "dataset": data["name"], "classes": classes, "input_shape": data["input_shape"]}

    @app.get("/monitor", summary="Summaries of the latest requests answered (for drift monitoring)")
    def monitor(since: int = 0) -> dict:
        return log.snapshot(since)

    app.state.monitor = log
    return app


def __getattr__(name: str):
    """`uvicorn api:app`: the app is built on first use from model.pt and metadata.json beside this file."""
    if name == "app":
        meta = json.loads((HERE / "metadata.json").read_text(encoding="utf-8"))
        globals()["app"] = built = create_app(load_model(HERE / "model.pt"), meta)
        return built
    raise AttributeError(name)


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the lab's model (model.pt + metadata.json) over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    meta = json.loads((HERE / "metadata.json").read_text(encoding="utf-8"))
    uvicorn.run(create_app(load_model(HERE / "model.pt"), meta), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
