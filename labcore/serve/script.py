"""Lesson 20's "show me the code": the Train page's setup as one plain PyTorch script (no labcore import).

The model is written out layer by layer from the lab's own network, so the script builds the same layers
with the same shapes (and, seeded alike, the same starting weights); the data split, the optimizer and its
hyperparameters, the schedule, gradient clipping and early stopping follow the run's settings.
"""

from __future__ import annotations

import inspect
import textwrap

import torch
from torch import nn

from labcore.config import RunConfig
from labcore.data import DataBundle, dataset_info
from labcore.data import toys as _toys
from labcore.models import build_model

MODELS = ("mlp", "cnn")
SKLEARN = {"digits": "load_digits", "breast_cancer": "load_breast_cancer", "wine": "load_wine"}
DATASETS = (*SKLEARN, *_toys.TOYS)
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def unsupported(cfg: RunConfig) -> str | None:
    """Why this setup has no plain script (a catalogue key under `serve.`), or None when it has one."""
    if cfg.model.name not in MODELS:
        return "script_no_model"
    if cfg.data.name not in DATASETS:
        return "script_no_data"
    if cfg.optim.name not in OPTIMIZERS:
        return "script_no_optimizer"
    if cfg.augment.active:
        return "script_no_augment"
    return None


# -- the model, layer by layer ----------------------------------------------------------------------------
def _layer(m: nn.Module) -> str:
    if isinstance(m, nn.Linear):
        return f"nn.Linear({m.in_features}, {m.out_features}{'' if m.bias is not None else ', bias=False'})"
    if isinstance(m, nn.Conv2d):
        return (f"nn.Conv2d({m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size[0]}, "
                f"padding={m.padding[0]}, bias={m.bias is not None})")
    if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
        return f"nn.{type(m).__name__}({m.num_features})"
    if isinstance(m, nn.LayerNorm):
        return f"nn.LayerNorm({m.normalized_shape[0]})"
    if isinstance(m, nn.GroupNorm):  # the CNN's layer norm: one group, every channel and position together
        return f"nn.GroupNorm({m.num_groups}, {m.num_channels})"
    if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
        return f"nn.{type(m).__name__}({m.kernel_size})"
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return f"nn.AdaptiveAvgPool2d({m.output_size})"
    if isinstance(m, nn.Dropout):  # the lab's own Dropout draws from the run's generator; same layer otherwise
        return f"nn.Dropout({m.p})"
    if isinstance(m, nn.Flatten | nn.ReLU | nn.LeakyReLU | nn.GELU | nn.SiLU | nn.Tanh | nn.Sigmoid):
        return f"nn.{type(m).__name__}()"
    raise ValueError(f"no plain-PyTorch spelling for {type(m).__name__}")


def _model_code(net: nn.Sequential) -> str:
    lines = ",\n".join(f"        {_layer(m)}" for m in net)
    return f"    net = nn.Sequential(\n{lines},\n    )"


_INIT = {
    "xavier": "nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain({gain!r}))",
    "kaiming": "nn.init.kaiming_normal_(m.weight, nonlinearity={kaiming!r})",
    "normal": "nn.init.normal_(m.weight, std=0.01)",
    "zeros": "nn.init.zeros_(m.weight)",
}


def _init_code(cfg: RunConfig) -> str:
    if cfg.model.init == "default":
        return "    # PyTorch's default initialisation (Kaiming-uniform), as in the lab"
    act = cfg.model.activation
    gain = act if act in ("relu", "leaky_relu", "tanh", "sigmoid") else "relu"
    call = _INIT[cfg.model.init].format(gain=gain, kaiming="leaky_relu" if gain == "leaky_relu" else "relu")
    return textwrap.indent(textwrap.dedent(f"""\
        for m in net.modules():  # the lab's "{cfg.model.init}" initialisation
            if isinstance(m, nn.Linear | nn.Conv2d):
                {call}
                if m.bias is not None:
                    nn.init.zeros_(m.bias)"""), "    ")


# -- the data ----------------------------------------------------------------------------------------------
def _data_code(cfg: RunConfig) -> str:
    name = cfg.data.name
    if name == "digits":
        return textwrap.dedent("""\
            def load_data():
                \"\"\"1,797 handwritten digits, 8x8 grey levels 0..16 scaled to [0, 1], shape (N, 1, 8, 8).\"\"\"
                d = datasets.load_digits()
                return (d.images / 16.0).astype(np.float32)[:, None], d.target
            """)
    if name in SKLEARN:
        return textwrap.dedent(f"""\
            def load_data():
                d = datasets.{SKLEARN[name]}()
                return d.data.astype(np.float32), d.target
            """)
    toy = inspect.getsource(_toys.TOYS[name])
    n = cfg.data.n_samples or _toys.DEFAULT_SIZE
    noise = _toys.DEFAULT_NOISE if cfg.data.noise < 0 else cfg.data.noise
    after = ("    x = (x - x.mean(0)) / (x.std(0) * 1.5)  # blobs live on a +-10 scale: bring them to +-1.5\n"
             if name == "blobs" else "")
    head = f"BLOB_CLASSES = {_toys.BLOB_CLASSES}\n\n\n" if name == "blobs" else ""
    return (f"{head}{toy}\n\ndef load_data():\n    \"\"\"The 2-D toy {name!r}: {n} points, noise {noise}.\"\"\"\n"
            f"    rng = np.random.default_rng(DATA_SEED)\n    x, y = {_toys.TOYS[name].__name__}({n}, {noise}, rng)\n"
            f"    x = x.astype(np.float32)\n{after}    return x, y\n")


# -- the optimizer and the schedule ------------------------------------------------------------------------
def _optimizer_code(cfg: RunConfig) -> str:
    o = cfg.optim
    args = {
        "sgd": f"lr={o.lr!r}, weight_decay={o.weight_decay!r}",
        "momentum": f"lr={o.lr!r}, momentum={o.momentum!r}, weight_decay={o.weight_decay!r}",
        "nesterov": f"lr={o.lr!r}, momentum={o.momentum!r}, nesterov=True, weight_decay={o.weight_decay!r}",
        "adagrad": f"lr={o.lr!r}, eps={o.eps!r}, weight_decay={o.weight_decay!r}",
        "rmsprop": f"lr={o.lr!r}, alpha={o.alpha!r}, eps={o.eps!r}, weight_decay={o.weight_decay!r}",
        "adam": f"lr={o.lr!r}, betas=({o.beta1!r}, {o.beta2!r}), eps={o.eps!r}, weight_decay={o.weight_decay!r}",
        "adamw": f"lr={o.lr!r}, betas=({o.beta1!r}, {o.beta2!r}), eps={o.eps!r}, weight_decay={o.weight_decay!r}",
    }[o.name]
    cls = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop",
           "adam": "Adam", "adamw": "AdamW"}[o.name]
    return f"torch.optim.{cls}(model.parameters(), {args})"


_SCHEDULE = {
    "constant": "return 1.0",
    "step": "return GAMMA ** (step // (max(1, STEP_EPOCHS) * steps_per_epoch))",
    "exponential": "return GAMMA ** (step // steps_per_epoch)  # gamma per epoch",
    "cosine": "return 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))",
    "one_cycle": textwrap.dedent("""\
        up, start, end = max(1, int(0.3 * total_steps)), 1 / 25, 1 / 25 / 1e4  # one-cycle: its own warmup
        if step <= up:
            return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * step / up))
        t = min(1.0, (step - up) / max(1, total_steps - up))
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * t))"""),
}


def _schedule_code(cfg: RunConfig) -> str | None:
    o = cfg.optim
    warm = o.warmup_epochs > 0 and o.schedule != "one_cycle"
    if o.schedule == "constant" and not warm:
        return None
    body = textwrap.indent(_SCHEDULE[o.schedule], "    ")
    code = (f"GAMMA, STEP_EPOCHS, WARMUP_EPOCHS = {o.gamma!r}, {o.step_epochs!r}, {o.warmup_epochs!r}\n\n\n"
            f"def schedule(step, steps_per_epoch, total_steps):\n    \"\"\"The {o.schedule!r} schedule: a multiplier of the "
            f"base learning rate.\"\"\"\n{body}\n")
    if warm:
        code += textwrap.dedent("""\


            def lr_multiplier(step, steps_per_epoch, total_steps):
                \"\"\"A linear warmup, then the schedule over the remaining steps.\"\"\"
                warmup = int(WARMUP_EPOCHS * steps_per_epoch)
                if warmup <= 0:
                    return schedule(step, steps_per_epoch, total_steps)
                rest = max(1, total_steps - warmup + 1)
                return schedule(max(0, step + 1 - warmup), steps_per_epoch, rest) * min(1.0, (step + 1) / warmup)
            """)
    else:
        code += "\n\nlr_multiplier = schedule\n"
    return code


# -- the whole script --------------------------------------------------------------------------------------
_MAIN = '''
def split(x, y):
    """Seeded, stratified train/validation/test split, as in the lab."""
    idx = np.arange(len(y))
    holdout = VAL_FRACTION + TEST_FRACTION
    idx_train, idx_rest = train_test_split(idx, test_size=holdout, stratify=y, random_state=DATA_SEED)
    idx_val, idx_test = train_test_split(idx_rest, test_size=TEST_FRACTION / holdout, stratify=y[idx_rest],
                                         random_state=DATA_SEED)
    return [(x[i], y[i]) for i in (idx_train, idx_val, idx_test)]


class Standardize(nn.Module):
    """(x - mean) / std with the training data's statistics, inside the model: callers send raw inputs."""

    def __init__(self, mean, std):
        super().__init__()
        shape = (1, -1) + (1,) * (len(INPUT_SHAPE) - 1)
        self.register_buffer("mean", torch.tensor(mean).view(shape))
        self.register_buffer("std", torch.tensor(std).view(shape))

    def forward(self, x):
        return (x - self.mean) / self.std


def build_model(mean, std):
__MODEL__
__INIT__
    return nn.Sequential(OrderedDict(normalize=Standardize(mean, std), net=net))


__SCHEDULE__
def evaluate(model, x, y):
    """Mean cross-entropy loss and accuracy, in eval mode, without gradients."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def main():
    x, y = load_data()
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(x, y)
__SCALE__
    x_train, x_val, x_test = (torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32) for a in (x_train, x_val, x_test))
    y_train, y_val, y_test = (torch.as_tensor(a).long() for a in (y_train, y_val, y_test))
    dims = [0] + list(range(2, x_train.dim()))  # per channel for images, per feature for tables
    mean, std = x_train.mean(dim=dims), x_train.std(dim=dims).clamp_min(1e-6)

    torch.manual_seed(SEED)  # the seed alone decides the starting weights
    model = build_model(mean.tolist(), std.tolist())
    optimizer = __OPTIMIZER__
    n = len(y_train)
    batch_size = max(1, min(BATCH_SIZE, n))
__SCHEDULER__
    shuffle = torch.Generator().manual_seed(SEED)
    best = (math.inf, 0, None)  # validation loss, epoch, weights
__WAITED__
    for epoch in range(1, EPOCHS + 1):
        model.train()
        order = torch.randperm(n, generator=shuffle)
        seen = loss_sum = correct = 0
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            if len(idx) < 2 and seen:  # batch norm cannot train on a single sample
                continue
            xb, yb = x_train[idx], y_train[idx]
            optimizer.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
__CLIP__
            optimizer.step()
__STEP__
            seen += len(yb)
            loss_sum += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
        val_loss, val_acc = evaluate(model, x_val, y_val)
        print(f"epoch {epoch:3d}  loss {loss_sum / seen:.4f}  acc {correct / seen:.3f}  "
              f"val loss {val_loss:.4f}  val acc {val_acc:.3f}")
        if val_loss < best[0]:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
__EARLY__
__RESTORE__
    test_loss, test_acc = evaluate(model, x_test, y_test)
    print(f"test loss {test_loss:.4f}")
    print(f"test accuracy {test_acc:.4f}")
    torch.save(model.state_dict(), "model_state_dict.pt")


if __name__ == "__main__":
    main()
'''


def training_script(cfg: RunConfig) -> str:
    """The run as a standalone script: `python train.py` trains and prints `test accuracy 0.9xxx`."""
    reason = unsupported(cfg)
    if reason is not None:
        raise ValueError(f"no plain script for this setup ({reason})")
    info = dataset_info(cfg.data.name, cfg.data)
    shape = info.input_shape
    fake = DataBundle(info, *(torch.zeros(0, *shape), torch.zeros(0).long()) * 3)
    net = build_model(cfg.model, fake, seed=0).net
    o, t = cfg.optim, cfg.train
    tabular = cfg.data.name in SKLEARN and cfg.data.name != "digits"
    scale = ("    scaler = StandardScaler().fit(x_train)  # training rows only: fitting on all rows leaks the test set\n"
             "    x_train, x_val, x_test = (scaler.transform(a).astype(np.float32) for a in (x_train, x_val, x_test))"
             if tabular else "    # no scaling here: the model standardises its input itself (first layer)")
    schedule = _schedule_code(cfg)
    early = (f"            waited = 0\n        else:\n            waited += 1\n"
             f"        if waited >= {t.patience}:  # early stopping: {t.patience} epochs without a better val loss\n"
             f"            print(f\"early stop after epoch {{epoch}}; back to epoch {{best[1]}}\")\n"
             f"            model.load_state_dict(best[2])\n            break"
             if t.patience else "")
    # back to the epoch with the lowest validation loss (early stopping, when it fired, has done so already)
    fired = f" and waited < {t.patience}" if t.patience else ""
    restore = (f"    if best[2] is not None{fired}:  # back to the epoch with the lowest validation loss\n"
               "        model.load_state_dict(best[2])\n" if t.restore_best else "")
    scheduler = ("    steps_per_epoch = math.ceil(n / batch_size)\n    total_steps = steps_per_epoch * EPOCHS\n"
                 "    scheduler = torch.optim.lr_scheduler.LambdaLR(\n"
                 "        optimizer, lambda s: lr_multiplier(s, steps_per_epoch, total_steps))")
    parts = {
        "__MODEL__": _model_code(net), "__INIT__": _init_code(cfg), "__SCALE__": scale,
        "__SCHEDULE__": (schedule + "\n\n") if schedule else "", "__OPTIMIZER__": _optimizer_code(cfg),
        "__SCHEDULER__": scheduler if schedule else "", "__STEP__": "            scheduler.step()" if schedule else "",
        "__CLIP__": (f"            torch.nn.utils.clip_grad_norm_(model.parameters(), {o.clip_norm!r})"
                     if o.clip_norm > 0 else ""),
        "__EARLY__": early, "__WAITED__": "    waited = 0" if t.patience else "", "__RESTORE__": restore.rstrip("\n"),
    }
    body = _MAIN
    for mark, code in parts.items():
        body = body.replace(mark, code)
    imports = ["from sklearn import datasets"] if cfg.data.name in SKLEARN else (
        ["from sklearn import datasets as skd"] if "skd." in _data_code(cfg) else [])
    imports.append("from sklearn.model_selection import train_test_split")
    if tabular:
        imports.append("from sklearn.preprocessing import StandardScaler")
    header = textwrap.dedent(f'''\
        """Train the lab's {cfg.model.name.upper()} on {cfg.data.name!r} in plain PyTorch (Deep Learning Visual Lab).

        Generated from the lab's run settings. Needs torch, numpy and scikit-learn. Run: python {script_name(cfg)}
        """

        import copy
        import math
        from collections import OrderedDict

        import numpy as np
        import torch
        import torch.nn.functional as F
        {{sklearn_imports}}
        from torch import nn

        SEED = {t.seed}  # starting weights and batch order
        DATA_SEED = {cfg.data.seed}  # the split
        EPOCHS = {t.epochs}
        BATCH_SIZE = {t.batch_size}
        VAL_FRACTION, TEST_FRACTION = {cfg.data.val_fraction!r}, {cfg.data.test_fraction!r}
        INPUT_SHAPE = {tuple(shape)!r}
        CLASSES = {list(info.class_names)!r}
        torch.set_num_threads(max(1, min(4, torch.get_num_threads())))


        ''')
    header = header.replace("{sklearn_imports}", "\n".join(imports))
    return _tidy(header + _data_code(cfg) + "\n" + body)


def _tidy(code: str) -> str:
    """Drop the lines an unused placeholder left empty inside a block, and collapse runs of blank lines."""
    out: list[str] = []
    for line in code.split("\n"):
        if line.strip() == "" and out and out[-1].strip() == "" and (len(out) < 2 or out[-2].strip() == ""):
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip() + "\n"


def script_name(cfg: RunConfig) -> str:
    return f"train_{cfg.data.name}_{cfg.model.name}.py"
