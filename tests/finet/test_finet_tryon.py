"""Try-on with FiNet: `clothflow inpaint --garment / --garment-synthetic`, the garment mask and placement."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from clothflow.apps.cli import main
from clothflow.core.errors import ClothflowError
from clothflow.finet.config import FinetConfig
from clothflow.finet.data import HELD_OUT_SEED, outfit_item
from clothflow.core.ops.garment_mask import mask_from_white
from clothflow.finet.garment import place_in_box, read_garment, target_garment
from clothflow.finet.infer import synthetic_batch, tryon
from clothflow.finet.models import FinetModel

torch.set_num_threads(1)
TINY = dict(base_channels=4, depth=2, z_dim=4, encoder_channels=4)
SIZE = (64, 44)


def _outfits(kind: str, count: int) -> list[int]:
    """Held-out outfit indices that wear an upper garment ("upper") or a dress ("dress")."""
    found = []
    for i in range(60):
        try:
            outfit_item(HELD_OUT_SEED, i, SIZE, kind)
        except ClothflowError:
            continue
        found.append(i)
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} held-out outfits with a {kind}")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """An untrained tiny model saved as a run (seeded weights).

    Untrained encoders barely tell garments apart (their codes differ by ~1e-3, below one grey
    level in the output); their heads are scaled up so that, as in a trained model, another
    garment gives another code.
    """
    torch.manual_seed(0)
    model = FinetModel(FinetConfig(**TINY))
    with torch.no_grad():
        for encoder in (model.shape_encoder, model.appearance_encoder):
            encoder.head.weight.mul_(30)
    path = tmp_path_factory.mktemp("run")
    model.save_pretrained(path)
    return path


def _shirt(path, colour, size=(200, 150)) -> np.ndarray:
    """A coloured garment shape on white with a white print inside and a grey speck apart;
    writes the PNG and returns the shape's mask (print included, speck excluded)."""
    img = np.full((*size, 3), 250, np.uint8)
    pts = np.array([[45, 30], [105, 30], [140, 70], [120, 85], [110, 75], [110, 180], [40, 180], [40, 75], [30, 85], [10, 70]], np.int32)
    cv2.fillPoly(img, [pts], colour)
    truth = np.zeros(size, np.uint8)
    cv2.fillPoly(truth, [pts], 1)
    cv2.circle(img, (75, 110), 12, (255, 255, 255), -1)  # a white print on the chest
    img[188:192, 5:9] = 120  # a speck of dirt apart from the garment
    Image.fromarray(img).save(path)
    return truth > 0


def test_mask_from_white_is_the_shape_with_its_print_and_without_specks(tmp_path):
    truth = _shirt(tmp_path / "g.png", (30, 60, 170))
    rgb, mask = read_garment(tmp_path / "g.png")
    assert rgb.shape == (200, 150, 3) and mask.dtype == bool
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.95, iou
    assert mask[110, 75] and not mask[190, 7]  # the print is inside, the speck is dropped
    assert not mask_from_white(np.full((20, 20, 3), 245, np.uint8)).any()


def test_in_shop_garment_is_placed_inside_the_erased_box_with_its_aspect():
    truth = np.zeros((200, 150), bool)
    truth[20:180, 30:110] = True  # 160 x 80: twice as tall as wide
    rgb = np.full((200, 150, 3), 255, np.uint8)
    rgb[truth] = (200, 30, 30)
    box = torch.zeros(1, *SIZE)
    box[0, 10:40, 5:40] = 1  # 30 x 35
    image, mask = place_in_box(rgb, truth, box)
    assert image.shape == (1, 3, *SIZE) and mask.shape == (1, 1, *SIZE)
    ys, xs = torch.nonzero(mask[0, 0], as_tuple=True)
    assert (ys.min(), ys.max() + 1) == (10, 40)  # fills the box's height from its top
    assert xs.max() + 1 - xs.min() == 15 and xs.min() >= 5 and xs.max() < 40  # aspect kept, centred across
    assert torch.allclose(image[0, :, 20, 22], torch.tensor([200, 30, 30]) / 127.5 - 1)
    assert (image[0][:, mask[0, 0] == 0] == 1).all()  # white off the garment


def test_a_different_garment_changes_the_region_and_nothing_else(run, tmp_path):
    model = FinetModel.from_pretrained(run)
    batch = synthetic_batch(_outfits("upper", 1)[0], "upper", SIZE)
    _shirt(tmp_path / "blue.png", (30, 60, 170))
    _shirt(tmp_path / "yellow.png", (250, 210, 50))
    outs = [tryon(model, batch, *target_garment(batch, tmp_path / name)) for name in ("blue.png", "yellow.png")]
    inside = batch["mask"].expand_as(batch["image"]) > 0.5
    assert torch.equal(outs[0].image[~inside], outs[1].image[~inside])
    assert torch.equal(outs[0].image[~inside], batch["image"][~inside])  # the person is kept outside the box
    assert (outs[0].image[inside] - outs[1].image[inside]).abs().mean() > 3e-3
    again = tryon(model, batch, *target_garment(batch, tmp_path / "blue.png"))
    assert torch.equal(again.image, outs[0].image)  # deterministic


def test_cli_garment_synthetic_writes_tryon_and_grid_at_the_model_size(run, tmp_path, capsys):
    person, donor = _outfits("upper", 2)
    out = tmp_path / "out"
    assert main(["inpaint", "--model", str(run), "--synthetic", str(person), "--erase", "upper",
                 "--garment-synthetic", str(donor), "--samples", "5", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "tryon.png"]
    printed = capsys.readouterr().out
    assert str(out / "tryon.png") in printed and str(out / "grid.png") in printed
    assert Image.open(out / "tryon.png").size == (SIZE[1], SIZE[0])
    cell = 44 * 2  # grid cells are enlarged to 88 px wide
    assert Image.open(out / "grid.png").size == (4 * cell, 18 + 2 * 2 * SIZE[0])  # 4 columns, images over layouts
    shirt = tmp_path / "shirt.png"
    _shirt(shirt, (30, 60, 170))
    out2 = tmp_path / "out2"
    assert main(["inpaint", "--model", str(run), "--synthetic", str(person), "--erase", "upper",
                 "--garment", str(shirt), "--out", str(out2)]) == 0
    a, b = (np.asarray(Image.open(d / "tryon.png")) for d in (out, out2))
    box = synthetic_batch(person, "upper", SIZE)["mask"][0, 0].numpy() > 0.5
    assert (a[~box] == b[~box]).all()
    assert (a[box] != b[box]).any(-1).mean() > 0.2  # the blue shirt changes the box


def test_errors_name_the_file(run, tmp_path, capsys):
    with pytest.raises(ClothflowError, match="not found") as exc:
        read_garment(tmp_path / "missing.png")
    assert exc.value.path == tmp_path / "missing.png"
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(ClothflowError) as exc:
        read_garment(tmp_path / "junk.png")
    assert exc.value.path == tmp_path / "junk.png"
    Image.fromarray(np.full((40, 30, 3), 252, np.uint8)).save(tmp_path / "white.png")
    with pytest.raises(ClothflowError, match="no garment found") as exc:
        read_garment(tmp_path / "white.png")
    assert exc.value.path == tmp_path / "white.png"
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(tmp_path / "empty_mask.png")
    with pytest.raises(ClothflowError, match="empty") as exc:
        read_garment(tmp_path / "white.png", tmp_path / "empty_mask.png")
    assert exc.value.path == tmp_path / "empty_mask.png"
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(tmp_path / "small_mask.png")
    with pytest.raises(ClothflowError, match="10x10") as exc:
        read_garment(tmp_path / "white.png", tmp_path / "small_mask.png")
    assert exc.value.path == tmp_path / "small_mask.png"

    person, dress = _outfits("upper", 1)[0], _outfits("dress", 1)[0]
    base = ["inpaint", "--model", str(run), "--synthetic", str(person), "--erase", "upper", "--out", str(tmp_path / "o")]
    capsys.readouterr()
    for extra, words in (
        (["--garment", str(tmp_path / "missing.png")], ["missing.png", "not found"]),
        (["--garment", str(tmp_path / "white.png")], ["white.png", "no garment found"]),
        (["--garment", str(tmp_path / "white.png"), "--garment-mask", str(tmp_path / "nomask.png")], ["nomask.png", "not found"]),
        (["--garment", str(tmp_path / "white.png"), "--garment-synthetic", str(person)], ["not both"]),
        (["--garment-mask", str(tmp_path / "empty_mask.png")], ["--garment-mask goes with --garment"]),
        (["--garment-synthetic", str(dress)], [f"--garment-synthetic {dress}", "no upper garment"]),
    ):
        assert main(base + extra) == 2, extra
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and all(w in err for w in words), (extra, err)
    assert not (tmp_path / "o").exists()
