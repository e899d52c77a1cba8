"""Evaluation: image, flow and layout metrics, FID/IS/LPIPS from published weights,
non-learned baselines, grids to look at, and the ``clothflow evaluate`` report.

Imports: ``clothflow.core``, ``clothflow.data`` and ``clothflow.models``; never training or apps.
"""
