"""Weights: the safetensors + JSON format, and converters for published weights."""
from .assign import ConversionError
from .format import (NETWORK_COLOR_SPACE, WeightsError, WeightsInfo, default_weights_path,
                     load_weights, read_info, save_weights)
from .report import ConversionReport
from .rvm_onnx import convert_rvm_onnx
from .torchvision import convert_torchvision

__all__ = ["ConversionError", "ConversionReport", "NETWORK_COLOR_SPACE", "WeightsError",
           "WeightsInfo", "convert_rvm_onnx", "convert_torchvision", "default_weights_path",
           "load_weights", "read_info", "save_weights"]
