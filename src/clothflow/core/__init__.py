"""The bottom layer: what every other package may use, importing no other clothflow package.

- :mod:`.errors`: :class:`ClothflowError`, raised for bad user input;
- :mod:`.files`: atomic writes; :mod:`.config`: dotted ``--set`` overrides on dataclass configs;
- :mod:`.images`: image arrays <-> tensors of the data contract;
- :mod:`.ops`: pure tensor functions (labels, pose heatmaps, agnostic person, warping, SSIM).

Imports: only the standard library, torch, numpy and the like; never ``clothflow.data`` or above.
"""
