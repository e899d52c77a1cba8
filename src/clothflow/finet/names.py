"""Names shared by the inpainting modules and the command line (no heavy imports here).

Example:
    >>> FINET_VARIANTS[0], GARMENT_REGIONS
    ('finet', ('upper', 'lower', 'dress'))
"""

from __future__ import annotations

# FiNet's model variants (``--variant`` of ``clothflow train --task inpaint``); ClothFlow's
# ablations are :data:`clothflow.models.variants.ABLATIONS`.
FINET_VARIANTS: tuple[str, ...] = ("finet", "no_two_stage", "no_compat", "pix2pix_noise")
# The garment regions an outfit can have erased.
GARMENT_REGIONS: tuple[str, ...] = ("upper", "lower", "dress")
