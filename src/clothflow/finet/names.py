"""Names shared by the inpainting modules and the command line (no heavy imports here)."""

from __future__ import annotations

VARIANTS: tuple[str, ...] = ("finet", "no_two_stage", "no_compat", "pix2pix_noise")
REGIONS: tuple[str, ...] = ("upper", "lower", "dress")
