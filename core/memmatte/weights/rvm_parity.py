"""Check that a conversion is exact: our encoder + LR-ASPP against the ONNX graph's own tensor.

The published graph does not output its LR-ASPP features, so the check adds that tensor (the
product of the two LR-ASPP branches) as an extra graph output and runs it with ONNX Runtime.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..model import MemMatte, downsample
from .assign import ConversionError


def lraspp_output_name(graph) -> str:  # graph: onnx.GraphProto
    """The Mul that gates the 1x1 branch with the global-context branch's Sigmoid."""
    by_input: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            by_input.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type == "Conv" and node.input[1] == "aspp.aspp2.1.weight":
            (sig,) = [n for n in by_input[node.output[0]] if n.op_type == "Sigmoid"]
            (mul,) = [n for n in by_input[sig.output[0]] if n.op_type == "Mul"]
            return str(mul.output[0])
    raise ConversionError("the graph has no 'aspp.aspp2.1.weight' convolution")


def onnx_lraspp(onnx_path: Path, src: np.ndarray, ratio: float) -> np.ndarray:
    """Run the published graph on src (1, 3, H, W) float32 and return its LR-ASPP tensor."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(onnx_path))
    name = lraspp_output_name(model.graph)
    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    zero = np.zeros((1, 1, 1, 1), np.float32)
    feeds = {"src": src, "r1i": zero, "r2i": zero, "r3i": zero, "r4i": zero,
             "downsample_ratio": np.array([ratio], np.float32)}
    return session.run([name], feeds)[0]


def lraspp_max_difference(model: MemMatte, onnx_path: Path, src: np.ndarray, ratio: float
                          ) -> float:
    """Max |ours - published| of the 1/16 LR-ASPP features on ``src`` (1, 3, H, W) in [0, 1]."""
    reference = onnx_lraspp(onnx_path, src, ratio)
    with torch.no_grad():
        x = downsample(torch.from_numpy(src), ratio)
        ours = model.aspp(model.backbone(x).f4).numpy()
    if ours.shape != reference.shape:
        raise ConversionError(f"LR-ASPP shapes differ: ours {ours.shape}, "
                              f"published {reference.shape}")
    return float(np.abs(ours - reference).max())
