"""clothflow: clothed-person generation with appearance flow (ClothFlow, ICCV 2019)."""

__version__ = "0.1.0"
