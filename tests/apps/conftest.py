"""Fixtures of the app tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def _save_screenshot(page, out: Path) -> None:
    """A full-page screenshot of a Playwright page as a small palette PNG, 1000 px wide (the README's)."""
    from PIL import Image

    raw = out.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=True)
    with Image.open(raw) as im:
        im = im.convert("RGB")
        if im.width != 1000:
            im = im.resize((1000, round(im.height * 1000 / im.width)), Image.LANCZOS)
        im.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    raw.unlink()


@pytest.fixture
def save_screenshot():
    """``save_screenshot(page, out)``: the browser tests' README screenshots."""
    return _save_screenshot
