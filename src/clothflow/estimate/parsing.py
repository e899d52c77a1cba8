"""A photo's human parsing from the trained parser (:class:`~clothflow.models.parser.HumanParser`).

Where a user brings no parsing, the parser shipped in the package (``DEFAULT_MODELS["parser"]``)
makes one; without it, :func:`clothflow.estimate.prepare.prepare_image` falls back to the
coarse layout drawn from the pose, which knows nothing about clothing.

Example:
    >>> import numpy as np
    >>> from clothflow.models.parser import HumanParser, ParserConfig
    >>> parser = HumanParser(ParserConfig(size=(64, 48), base_channels=4, depth=3))
    >>> parse_photo(parser, np.zeros((100, 80, 3), np.uint8)).shape
    (100, 80)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from clothflow.core.images import image_tensor
from clothflow.core.pretrained import resolve_model, shipped_default
from clothflow.models.parser import HumanParser


def parse_photo(parser: HumanParser, image: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 RGB photo -> H x W uint8 LIP ids."""
    with torch.inference_mode():
        return parser.parse(image_tensor(np.ascontiguousarray(image)).unsqueeze(0))[0].numpy().astype(np.uint8)


def load_parser(model: str | Path | None = None) -> HumanParser | None:
    """The parser named by ``model`` (a folder or a shipped name); None given: the shipped one, if any.

    Raises:
        ClothflowError: ``model`` names no parser folder.
    """
    if model is None:
        model = shipped_default("parser")
        if model is None:
            return None
    return HumanParser.from_pretrained(resolve_model(model))


def parse_framed(parser: HumanParser, image: np.ndarray) -> np.ndarray:
    """:func:`parse_photo` with the photo framed to the parser's aspect first, not stretched.

    The photo is scaled to the parser's height and centre-cropped or padded (border replicated)
    to its width, as datasets frame photos (:func:`clothflow.data.formats.images.fit_to_size`);
    the parsing is mapped back to the photo's pixels (columns cropped away are background).

    Args:
        parser: the human parser.
        image: H x W x 3 uint8 RGB, any size.

    Returns:
        H x W uint8 LIP ids.

    Example:
        >>> from clothflow.models.parser import ParserConfig
        >>> parser = HumanParser(ParserConfig(size=(64, 48), base_channels=4, depth=3))
        >>> parse_framed(parser, np.zeros((90, 90, 3), np.uint8)).shape
        (90, 90)
    """
    import cv2

    from clothflow.data.formats.images import fit_to_size

    h, w = image.shape[:2]
    ph, pw = parser.config.size
    framed = fit_to_size(image, (ph, pw))
    labels = parse_photo(parser, framed)
    scaled_w = max(int(round(w * ph / h)), 1)
    if scaled_w >= pw:  # cropped: put the parsing back in the middle of the scaled photo's width
        left = (scaled_w - pw) // 2
        full = np.zeros((ph, scaled_w), np.uint8)
        full[:, left:left + pw] = labels
    else:  # padded: drop the padding
        left = (pw - scaled_w) // 2
        full = labels[:, left:left + scaled_w]
    return cv2.resize(full, (w, h), interpolation=cv2.INTER_NEAREST)
