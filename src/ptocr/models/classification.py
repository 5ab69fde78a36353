"""Text-angle classifiers: backbone → pooled linear head, returning N×classes probabilities."""

from __future__ import annotations

from torch import nn

from .base import TaskModel
from .heads import ClsHead
from .mobilenetv3 import MobileNetV3, small_config
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
