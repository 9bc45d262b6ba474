// A drawing pad: mouse, pen or finger (pointer events), Undo and Clear. Python gets the strokes, each a list of
// [x, y] points in [0, 1] of the pad, after every finished stroke, Undo or Clear (state "strokes").
export default function ({ data, parentElement, setStateValue }) {
  const root = parentElement.querySelector(".lab-canvas");
  if (!root) return;
  const pad = root.querySelector("canvas");
  const undo = root.querySelector("[data-act=undo]");
  const clear = root.querySelector("[data-act=clear]");
  const labels = data || {};
  undo.textContent = labels.undo || "Undo";
  clear.textContent = labels.clear || "Clear";
  pad.setAttribute("aria-label", labels.label || "");
  if (pad.__lab) return; // called again on every rerun: the pad and its strokes are already there

  const state = (pad.__lab = { strokes: [], current: null });
  const ctx = pad.getContext("2d");
  const PEN = 0.06; // on screen, a fraction of the pad; the model's input gets its own width in Python

  function redraw() {
    const w = pad.width;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, w);
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    ctx.lineWidth = PEN * w;
    ctx.lineCap = ctx.lineJoin = "round";
    for (const s of state.strokes) {
      ctx.beginPath();
      if (s.length === 1) {
        ctx.arc(s[0][0] * w, s[0][1] * w, (PEN * w) / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.moveTo(s[0][0] * w, s[0][1] * w);
      for (const p of s.slice(1)) ctx.lineTo(p[0] * w, p[1] * w);
      ctx.stroke();
    }
    undo.disabled = clear.disabled = state.strokes.length === 0;
  }

  function fit() {
    const px = Math.max(1, Math.round(pad.clientWidth * (window.devicePixelRatio || 1)));
    if (pad.width !== px) pad.width = pad.height = px;
    redraw();
  }

  function point(e) {
    const r = pad.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
  }

  function send() {
    const round = (v) => Math.round(v * 1000) / 1000;
    setStateValue("strokes", state.strokes.map((s) => s.map((p) => [round(p[0]), round(p[1])])));
  }

  pad.addEventListener("pointerdown", (e) => {
    if (e.button !== undefined && e.button > 0) return;
    e.preventDefault();
    pad.setPointerCapture?.(e.pointerId);
    state.current = [point(e)];
    state.strokes.push(state.current);
    redraw();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!state.current) return;
    const p = point(e);
    const last = state.current[state.current.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.004) return;
    state.current.push(p);
    redraw();
  });
  const end = () => {
    if (!state.current) return;
    state.current = null;
    send();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  pad.addEventListener("lostpointercapture", end);
  undo.addEventListener("click", () => {
    state.strokes.pop();
    redraw();
    send();
  });
  clear.addEventListener("click", () => {
    state.strokes = [];
    redraw();
    send();
  });
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(fit).observe(pad);
  fit();
}
