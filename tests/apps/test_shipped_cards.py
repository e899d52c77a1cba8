"""Each shipped model still scores what its card says: ``clothflow evaluate`` on its 16 check pairs.

``scripts/ship_model.py --check-data ...`` wrote ``check.json`` when the model was shipped; this
reruns the same command on the installed weights. Models checked on VITON pairs skip without
the dataset.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from clothflow.apps.cli import main
from clothflow.core.pretrained import shipped_models

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ship_model.py"
CHECKED = sorted(name for name, folder in shipped_models().items() if (folder / "check.json").is_file())


def _ship_model():
    spec = importlib.util.spec_from_file_location("ship_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _close(got, want, path: str = "") -> list[str]:
    """Where ``got`` differs from ``want`` by more than 0.002 (relative for values above 1)."""
    if isinstance(want, dict):
        return [d for k in want for d in _close(got.get(k), want[k], f"{path}.{k}")]
    if got is None or abs(got - want) > 0.002 * max(1.0, abs(want)):
        return [f"{path}: {got} against the card's {want}"]
    return []


def test_every_shipped_model_has_a_card_and_a_check():
    for name, folder in shipped_models().items():
        assert (folder / "card.md").is_file(), f"{name} has no card"
        # without check.json the test below would pass over the model without a word
        assert (folder / "check.json").is_file(), (
            f"{name} has no check.json: python scripts/ship_model.py {name} --check-only --check-data ...")


@pytest.mark.parametrize("name", CHECKED)
def test_shipped_model_scores_what_its_card_says(name, tmp_path, request):
    ship = _ship_model()
    check = json.loads((shipped_models()[name] / "check.json").read_text())
    viton = None
    if check["data"] != "synthetic":
        viton = request.getfixturevalue("viton_root")
    assert main(ship.evaluate_argv(Path(name), check, viton, tmp_path)) in (0, None)
    got = ship.read_check(tmp_path / "report")
    assert not _close(got, check["metrics"]), _close(got, check["metrics"])


def test_cards_quote_their_checks_by_one_protocol():
    """A card's headings name no working folder, and its check's SSIM is the papers' (the figure check.json holds)."""
    for name, folder in shipped_models().items():
        card = (folder / "card.md").read_text()
        headings = [line for line in card.splitlines() if line.startswith("## ")]
        assert not [h for h in headings if "/" in h], (name, headings)
        assert '"final_ssim"' not in card, name  # the training metric is not quoted as a score
        if (folder / "check.json").is_file():
            metrics = json.loads((folder / "check.json").read_text())["metrics"]
            quoted = f"{metrics['ssim']}" if "ssim" in metrics else f"{metrics['miou']}"
            assert quoted in card.split("## check:")[1], name


def test_the_real_tryon_card_gives_the_readmes_ssim():
    card = (shipped_models()["tryon-viton-256"] / "card.md").read_text()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| VITON's 2,032"))
    assert "0.8275" in row and "| VITON's 2,032 (`test_pairs_same.txt`) | 0.8275 |" in card
    assert "scikit-image" in card.split("## Scores")[1].split("##")[0]
