"""Deployment: ONNX export and an ONNX Runtime pipeline, int8 quantisation, ``torch.compile``.

``onnx`` and ``onnxruntime`` (the ``[onnx]`` extra) are imported inside the functions that need them.

Imports: ``clothflow.core``, ``clothflow.data`` and ``clothflow.models``.
"""
