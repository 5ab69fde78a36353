"""CTC text recognisers: backbone → sequence neck → CTC head, returning N×T×C probabilities."""

from __future__ import annotations

from torch import nn

from .base import TaskModel
from .heads import CTCHead, GuidedCTCHead
from .lightsvtr import LightSVTREncoder
from .mobilenetv1_enhance import MobileNetV1Enhance
from .mobilenetv3 import MobileNetV3, small_config
from .pphgnet import pphgnet_small
from .pphgnetv2 import pphgnetv2_b4
from .pplcnetv3 import PPLCNetV3
from .pplcnetv4 import PPLCNetV4
from .registry import register_architecture
from .resnet_vd import ResNetVd
from .sequence import FluidCRNNEncoder, Im2Seq, SequenceEncoder
from .svtr import SVTREncoder


class CTCRecognizer(TaskModel):
    """CTC recogniser: backbone → sequence neck → CTC head, returning N×T×C probabilities."""

    task = "rec"
    example_input_shape = (1, 3, 48, 64)


def _ctc_recognizer(backbone: nn.Module, neck: nn.Module, num_classes: int) -> CTCRecognizer:
    return CTCRecognizer(backbone, neck, CTCHead(neck.out_channels, num_classes))


def _mobilenetv3_crnn(strides: tuple[int, int, int, int], fluid: bool, num_classes: int) -> CTCRecognizer:
    """MobileNetV3-small ×0.5 (rec strides) + a hidden-48 LSTM neck + CTC: 2.x's BiLSTM, or 1.x's two
    independent fluid LSTM stacks (`fluid`)."""
    backbone = MobileNetV3(small_config(strides), last_channels=576, scale=0.5)
    encoder = FluidCRNNEncoder if fluid else SequenceEncoder
    return _ctc_recognizer(backbone, encoder(backbone.out_channels, hidden_size=48), num_classes)


def _resnet34vd_crnn(fluid: bool, num_classes: int) -> CTCRecognizer:
    """rec ResNet34-vd + a hidden-256 LSTM neck (2.x's BiLSTM or 1.x's fluid stacks) + CTC."""
    backbone = ResNetVd(34, det=False)
    encoder = FluidCRNNEncoder if fluid else SequenceEncoder
    return _ctc_recognizer(backbone, encoder(backbone.out_channels, hidden_size=256), num_classes)


@register_architecture
def rec_pplcnetv3_svtr_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv4 mobile recogniser: PP-LCNetV3 ×0.95 + SVTR neck (dims 120, depth 2, kernel 1×3) + CTC.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference.
    """
    backbone = PPLCNetV3(scale=0.95, det=False, deploy=deploy)
    neck = SVTREncoder(backbone.out_channels, dims=120, depth=2, hidden_dims=120, kernel_size=(1, 3))
    return _ctc_recognizer(backbone, neck, num_classes)


@register_architecture
def rec_pphgnet_svtr_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv4 server recogniser: PPHGNet_small (rec) + SVTR neck (dims 120, depth 2, kernel 1×3) + CTC.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference. PP-HGNet has no
    re-parameterisable layers, so `deploy` changes nothing.
    """
    del deploy
    backbone = pphgnet_small(det=False)
    neck = SVTREncoder(backbone.out_channels, dims=120, depth=2, hidden_dims=120, kernel_size=(1, 3))
    return _ctc_recognizer(backbone, neck, num_classes)


@register_architecture
def rec_pphgnetv2_svtr_ctc(num_classes: int = 18385, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv5 server recogniser: PPHGNetV2_B4 (text_rec) + SVTR neck (dims 120, depth 2, kernel 1×3) + CTC.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference. PPHGNetV2_B4 has neither
    learnable affine blocks nor re-parameterisable layers, so `deploy` changes nothing.
    """
    del deploy
    backbone = pphgnetv2_b4(det=False)
    neck = SVTREncoder(backbone.out_channels, dims=120, depth=2, hidden_dims=120, kernel_size=(1, 3))
    return _ctc_recognizer(backbone, neck, num_classes)


@register_architecture
def rec_mobilenetv3_bilstm_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCR v2.0 mobile recogniser (Chinese and every multilingual v2.0 model): MobileNetV3-small ×0.5
    (vertical strides 1, 2, 2, 2) + 2-layer BiLSTM (hidden 48) + CTC. Input height 32.
    """
    del deploy  # no re-parameterisable layers
    return _mobilenetv3_crnn((1, 2, 2, 2), fluid=False, num_classes=num_classes)


@register_architecture
def rec_mobilenetv3_fluidlstm_ctc_v1(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """ch_ppocr_mobile_v1.1 recogniser (and the v1.1 multilingual ones): v2.0's MobileNetV3-small ×0.5
    backbone, then PaddleOCR 1.x's CRNN encoder (two independent LSTM stacks, hidden 48) and a CTC head
    whose blank is the last class. Input height 32.
    """
    del deploy  # no re-parameterisable layers
    return _mobilenetv3_crnn((1, 2, 2, 2), fluid=True, num_classes=num_classes)


@register_architecture
def rec_mobilenetv3_fluidlstm_ctc_v1_0(num_classes: int = 6624, deploy: bool = False) -> CTCRecognizer:
    """PaddleOCR 1.0's ch_rec_mv3_crnn(_enhance): as the v1.1 recogniser, but the backbone's first unit also
    strides vertically (strides 2, 2, 2, 2), so its final 2×2 max pool meets a one-row map (Paddle keeps
    that row: `PaddleMaxPool2d`). 6624 classes, or 6625 with the space (`_enhance`); blank last.
    """
    del deploy  # no re-parameterisable layers
    return _mobilenetv3_crnn((2, 2, 2, 2), fluid=True, num_classes=num_classes)


@register_architecture
def rec_resnet34vd_bilstm_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCR v2.0 server recogniser: rec ResNet34-vd + 2-layer BiLSTM (hidden 256) + CTC. Input height 32."""
    del deploy
    return _resnet34vd_crnn(fluid=False, num_classes=num_classes)


@register_architecture
def rec_resnet34vd_fluidlstm_ctc_v1(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """ch_ppocr_server_v1.1 / v1.0 ch_rec_r34_vd_crnn(_enhance) recogniser: v2.0's rec ResNet34-vd, then
    PaddleOCR 1.x's CRNN encoder (two independent LSTM stacks, hidden 256) and a blank-last CTC head."""
    del deploy
    return _resnet34vd_crnn(fluid=True, num_classes=num_classes)


@register_architecture
def rec_mobilenetv1enhance_bilstm_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv2 recogniser: MobileNetV1Enhance ×0.5 + 2-layer BiLSTM (hidden 64) + two-layer CTC head
    (mid 96). Input height 32.
    """
    del deploy
    backbone = MobileNetV1Enhance(scale=0.5)
    neck = SequenceEncoder(backbone.out_channels, hidden_size=64)
    return CTCRecognizer(backbone, neck, CTCHead(neck.out_channels, num_classes, mid_channels=96))


@register_architecture
def rec_mobilenetv1enhance_svtr_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv3 recogniser (Chinese, English, multilingual): MobileNetV1Enhance ×0.5 (last conv stride 1×2,
    2×2 average pool) + SVTR neck (dims 64, depth 2, hidden 120, kernel 3×3) + CTC. Input height 48.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference.
    """
    del deploy
    backbone = MobileNetV1Enhance(scale=0.5, last_conv_stride=(1, 2), last_pool_type="avg")
    neck = SVTREncoder(backbone.out_channels, dims=64, depth=2, hidden_dims=120, kernel_size=(3, 3))
    return _ctc_recognizer(backbone, neck, num_classes)


def _pplcnetv4_lightsvtr(size: str, dims: int, mlp_ratio: float, num_classes: int, deploy: bool) -> CTCRecognizer:
    backbone = PPLCNetV4(size, det=False, deploy=deploy)
    assert isinstance(backbone.out_channels, int)  # a rec backbone has one output
    neck = LightSVTREncoder(backbone.out_channels, dims=dims, depth=2, mlp_ratio=mlp_ratio, local_kernel=7)
    return _ctc_recognizer(backbone, neck, num_classes)


@register_architecture
def rec_pplcnetv4_tiny_guided_ctc(num_classes: int = 6906, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv6 tiny recogniser: PP-LCNetV4 tiny (rec) + no neck (the map as a sequence) + a CTC head with
    the tiny guide (depthwise k5 and pointwise 1-D convs, BN + hard swish each) and two linear layers (mid 80).
    Input height 48.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference.
    """
    backbone = PPLCNetV4("tiny", det=False, deploy=deploy)
    assert isinstance(backbone.out_channels, int)  # a rec backbone has one output
    head = GuidedCTCHead(backbone.out_channels, num_classes, mid_channels=80)
    return CTCRecognizer(backbone, Im2Seq(), head)


@register_architecture
def rec_pplcnetv4_small_lightsvtr_ctc(num_classes: int = 18710, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv6 small recogniser: PP-LCNetV4 small (rec, 384 channels) + LightSVTR neck (dims 120, depth 2,
    MLP ratio 2, 1×7 local conv) + CTC. Input height 48.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference.
    """
    return _pplcnetv4_lightsvtr("small", dims=120, mlp_ratio=2.0, num_classes=num_classes, deploy=deploy)


@register_architecture
def rec_pplcnetv4_medium_lightsvtr_ctc(num_classes: int = 18710, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv6 medium recogniser: PP-LCNetV4 medium (rec, 768 channels) + LightSVTR neck (dims 192, depth 2,
    MLP ratio 4, 1×7 local conv) + CTC. Input height 48.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference.
    """
    return _pplcnetv4_lightsvtr("medium", dims=192, mlp_ratio=4.0, num_classes=num_classes, deploy=deploy)
