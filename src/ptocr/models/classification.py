"""Text-angle classifiers: backbone → pooled linear head, returning N×classes probabilities."""

from __future__ import annotations

from torch import nn

from .base import TaskModel
from .heads import ClsHead
from .mobilenetv3 import MobileNetV3, small_config
from .pplcnet import pplcnet_textline
from .registry import register_architecture


class AngleClassifier(TaskModel):
    """Angle classifier: backbone → pooled linear head (no neck), returning N×classes probabilities."""

    task = "cls"
    example_input_shape = (1, 3, 48, 192)


@register_architecture
def cls_mobilenetv3_small_x035(num_classes: int = 2, deploy: bool = False) -> AngleClassifier:
    """PaddleOCR v2.0 mobile angle classifier: MobileNetV3-small ×0.35 + ClsHead."""
    del deploy  # no re-parameterisable layers
    backbone = MobileNetV3(small_config(), last_channels=576, scale=0.35)
    return AngleClassifier(backbone, nn.Identity(), ClsHead(backbone.out_channels, num_classes))


class TextlineOrientationClassifier(AngleClassifier):
    """PaddleX's text-line orientation classifier: PP-LCNet on lines stretched to 80×160 (no neck)."""

    example_input_shape = (1, 3, 80, 160)


def _textline_classifier(scale: float, num_classes: int) -> TextlineOrientationClassifier:
    backbone, head = pplcnet_textline(scale, num_classes)
    return TextlineOrientationClassifier(backbone, nn.Identity(), head)


@register_architecture
def cls_pplcnet_x0_25(num_classes: int = 2, deploy: bool = False) -> TextlineOrientationClassifier:
    """PP-LCNet_x0_25_textline_ori (PaddleOCR 3.x's default): PP-LCNet ×0.25, vertical strides, 1280-wide tail."""
    del deploy  # no re-parameterisable layers
    return _textline_classifier(0.25, num_classes)


@register_architecture
def cls_pplcnet_x1_0(num_classes: int = 2, deploy: bool = False) -> TextlineOrientationClassifier:
    """PP-LCNet_x1_0_textline_ori: PP-LCNet ×1.0, vertical strides, 1280-wide tail."""
    del deploy  # no re-parameterisable layers
    return _textline_classifier(1.0, num_classes)
