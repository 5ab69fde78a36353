"""Trained Paddle checkpoints (`*.pdparams`) → this project's modules, by key, strictly.

A checkpoint is PaddleOCR's `model.state_dict()`: structured names, the trainable (un-fused) layers, and
for some models training-only branches. The names follow PaddleOCR's module tree, which this project's
modules mirror, so tensors are placed by key (unlike inference files, whose variable names are not
reliable and are placed by structure in `mapping`). Where the two trees differ, a named rule below says
how, and every tensor the file holds is either placed or dropped by a rule that is reported:

==============================  ======================================================================
rule                            what it does
==============================  ======================================================================
``distillation-submodel``       `Student.` / `Student2.` / `Teacher.` prefixes: one sub-model is kept
                                (`Student`, the one PaddleOCR exports, unless another is named)
``multihead-training-heads``    drops `head.sar_head.*`, `head.gtc_head.*`, `head.before_gtc.*` of a
                                MultiHead recogniser (SAR / NRTR branches that inference never runs)
``multihead-ctc-branch``        `head.ctc_encoder.encoder.` → `neck.`, `head.ctc_head.` → `head.`
``lstm-alias``                  Paddle lists each LSTM tensor twice (`lstm.weight_ih_l0` and
                                `lstm.0.cell_fw.weight_ih`, `cell_bw` for the reverse direction): the
                                aliases are checked equal to the canonical tensors and dropped
``lcnetv3-stride2-activation``  drops `<rep layer>.act.lab.*` of PP-LCNetV3 rep layers with stride 2,
                                whose activation PaddleOCR builds but never applies (nor do we build it)
``convbn-norm``                 `<convbn>.norm.` → `<convbn>.bn.` where our module is a conv+BN block
                                (PaddleOCR's SVTR ConvBNLayer calls its BatchNorm `norm`)
``batchnorm-statistics``        `<bn>._mean` / `<bn>._variance` → `running_mean` / `running_var`
``linear-transpose``            Paddle stores Linear weights `[in, out]`: transposed for torch
``db-threshold-branch``         the DB head's `head.thresh.*` is loaded into the trainable form, then
                                dropped with it: inference uses only the probability map
==============================  ======================================================================

Module-dependent rules decide by the type of the target module (a BatchNorm, a Linear, an LSTM, a
PP-LCNetV3 rep layer), never by guessing from names. After the rules the keys must equal the trainable
module's state dict exactly, with equal shapes; then the module is re-parameterised and copied into the
deploy build, so the result is the very module `create_model` returns for inference files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ModelFormatError, WeightsMismatchError
from .pplcnetv3 import RepLayer
from .registry import build_architecture

#: Top-level children of every PaddleOCR `BaseModel` (and of ours).
PLAIN_GROUPS = ("backbone", "neck", "head")
#: Sub-model names of PaddleOCR's distillation configs.
DISTILLATION_SUBMODELS = ("Student", "Student2", "Teacher")
#: The sub-model PaddleOCR's configs evaluate and export for inference.
INFERENCE_SUBMODEL = "Student"
#: Training-only branches of PaddleOCR's MultiHead recogniser (v3: SAR, v4: NRTR as GTC).
MULTIHEAD_TRAINING_HEADS = ("head.sar_head.", "head.gtc_head.", "head.before_gtc.")
_MULTIHEAD_CTC_HEAD = "head.ctc_head."
_MULTIHEAD_CTC_ENCODER = "head.ctc_encoder.encoder."
_THRESHOLD_BRANCH = "head.thresh."
_SKIPPED_BUFFERS = ("num_batches_tracked",)
_LSTM_ALIAS = re.compile(
    r"(?P<prefix>.+)\.(?P<layer>\d+)\.(?P<cell>cell|cell_fw|cell_bw)\.(?P<param>weight_ih|weight_hh|bias_ih|bias_hh)"
)
_BN_STATISTICS = {"_mean": "running_mean", "_variance": "running_var"}


@dataclass(frozen=True)
class DroppedTensor:
    """A tensor of the file that the module does not take, and the rule that dropped it."""

    key: str
    rule: str


@dataclass(frozen=True)
class CheckpointMapping:
    """The outcome of the rules: the trainable module's state dict and where each tensor came from."""

    state_dict: dict[str, np.ndarray]
    paddle_keys: dict[str, str]  # torch key → the key in the file (without any sub-model prefix)
    dropped: tuple[DroppedTensor, ...]


@dataclass(frozen=True)
class CheckpointReport:
    """What loading a checkpoint did: the sub-model chosen, what the file held, what was dropped."""

    source: str
    architecture: str
    submodel: str | None
    submodels: tuple[str, ...]
    dropped: tuple[DroppedTensor, ...] = field(default=())

    def dropped_by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.dropped:
            counts[item.rule] = counts.get(item.rule, 0) + 1
        return counts


@dataclass
class _Entry:
    key: str  # the current name, becoming the torch key
    paddle_key: str  # as in the file (after the sub-model prefix)
    array: np.ndarray


Rule = Callable[[list[_Entry], Mapping[str, nn.Module], list[DroppedTensor]], list[_Entry]]


# --- distillation -----------------------------------------------------------------------------------------


def split_submodels(tensors: Mapping[str, np.ndarray], source: str = "checkpoint") -> dict[str | None, dict]:
    """Groups a checkpoint's keys by sub-model: `None` for plain keys (`backbone.…`, `neck.…`, `head.…`),
    else the prefix of `<Prefix>.backbone.…` with the prefix stripped. File order is kept."""
    groups: dict[str | None, dict[str, np.ndarray]] = {}
    for key, array in tensors.items():
        first, _, rest = key.partition(".")
        if first in PLAIN_GROUPS:
            groups.setdefault(None, {})[key] = array
        elif rest.partition(".")[0] in PLAIN_GROUPS:
            groups.setdefault(first, {})[rest] = array
        else:
            raise WeightsMismatchError(
                f"{source}: key {key!r} is neither a model key ({', '.join(g + '.…' for g in PLAIN_GROUPS)}) "
                f"nor a sub-model's (<Name>.backbone.…); the file holds {_describe_groups(tensors)}"
            )
    if None in groups and len(groups) > 1:
        raise WeightsMismatchError(f"{source}: mixes plain keys with sub-model prefixes: {_describe_groups(tensors)}")
    return groups


def _describe_groups(tensors: Mapping[str, np.ndarray]) -> str:
    counts: dict[str, int] = {}
    for key in tensors:
        first = key.partition(".")[0]
        counts[first] = counts.get(first, 0) + 1
    return ", ".join(f"{name}.* ({n} tensors)" for name, n in counts.items())


def select_submodel(
    tensors: Mapping[str, np.ndarray], submodel: str | None = None, source: str = "checkpoint"
) -> tuple[dict[str, np.ndarray], str | None, tuple[str, ...]]:
    """Rule `distillation-submodel`: `(plain-key tensors, chosen sub-model, sub-models in the file)`.

    A plain-key file is returned as it is (naming a sub-model for it is an error). A distillation file
    gives `submodel`, by default `Student`, the sub-model PaddleOCR exports for inference.
    """
    groups = split_submodels(tensors, source)
    if None in groups:
        if submodel is not None:
            raise WeightsMismatchError(
                f"{source}: a plain checkpoint (keys backbone./neck./head.), not a distillation one: "
                f"it holds no sub-model {submodel!r}"
            )
        return groups[None], None, ()
    names = tuple(name for name in groups if name is not None)
    wanted = INFERENCE_SUBMODEL if submodel is None else submodel
    if wanted not in groups:
        held = ", ".join(f"{name} ({len(groups[name])} tensors)" for name in names)
        unknown = [n for n in names if n not in DISTILLATION_SUBMODELS]
        note = f"; {', '.join(unknown)} is not a PaddleOCR distillation name" if unknown else ""
        how = "pass submodel= with one of them" if submodel is None else "name one of them"
        raise WeightsMismatchError(f"{source}: no sub-model {wanted!r}; the file holds {held}{note}: {how}")
    return groups[wanted], wanted, names


# --- the rules ---------------------------------------------------------------------------------------------


def _parent(key: str) -> tuple[str, str]:
    parent, _, leaf = key.rpartition(".")
    return parent, leaf


def _is_multihead(entries: list[_Entry]) -> bool:
    return any(e.key.startswith(_MULTIHEAD_CTC_HEAD) for e in entries)


def drop_multihead_training_heads(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`multihead-training-heads`: a MultiHead recogniser's SAR / NRTR branches are not part of inference."""
    if not _is_multihead(entries):
        return entries
    kept = []
    for entry in entries:
        if entry.key.startswith(MULTIHEAD_TRAINING_HEADS):
            dropped.append(DroppedTensor(entry.paddle_key, "multihead-training-heads"))
        else:
            kept.append(entry)
    return kept


def rename_multihead_ctc_branch(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`multihead-ctc-branch`: the CTC branch's SVTR encoder is our neck and its CTC head our head."""
    if not _is_multihead(entries):
        return entries
    for entry in entries:
        if entry.key.startswith(_MULTIHEAD_CTC_ENCODER):
            entry.key = "neck." + entry.key[len(_MULTIHEAD_CTC_ENCODER) :]
        elif entry.key.startswith(_MULTIHEAD_CTC_HEAD):
            entry.key = "head." + entry.key[len(_MULTIHEAD_CTC_HEAD) :]
    return entries


def drop_lstm_aliases(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`lstm-alias`: `<lstm>.<k>.cell[_fw|_bw].<p>` repeats `<lstm>.<p>_l<k>[_reverse]` of an (nn.)LSTM.

    The alias must equal its canonical tensor and is dropped; if a file held only the alias it would
    take the canonical name.
    """
    by_key = {e.key: e for e in entries}
    kept = []
    for entry in entries:
        match = _LSTM_ALIAS.fullmatch(entry.key)
        if match is None or not isinstance(modules.get(match["prefix"]), nn.RNNBase):
            kept.append(entry)
            continue
        suffix = "_reverse" if match["cell"] == "cell_bw" else ""
        canonical = f"{match['prefix']}.{match['param']}_l{match['layer']}{suffix}"
        if canonical not in by_key:
            entry.key = canonical
            kept.append(entry)
            continue
        if not np.array_equal(by_key[canonical].array, entry.array):
            raise ModelFormatError(
                f"LSTM tensor {entry.paddle_key!r} differs from {by_key[canonical].paddle_key!r}, which it should "
                f"repeat: the checkpoint is inconsistent"
            )
        dropped.append(DroppedTensor(entry.paddle_key, "lstm-alias"))
    return kept


def drop_lcnetv3_stride2_activation(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`lcnetv3-stride2-activation`: PaddleOCR's LearnableRepLayer builds `act` always but applies it only
    when the stride is not the integer 2; our RepLayer does not build it there. Only `act.lab.scale` /
    `act.lab.bias` of such layers are dropped."""
    kept = []
    for entry in entries:
        prefix, _, rest = entry.key.rpartition(".act.")
        layer = modules.get(prefix)
        if (
            rest in ("lab.scale", "lab.bias")
            and isinstance(layer, RepLayer)
            and layer.stride == 2
            and layer.act is None
        ):
            dropped.append(DroppedTensor(entry.paddle_key, "lcnetv3-stride2-activation"))
        else:
            kept.append(entry)
    return kept


def _is_convbn(module: nn.Module | None) -> bool:
    return (
        module is not None
        and isinstance(getattr(module, "bn", None), nn.modules.batchnorm._BatchNorm)
        and not hasattr(module, "norm")
    )


def rename_convbn_norm(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`convbn-norm`: PaddleOCR's SVTR ConvBNLayer names its BatchNorm `norm`; ours is `bn`."""
    for entry in entries:
        parts = entry.key.split(".")
        for index, part in enumerate(parts[:-1]):
            if part == "norm" and index > 0 and _is_convbn(modules.get(".".join(parts[:index]))):
                parts[index] = "bn"
        entry.key = ".".join(parts)
    return entries


def rename_batchnorm_statistics(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`batchnorm-statistics`: Paddle's `_mean` / `_variance` are torch's `running_mean` / `running_var`."""
    for entry in entries:
        parent, leaf = _parent(entry.key)
        if leaf in _BN_STATISTICS and isinstance(modules.get(parent), nn.modules.batchnorm._BatchNorm):
            entry.key = f"{parent}.{_BN_STATISTICS[leaf]}"
    return entries


def transpose_linear_weights(
    entries: list[_Entry], modules: Mapping[str, nn.Module], dropped: list[DroppedTensor]
) -> list[_Entry]:
    """`linear-transpose`: Paddle's Linear weight is `[in, out]`, torch's `[out, in]`."""
    for entry in entries:
        parent, leaf = _parent(entry.key)
        if leaf == "weight" and isinstance(modules.get(parent), nn.Linear) and entry.array.ndim == 2:
            entry.array = entry.array.T
    return entries


#: The rules, in the order they apply (each sees the names the previous ones produced).
RULES: tuple[Rule, ...] = (
    drop_multihead_training_heads,
    rename_multihead_ctc_branch,
    drop_lstm_aliases,
    drop_lcnetv3_stride2_activation,
    rename_convbn_norm,
    rename_batchnorm_statistics,
    transpose_linear_weights,
)


def paddle_to_torch(tensors: Mapping[str, np.ndarray], module: nn.Module) -> CheckpointMapping:
    """Applies `RULES` to plain-key Paddle tensors for the trainable `module`. Pure: nothing is loaded.

    The result is not checked against the module here; `load_checkpoint_state` does that strictly.
    """
    modules = dict(module.named_modules())
    entries = [_Entry(key, key, np.asarray(array)) for key, array in tensors.items()]
    dropped: list[DroppedTensor] = []
    for rule in RULES:
        entries = rule(entries, modules, dropped)
    state: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}
    for entry in entries:
        if entry.key in state:
            raise WeightsMismatchError(
                f"the file's {origin[entry.key]!r} and {entry.paddle_key!r} both map to {entry.key!r}"
            )
        state[entry.key] = entry.array
        origin[entry.key] = entry.paddle_key
    return CheckpointMapping(state, origin, tuple(dropped))


def paddle_state_keys(module: nn.Module, *, multihead: bool = False) -> list[tuple[str, tuple[int, ...]]]:
    """The reverse of the renaming rules: the trainable module's state dict as PaddleOCR would save it,
    `[(paddle key, paddle shape)]` in module order. With `multihead`, neck and head are named as the CTC
    branch of PaddleOCR's MultiHead (whose training-only heads, LSTM aliases and never-applied stride-2
    activations have no counterpart here).
    """
    modules = dict(module.named_modules())
    out = []
    for key, tensor in module.state_dict().items():
        parent, leaf = _parent(key)
        if leaf in _SKIPPED_BUFFERS:
            continue
        shape = tuple(tensor.shape)
        owner = modules.get(parent)
        if isinstance(owner, nn.modules.batchnorm._BatchNorm):
            leaf = {v: k for k, v in _BN_STATISTICS.items()}.get(leaf, leaf)
        if isinstance(owner, nn.Linear) and leaf == "weight":
            shape = shape[::-1]
        parts = [*parent.split("."), leaf] if parent else [leaf]
        if multihead and parts[0] == "neck":
            for index in range(1, len(parts) - 1):
                if parts[index] == "bn" and _is_convbn(modules.get(".".join(parts[:index]))):
                    parts[index] = "norm"
            parts = [*_MULTIHEAD_CTC_ENCODER.rstrip(".").split("."), *parts[1:]]
        elif multihead and parts[0] == "head":
            parts = [*_MULTIHEAD_CTC_HEAD.rstrip(".").split("."), *parts[1:]]
        out.append((".".join(parts), shape))
    return out


# --- strict loading ----------------------------------------------------------------------------------------


def _shape(values: Any) -> list[int]:
    return list(np.shape(values))


def load_checkpoint_state(
    module: nn.Module,
    state: Mapping[str, np.ndarray],
    *,
    source: str = "checkpoint",
    origin: Mapping[str, str] | None = None,
) -> None:
    """Loads `state` (torch keys) into `module`, strictly: the same keys, the same shapes, float values.

    A mismatch raises WeightsMismatchError naming the first mismatching tensor in module order (its key,
    the file's shape, the module's shape) and how many tensors are missing or unexpected. BatchNorm
    `num_batches_tracked` counters keep the module's values (they do not affect inference).
    """
    origin = origin or {}
    current = module.state_dict()
    expected = {k: v for k, v in current.items() if not k.endswith(_SKIPPED_BUFFERS)}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(np.shape(state[k])) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        bad = {*missing, *wrong}
        first = next((k for k in expected if k in bad), None)
        if first is None:
            lead = f"first mismatching tensor {origin.get(unexpected[0], unexpected[0])!r}: the module has no such key"
        elif first in state:
            via = f" (the file's {origin[first]!r})" if origin.get(first, first) != first else ""
            lead = (
                f"first mismatching tensor {first!r}{via}: file shape {_shape(state[first])}, "
                f"module shape {list(expected[first].shape)}"
            )
        else:
            lead = f"first mismatching tensor {first!r}: not in the file (module shape {list(expected[first].shape)})"
        extra = ", ".join(origin.get(k, k) for k in unexpected[:4]) + (" …" if len(unexpected) > 4 else "")
        counts = [
            f"{len(wrong)} of another shape",
            f"{len(missing)} missing",
            f"{len(unexpected)} unexpected" + (f" ({extra})" if unexpected else ""),
        ]
        raise WeightsMismatchError(
            f"{source}: the weights do not fit {type(module).__name__}: {lead}; {', '.join(counts)}: "
            f"the file is for a different architecture or configuration"
        )
    new_state = {}
    for key, target in current.items():
        if key not in expected:
            new_state[key] = target
            continue
        array = np.asarray(state[key])
        if target.is_floating_point() and array.dtype.kind != "f":
            raise WeightsMismatchError(f"{source}: tensor {origin.get(key, key)!r} has dtype {array.dtype}, not float")
        new_state[key] = torch.tensor(np.ascontiguousarray(array), dtype=target.dtype)
    module.load_state_dict(new_state, strict=True)


def to_deploy(trainable: nn.Module, architecture: str, **kwargs: Any) -> tuple[nn.Module, list[str]]:
    """Re-parameterises a loaded trainable module and copies it into a fresh deploy build.

    Returns the deploy module and the trainable-only keys that were left behind, which may only be the
    DB threshold branch (`db-threshold-branch`); anything else is an internal inconsistency.
    """
    # Fused in float64 and rounded once: the fused weights are then as exact as float32 can hold.
    trainable.double()
    reparameterize = getattr(trainable, "reparameterize", None)
    if reparameterize is not None:
        reparameterize()
    trainable.float()
    deploy = build_architecture(architecture, deploy=True, **kwargs)
    state = trainable.state_dict()
    target = deploy.state_dict()
    left = [k for k in state if k not in target]
    unexplained = [k for k in left if not k.startswith(_THRESHOLD_BRANCH)]
    absent = [k for k in target if k not in state]
    if unexplained or absent:
        raise WeightsMismatchError(
            f"{architecture}: the re-parameterised trainable form does not match the deploy form "
            f"(only in trainable: {unexplained[:4]}, only in deploy: {absent[:4]})"
        )
    deploy.load_state_dict({k: state[k] for k in target}, strict=True)
    return deploy.eval(), left


def load_trained_checkpoint(
    architecture: str,
    tensors: Mapping[str, np.ndarray],
    *,
    submodel: str | None = None,
    source: str = "checkpoint",
    **kwargs: Any,
) -> tuple[nn.Module, CheckpointReport]:
    """The deploy module of `architecture` (built with `kwargs`) holding a trained Paddle checkpoint.

    `tensors` is `{paddle key: array}` as `ptocr.formats.read_pdparams` returns it. Distillation files give
    `submodel` (default `Student`). The trainable form is built (`deploy=False`, and `with_threshold=True`
    when the file holds a DB threshold branch), loaded strictly after `RULES`, re-parameterised, and copied
    into the deploy form. Raises WeightsMismatchError naming the first mismatching tensor.
    """
    selected, chosen, names = select_submodel(tensors, submodel, source)
    options = dict(kwargs)
    if any(key.startswith(_THRESHOLD_BRANCH) for key in selected):
        options["with_threshold"] = True
    try:
        trainable = build_architecture(architecture, deploy=False, **options)
    except TypeError as exc:
        if "with_threshold" in options:
            raise WeightsMismatchError(
                f"{source}: the file holds a DB threshold branch (head.thresh.*) but {architecture} has none"
            ) from None
        raise WeightsMismatchError(f"{source}: cannot build {architecture} with {kwargs}: {exc}") from None
    mapping = paddle_to_torch(selected, trainable)
    load_checkpoint_state(trainable, mapping.state_dict, source=source, origin=mapping.paddle_keys)
    deploy, left = to_deploy(trainable, architecture, **kwargs)
    prefix = f"{chosen}." if chosen else ""
    dropped = [DroppedTensor(prefix + d.key, d.rule) for d in mapping.dropped]
    dropped += [
        DroppedTensor(prefix + mapping.paddle_keys[key], "db-threshold-branch")
        for key in left
        if key in mapping.paddle_keys  # not the BatchNorm step counters
    ]
    return deploy, CheckpointReport(source, architecture, chosen, names, tuple(dropped))
