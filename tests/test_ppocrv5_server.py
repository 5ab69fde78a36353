"""PP-OCRv5 server detector and recogniser (PPHGNetV2_B4) and PaddleX's text-line orientation classifiers
(PP-LCNet ×0.25 / ×1.0).

No weights of these models can be fetched here, so the checks run on random weights:
- the parameter list PaddleOCR's / PaddleClas's layer code builds (state-dict names and shapes, in the order the
  inference program consumes them), written below from that code and independently of ptocr's modules, maps
  strictly by structure onto each module, every tensor onto the layer of the same name;
- each module exported by torch's ONNX exporter and read back through ptocr's ONNX reader fills a fresh module by
  structure, which then computes what onnxruntime computes on the file;
- outputs have the shapes and ranges the pipeline reads.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from ptocr.errors import WeightsMismatchError
from ptocr.formats.onnx_reader import onnx_weights_from_bytes
from ptocr.models import build_architecture, load_by_structure
from ptocr.models.pphgnetv2 import same_max_pool_2x2
from ptocr.zoo import PIR_FILES, LinePreprocessing, OfficialArchive, get_record

Spec = list[tuple[str, tuple[int, ...]]]

DET = "det_pphgnetv2_lkpan_pfhead"
REC = "rec_pphgnetv2_svtr_ctc"
CLS_025 = "cls_pplcnet_x0_25"
CLS_100 = "cls_pplcnet_x1_0"
V5_CLASSES = 18385  # blank + 18 383 entries of ppocrv5_dict.txt + space

# --- the Paddle parameter lists ------------------------------------------------------------------------------

_BN = ("weight", "bias", "_mean", "_variance")


def _bn(prefix: str, channels: int) -> Spec:
    return [(f"{prefix}.{s}", (channels,)) for s in _BN]


def _conv(prefix: str, cin: int, cout: int, k: int | tuple[int, int], groups: int = 1, bias: bool = False) -> Spec:
    kh, kw = (k, k) if isinstance(k, int) else k
    return [(f"{prefix}.weight", (cout, cin // groups, kh, kw))] + ([(f"{prefix}.bias", (cout,))] if bias else [])


def _conv_bn(prefix: str, cin: int, cout: int, k: int | tuple[int, int], groups: int = 1, norm: str = "bn") -> Spec:
    return _conv(f"{prefix}.conv", cin, cout, k, groups) + _bn(f"{prefix}.{norm}", cout)


def _linear(prefix: str, cin: int, cout: int) -> Spec:
    return [(f"{prefix}.weight", (cin, cout)), (f"{prefix}.bias", (cout,))]  # Paddle stores [in, out]


# PaddleOCR's `PPHGNetV2_B4` stage tables: in, mid, out, blocks, downsample, light block, kernel, layers.
_B4_DET = [
    (48, 48, 128, 1, False, False, 3, 6),
    (128, 96, 512, 1, True, False, 3, 6),
    (512, 192, 1024, 3, True, True, 5, 6),
    (1024, 384, 2048, 1, True, True, 5, 6),
]
_B4_REC = [(48, 48, 128, 1, True, False, 3, 6), *_B4_DET[1:]]


def _hgnetv2_b4(det: bool) -> Spec:
    stem = "backbone.stem"
    spec = (
        _conv_bn(f"{stem}.stem1", 3, 32, 3)
        + _conv_bn(f"{stem}.stem2a", 32, 16, 2)
        + _conv_bn(f"{stem}.stem2b", 16, 32, 2)
        + _conv_bn(f"{stem}.stem3", 64, 32, 3)  # the max-pool branch (32) beside stem2b's output (32)
        + _conv_bn(f"{stem}.stem4", 32, 48, 1)
    )
    for i, (cin, mid, out, blocks, downsample, light, k, layers) in enumerate(_B4_DET if det else _B4_REC):
        stage = f"backbone.stages.{i}"
        if downsample:
            spec += _conv_bn(f"{stage}.downsample", cin, cin, 3, groups=cin)
        for b in range(blocks):
            block, width = f"{stage}.blocks.{b}", cin if b == 0 else out
            for j in range(layers):
                layer, layer_in = f"{block}.layers.{j}", width if j == 0 else mid
                if light:
                    spec += _conv_bn(f"{layer}.conv1", layer_in, mid, 1) + _conv_bn(f"{layer}.conv2", mid, mid, k, mid)
                else:
                    spec += _conv_bn(layer, layer_in, mid, k)
            spec += _conv_bn(f"{block}.aggregation_squeeze_conv", width + layers * mid, out // 2, 1)
            spec += _conv_bn(f"{block}.aggregation_excitation_conv", out // 2, out, 1)
    return spec


def _intracl(prefix: str, channels: int) -> Spec:
    reduced = channels // 2  # reduce_factor 2 in LKPAN
    spec = _conv(f"{prefix}.conv1x1_reduce_channel", channels, reduced, 1, bias=True)
    for k in (7, 5, 3):  # square, vertical, horizontal kernels, summed, three times
        spec += _conv(f"{prefix}.c_layer_{k}x{k}", reduced, reduced, k, bias=True)
        spec += _conv(f"{prefix}.v_layer_{k}x1", reduced, reduced, (k, 1), bias=True)
        spec += _conv(f"{prefix}.q_layer_1x{k}", reduced, reduced, (1, k), bias=True)
    spec += _conv(f"{prefix}.conv1x1_return_channel", reduced, channels, 1, bias=True)
    return spec + _bn(f"{prefix}.bn", channels)


def _det_server() -> Spec:
    """PPHGNetV2_B4 (det) → LKPAN(256, intracl) → PFHeadLocal(k=50, large), in PaddleOCR's forward order."""
    spec = _hgnetv2_b4(det=True)
    levels = (128, 512, 1024, 2048)
    for i in (3, 2, 1, 0):  # lateral 1×1 convs, coarsest first
        spec += _conv(f"neck.ins_conv.{i}", levels[i], 256, 1)
    for i in (3, 2, 1, 0):
        spec += _conv(f"neck.inp_conv.{i}", 256, 64, 9)
    for i in range(3):
        spec += _conv(f"neck.pan_head_conv.{i}", 64, 64, 3)
    for i in range(4):
        spec += _conv(f"neck.pan_lat_conv.{i}", 64, 64, 9)
    for i in (4, 3, 2, 1):
        spec += _intracl(f"neck.incl{i}", 64)
    head = "head.binarize"
    spec += _conv(f"{head}.conv1", 256, 64, 3) + _bn(f"{head}.conv_bn1", 64)
    spec += [(f"{head}.conv2.weight", (64, 64, 2, 2)), (f"{head}.conv2.bias", (64,)), *_bn(f"{head}.conv_bn2", 64)]
    spec += [(f"{head}.conv3.weight", (64, 1, 2, 2)), (f"{head}.conv3.bias", (1,))]
    return spec + _conv_bn("head.cbn_layer.last_3", 65, 64, 3) + _conv("head.cbn_layer.last_1", 64, 1, 1, bias=True)


def _rec_server() -> Spec:
    """PPHGNetV2_B4 (text_rec) → MultiHead's CTC branch: SVTR encoder (dims 120, depth 2, kernel 1×3) → fc."""
    spec = _hgnetv2_b4(det=False)
    neck = "head.ctc_encoder.encoder"
    spec += _conv_bn(f"{neck}.conv1", 2048, 256, (1, 3), norm="norm")
    spec += _conv_bn(f"{neck}.conv2", 256, 120, 1, norm="norm")
    for i in range(2):
        block = f"{neck}.svtr_block.{i}"
        spec += [(f"{block}.norm1.weight", (120,)), (f"{block}.norm1.bias", (120,))]
        spec += _linear(f"{block}.mixer.qkv", 120, 360) + _linear(f"{block}.mixer.proj", 120, 120)
        spec += [(f"{block}.norm2.weight", (120,)), (f"{block}.norm2.bias", (120,))]
        spec += _linear(f"{block}.mlp.fc1", 120, 240) + _linear(f"{block}.mlp.fc2", 240, 120)
    spec += [(f"{neck}.norm.weight", (120,)), (f"{neck}.norm.bias", (120,))]
    spec += _conv_bn(f"{neck}.conv3", 120, 2048, 1, norm="norm")
    spec += _conv_bn(f"{neck}.conv4", 4096, 256, (1, 3), norm="norm")  # the backbone's 2048 beside conv3's
    return spec + _conv_bn(f"{neck}.conv1x1", 256, 120, 1, norm="norm") + _linear("head.ctc_head.fc", 120, V5_CLASSES)


# PaddleClas's PP-LCNet NET_CONFIG: kernel, in, out, SE per block of blocks2 … blocks6.
_LCNET = [
    [(3, 16, 32, False)],
    [(3, 32, 64, False), (3, 64, 64, False)],
    [(3, 64, 128, False), (3, 128, 128, False)],
    [(3, 128, 256, False)] + [(5, 256, 256, False)] * 5,
    [(5, 256, 512, True), (5, 512, 512, True)],
]


def _divisible(value: float) -> int:
    rounded = max(8, int(value + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * value else rounded


def _lcnet_textline(scale: float) -> Spec:
    spec = _conv_bn("conv1", 3, _divisible(16 * scale), 3)
    for stage, rows in enumerate(_LCNET, start=2):
        for j, (k, cin, cout, se) in enumerate(rows):
            block, cin, cout = f"blocks{stage}.{j}", _divisible(cin * scale), _divisible(cout * scale)
            spec += _conv_bn(f"{block}.dw_conv", cin, cin, k, groups=cin)
            if se:
                spec += _conv(f"{block}.se.conv1", cin, cin // 4, 1, bias=True)
                spec += _conv(f"{block}.se.conv2", cin // 4, cin, 1, bias=True)
            spec += _conv_bn(f"{block}.pw_conv", cin, cout, 1)
    return spec + _conv("last_conv", _divisible(512 * scale), 1280, 1) + _linear("fc", 1280, 2)


SPECS: dict[str, Callable[[], Spec]] = {
    DET: _det_server,
    REC: _rec_server,
    CLS_025: lambda: _lcnet_textline(0.25),
    CLS_100: lambda: _lcnet_textline(1.0),
}


def _torch_key(name: str) -> str:
    """ptocr's key for a Paddle state-dict name: BN statistics named as torch names them, the SVTR encoder and CTC
    head of PaddleOCR's MultiHead as neck and head (its conv layers call their BN `norm`), PaddleClas's flat
    network split into backbone and head."""
    name = re.sub(r"\._mean$", ".running_mean", re.sub(r"\._variance$", ".running_var", name))
    name = name.replace("head.ctc_encoder.encoder.", "neck.").replace("head.ctc_head.", "head.")
    name = re.sub(r"^(neck\.conv(?:1|2|3|4|1x1))\.norm\.", r"\1.bn.", name)
    if name.startswith(("conv1.", "blocks")):
        return f"backbone.{name}"
    return f"head.{name}" if name.startswith(("last_conv.", "fc.")) else name


def _random_source(spec: Spec, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape, dtype=np.float32) for name, shape in spec}


@pytest.mark.parametrize("architecture", list(SPECS))
def test_paddle_parameter_list_maps_strictly_onto_the_same_names(architecture: str) -> None:
    spec = SPECS[architecture]()
    source = _random_source(spec, seed=3)
    net = build_architecture(architecture, deploy=True)
    placed = load_by_structure(net, source, torch.zeros(net.example_input_shape))
    assert placed == {name: _torch_key(name) for name, _ in spec}
    linear = {f"{n}.weight" for n, m in net.named_modules() if isinstance(m, nn.Linear)}
    state = net.state_dict()
    for name, key in placed.items():
        expected = source[name].T if key in linear else source[name]
        assert np.array_equal(state[key].numpy(), expected), key


@pytest.mark.parametrize(("spec", "architecture"), [(DET, REC), (CLS_025, CLS_100), (CLS_100, CLS_025)])
def test_a_neighbouring_parameter_list_is_refused(spec: str, architecture: str) -> None:
    net = build_architecture(architecture, deploy=True)
    with pytest.raises(WeightsMismatchError):
        load_by_structure(net, _random_source(SPECS[spec](), seed=4), torch.zeros(net.example_input_shape))


# --- through ONNX --------------------------------------------------------------------------------------------


def _randomise(net: nn.Module, x: torch.Tensor, seed: int) -> None:
    """Random values in every tensor, then each BatchNorm's statistics set from what it sees on `x`, so that every
    layer's activations stay of order one, and the last layer's weights scaled up so that the output is spread (no
    flat softmax, no map near 0.5 everywhere: a comparison on those would prove little)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.5 / max(tensor[0].numel(), 1) ** 0.5)
        last = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
        last.weight.mul_(8.0)

    def calibrate(bn: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        assert isinstance(bn, nn.BatchNorm2d)
        # One variance for the layer: a channel's own, from the few cells of a deep level, can be near zero and
        # would blow float32 rounding up to the size of the comparison's bound.
        bn.running_mean.copy_(inputs[0].mean(dim=(0, 2, 3)))
        bn.running_var.fill_(float(inputs[0].var(dim=(0, 2, 3)).mean()) + 1e-3)
        bn.weight.copy_(0.5 + torch.rand(bn.num_features, generator=generator))
        bn.bias.copy_(0.5 * torch.rand(bn.num_features, generator=generator))

    handles = [m.register_forward_pre_hook(calibrate) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        net(x)
    for handle in handles:
        handle.remove()


def _as_paddle2onnx_writes(model: object) -> None:
    """Rewrites two conventions of torch's exporter that are not the network's into paddle2onnx's, in place: a
    linear layer on a 2-D input becomes `Gemm` with `transB=1` on torch's [out, in] weight (paddle2onnx: Paddle's
    [in, out] weight), and scalar constants (clip bounds, a padding value, the attention scale) get path names
    (paddle2onnx: `p2o.helper.constant.N`)."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph  # type: ignore[attr-defined]
    initializers = {t.name: t for t in graph.initializer}
    for node in graph.node:
        trans_b = next((a for a in node.attribute if a.name == "transB"), None)
        if node.op_type == "Gemm" and trans_b is not None and trans_b.i == 1 and node.input[1] in initializers:
            weight = initializers[node.input[1]]
            weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight).T.copy(), weight.name))
            trans_b.i = 0
    renamed = {}
    for node in graph.node:
        value = next((a.t for a in node.attribute if a.name == "value"), None)
        if node.op_type == "Constant" and value is not None and value.data_type == onnx.TensorProto.FLOAT:
            renamed[node.output[0]] = f"p2o.helper.constant.{len(renamed)}"
            node.output[0] = renamed[node.output[0]]
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)


# Export at one size, compare at another (batch and width change) to catch sizes baked into the graph.
ONNX_SIZES = {
    DET: ((1, 3, 32, 32), (2, 3, 32, 64)),
    REC: ((1, 3, 48, 32), (2, 3, 48, 64)),
    CLS_025: ((1, 3, 80, 160), (3, 3, 80, 160)),
    CLS_100: ((1, 3, 80, 160), (3, 3, 80, 160)),
}


# The module against onnxruntime on the same file, float32 (observed: det 9e-6, rec 6e-5, cls 2e-7).
ONNX_TOLERANCE = {DET: 1e-4, REC: 5e-4, CLS_025: 1e-5, CLS_100: 1e-5}


@pytest.mark.parametrize("architecture", list(ONNX_SIZES))
def test_onnx_export_reads_back_into_a_fresh_module(architecture: str) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import io

    export_shape, shape = ONNX_SIZES[architecture]
    x = torch.rand(shape, generator=torch.Generator().manual_seed(5)) * 2 - 1
    source = build_architecture(architecture, deploy=True)
    _randomise(source, x, seed=6)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing and on PRESERVE mode
        torch.onnx.export(
            source, (torch.zeros(export_shape),), buffer, dynamo=False, opset_version=17, input_names=["x"],
            output_names=["y"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}}, do_constant_folding=True,
            training=torch.onnx.TrainingMode.PRESERVE,  # keep BatchNormalization nodes, as paddle2onnx does
        )  # fmt: skip
    model = onnx.load_from_string(buffer.getvalue())
    _as_paddle2onnx_writes(model)
    data = model.SerializeToString()
    (expected,) = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})

    weights = onnx_weights_from_bytes(data, what=architecture)
    fresh = build_architecture(architecture, deploy=True)
    placed = load_by_structure(fresh, weights, torch.zeros(fresh.example_input_shape))
    state, original = fresh.state_dict(), source.state_dict()
    named = {name: key for name, key in placed.items() if name in state}  # initializers torch kept under their names
    assert len(named) > len(placed) // 2 and all(name == key for name, key in named.items())
    assert all(torch.equal(state[key], original[key]) for key in placed.values())  # every tensor back in its place
    with torch.inference_mode():
        out = fresh(x).numpy()
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= ONNX_TOLERANCE[architecture]
    if architecture == DET:
        assert expected.min() < 0.2 and expected.max() > 0.8 and expected.std() > 0.1
    elif architecture == REC:
        assert expected.max(axis=2).mean() > 0.1


# --- outputs ---------------------------------------------------------------------------------------------------


def test_detector_returns_one_map_at_the_input_size() -> None:
    net = build_architecture(DET, deploy=True)
    with torch.inference_mode():
        features = net.backbone(torch.rand(2, 3, 64, 96))
        out = net.head(net.neck(features))
    assert [tuple(f.shape[1:]) for f in features] == [(128, 16, 24), (512, 8, 12), (1024, 4, 6), (2048, 2, 3)]
    assert out.shape == (2, 1, 64, 96) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_recogniser_gives_one_step_per_eight_columns() -> None:
    net = build_architecture(REC, deploy=True)
    with torch.inference_mode():
        features = net.backbone(torch.rand(2, 3, 48, 160))
        out = net.head(net.neck(features))
    assert features.shape == (2, 2048, 1, 20)
    assert out.shape == (2, 20, V5_CLASSES)
    torch.testing.assert_close(out.sum(-1), torch.ones(2, 20))


@pytest.mark.parametrize(("architecture", "channels"), [(CLS_025, 128), (CLS_100, 512)])
def test_textline_classifier_gives_two_probabilities(architecture: str, channels: int) -> None:
    net = build_architecture(architecture, deploy=True)
    with torch.inference_mode():
        features = net.backbone(torch.rand(3, 3, 80, 160))
        out = net.head(features)
    assert features.shape == (3, channels, 3, 80)  # strides (2, 1) after the stem keep 80 columns
    assert out.shape == (3, 2)
    torch.testing.assert_close(out.sum(-1), torch.ones(3))


def test_same_max_pool_leaves_the_padding_out() -> None:
    x = -1.0 - torch.rand(1, 2, 5, 4, generator=torch.Generator().manual_seed(0))  # all negative: a 0 pad would win
    expected = np.empty(x.shape, np.float32)
    values = x.numpy()
    for i in range(5):
        for j in range(4):
            expected[:, :, i, j] = values[:, :, i : i + 2, j : j + 2].max(axis=(2, 3))
    assert np.array_equal(same_max_pool_2x2(x).numpy(), expected)


def test_textline_head_scales_by_the_dropout_keep_probability() -> None:
    # PaddleClas's Dropout(0.2, mode="downscale_in_infer") multiplies by 0.8 at inference.
    net = build_architecture(CLS_025, deploy=True)
    head = net.head
    features = torch.rand(1, 128, 3, 80)
    with torch.inference_mode():
        hidden = head.act(head.last_conv(features.mean(dim=(2, 3), keepdim=True))).flatten(1)
        expected = torch.softmax(head.fc(0.8 * hidden), dim=1)
        torch.testing.assert_close(head(features), expected)


# --- records -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "architecture", "size"),
    [
        ("PP-OCRv5_server_det", DET, "server"),
        ("PP-OCRv5_server_rec", REC, "server"),
        ("PP-LCNet_x0_25_textline_ori", CLS_025, "mobile"),
        ("PP-LCNet_x1_0_textline_ori", CLS_100, "server"),
    ],
)
def test_records(name: str, architecture: str, size: str) -> None:
    record = get_record(name)
    assert (record.architecture, record.version, record.language, record.size) == (
        architecture, "PP-OCRv5", "ch", size
    )  # fmt: skip
    paddle = record.weights["paddle"]
    assert [f.name for f in paddle.files] == list(PIR_FILES) and paddle.pinned
    archives = [s.url for s in paddle.sources if isinstance(s, OfficialArchive)]
    assert archives == [f"https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0/{name}_infer.tar"]
    if record.task == "rec":
        assert (record.dictionary, record.use_space_char, record.num_classes) == ("ppocrv5_dict.txt", True, V5_CLASSES)
        assert record.preprocessing == LinePreprocessing(image_shape=(3, 48, 320))
    elif record.task == "cls":
        assert record.labels == ("0", "180") and record.num_classes == 2
        assert record.preprocessing == LinePreprocessing(
            image_shape=(3, 80, 160), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
            resize="stretch", channel_order="RGB",
        )  # fmt: skip


def test_line_preprocessing_refuses_unknown_modes() -> None:
    with pytest.raises(ValueError, match="resize"):
        LinePreprocessing((3, 80, 160), resize="crop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel_order"):
        LinePreprocessing((3, 80, 160), channel_order="GRB")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="3 channels"):
        LinePreprocessing((3, 80, 160), mean=(0.5, 0.5))  # type: ignore[arg-type]
