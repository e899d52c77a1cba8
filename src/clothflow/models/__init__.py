"""The networks: one file per stage (layout, flow, render, tps), shared blocks, VGG features,
the configuration and presets, the paper's ablations, and the composed pipeline.

Imports: ``clothflow.core`` and ``clothflow.data``; never training, evaluation, deploy or apps.
"""
