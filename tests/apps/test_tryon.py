"""Virtual try-on: the agnostic person, the torso baseline, the pipeline, training and the CLI."""


import cv2
import pytest
import torch

from clothflow.evaluation.baselines import torso_affine_flow
from clothflow.apps.cli import main
from clothflow.core.config import apply_overrides
from clothflow.models.config import preset
from clothflow.core.ops import labels
from clothflow.core.ops.agnostic import agnostic
from clothflow.data.datasets.synthetic import SyntheticPairs
from clothflow.data.datasets.viton import VitonDataset
from clothflow.data.tools.writers import write_dataset
from clothflow.evaluation.evaluate import evaluate
from clothflow.models.pipeline import ClothFlowPipeline
from clothflow.training.settings import TrainConfig
from clothflow.training.stages import train

NARROW = ["layout.base_channels=8", "flow.base_channels=8", "render.base_channels=8"]


@pytest.fixture
def tryon_cfg():
    return apply_overrides(preset("tiny", task="tryon"), NARROW)


def test_agnostic_hides_garment_and_arms_keeps_face_and_legs():
    item = SyntheticPairs(1, size=(64, 44), seed=5, task="tryon")[0]
    classes = labels.to_groups(item["person_parse"])[None]
    rep = agnostic(item["person"][None], classes)
    for name in ("upper", "arms"):
        region = classes == labels.GROUP_NAMES.index(name)
        if region.any():
            assert (rep.classes[region] == 0).all()
            assert rep.image.permute(0, 2, 3, 1)[region].abs().max() == 0
    for name in ("face", "legs"):
        region = classes == labels.GROUP_NAMES.index(name)
        assert region.any() and torch.equal(rep.classes[region], classes[region])
    assert 0 <= rep.shape_mask.min() and rep.shape_mask.max() <= 1 and rep.shape_mask.mean() > 0.05


def test_torso_affine_flow_by_hand():
    mask = torch.zeros(1, 1, 64, 44)
    mask[..., 10:30, 12:32] = 1  # 20 x 20 garment, centre (21.5, 19.5)
    kps = torch.full((1, 18, 2), -1.0)
    # neck (22, 20), shoulders (16, 20) / (28, 20), hips (18, 43) / (26, 43): neck-hip 23 px
    kps[0, [1, 2, 5, 8, 11]] = torch.tensor([[22.0, 20.0], [16.0, 20.0], [28.0, 20.0], [18.0, 43.0], [26.0, 43.0]])
    flow = torso_affine_flow(mask, kps, height_ratio=1.0)
    scale = 23.0 / 20.0
    centre = kps[0, [1, 2, 5, 8, 11]].mean(0)  # (22, 29.2)
    x, y = 30, 40
    expected = (torch.tensor([x, y]) - centre) / scale + torch.tensor([21.5, 19.5]) - torch.tensor([x, y])
    assert torch.allclose(flow[0, :, y, x], expected, atol=1e-4)
    kps[0, 8] = -1  # no hip: no placement
    assert torso_affine_flow(mask, kps).abs().max() == 0


def test_tryon_pipeline_shapes_and_task_checks(tryon_cfg):
    pipe = ClothFlowPipeline(tryon_cfg).eval()
    batch = next(iter(torch.utils.data.DataLoader(SyntheticPairs(2, (64, 44), 0, "tryon"), batch_size=2)))
    with torch.no_grad():
        out = pipe.predict(batch)
    assert out.image.shape == (2, 3, 64, 44) and out.layout.shape == (2, 64, 44)
    assert out.flow.warped_cloth.shape == (2, 3, 64, 44)
    with pytest.raises(ValueError, match="try-on"):
        pipe.transfer(batch["person"], batch["person_parse"], batch["person_pose"])


def test_tryon_training_and_evaluation(tmp_path, tryon_cfg):
    cfg = TrainConfig(stage="all", steps=2, batch_size=2, num_pairs=8, log_every=1)
    seen = []
    pipe = train(tmp_path / "run", tryon_cfg, cfg, progress=False, on_step=lambda s, i, l: seen.append((s, l)))
    assert [s for s, _ in seen] == ["layout"] * 2 + ["flow"] * 2 + ["render"] * 2
    assert all("epe" in l for s, l in seen if s == "flow")  # synthetic try-on has true flow
    metrics, _ = evaluate(pipe, SyntheticPairs(4, (64, 44), 1, "tryon"), batch_size=4)
    assert set(metrics["warp_ssim"]) == {"clothflow", "clothflow_gt_layout", "affine"}
    assert metrics["flow_epe"]["affine"] > 0 and metrics["pairs"] == 4
    assert ClothFlowPipeline.from_pretrained(tmp_path / "run").config.task == "tryon"


@pytest.mark.parametrize("sample, pairs", [("viton_samples/test", "../test_samples_pair.txt"),
                                           ("vitonhd_samples/test", "../test_pairs.txt")])
def test_shared_samples_one_forward(shared_data, tryon_cfg, sample, pairs):
    root = shared_data / sample
    ds = VitonDataset(root, pairs_file=root / pairs, size=tryon_cfg.size, mode="unpaired")
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=len(ds))))
    with torch.no_grad():
        out = ClothFlowPipeline(tryon_cfg).eval().predict(batch)
    assert out.image.shape == (len(ds), 3, 64, 44) and torch.isfinite(out.image).all()


def test_tryon_cli_single_and_batch(tmp_path, capsys, tryon_cfg):
    model = tmp_path / "model"
    ClothFlowPipeline(tryon_cfg).save_pretrained(model)
    write_dataset(tmp_path / "synth", pairs=3, size=(64, 44), seed=2, progress=False)
    viton = tmp_path / "synth" / "viton"
    out = tmp_path / "batch"
    assert main(["tryon", "--model", str(model), "--data", str(viton), "--out", str(out)]) == 0
    written = sorted(p.name for p in out.glob("*__*.png"))
    assert len(written) == 3 and (out / "grid.png").is_file()
    assert cv2.imread(str(out / written[0])).shape == (64, 44, 3)

    person = sorted((viton / "image").iterdir())[0]
    stem = person.stem
    single = tmp_path / "single.png"
    argv = ["tryon", "--model", str(model), "--person", str(person),
            "--cloth", str(sorted((viton / "cloth").iterdir())[0]),
            "--parse", str(viton / "image-parse" / f"{stem}.png"),
            "--pose", str(viton / "openpose_json" / f"{stem}_keypoints.json"), "--out", str(single)]
    assert main(argv) == 0 and cv2.imread(str(single)).shape == (64, 44, 3)

    # a pair naming a missing file: an error naming it, or with --skip-bad a listed skip
    pairs = (viton / "test_pairs.txt").read_text().splitlines()
    (viton / "test_pairs.txt").write_text("\n".join(pairs + ["missing_0.jpg " + pairs[0].split()[1]]) + "\n")
    capsys.readouterr()
    assert main(["tryon", "--model", str(model), "--data", str(viton), "--out", str(tmp_path / "b2")]) == 2
    assert "missing_0.jpg" in capsys.readouterr().err
    assert main(["tryon", "--model", str(model), "--data", str(viton), "--out", str(tmp_path / "b3"),
                 "--skip-bad"]) == 0
    report = capsys.readouterr().out
    assert "skipped 1 bad pairs" in report and "missing_0.jpg" in report
    assert len(list((tmp_path / "b3").glob("*__*.png"))) == 3


def test_tryon_results_at_the_photo_size(shared_data, tmp_path, tryon_cfg):
    """A 1024 x 768 VITON-HD photo gives a 1024 x 768 result, one pair or a folder (the network runs at 64 x 44)."""
    root = shared_data / "vitonhd_samples" / "test"
    model = tmp_path / "model"
    ClothFlowPipeline(tryon_cfg).save_pretrained(model)
    person = sorted((root / "image").iterdir())[0]
    cloth = sorted((root / "cloth").iterdir())[0]
    single = tmp_path / "single.png"
    assert main(["tryon", "--model", str(model), "--person", str(person), "--cloth", str(cloth),
                 "--cloth-mask", str(root / "cloth-mask" / cloth.name), "--parse", str(root / "image-parse" / f"{person.stem}.png"),
                 "--pose", str(root / "openpose-json" / f"{person.stem}_keypoints.json"), "--out", str(single)]) == 0
    assert cv2.imread(str(single)).shape == (1024, 768, 3)
    out = tmp_path / "batch"
    assert main(["tryon", "--model", str(model), "--data", str(root), "--pairs", str(root.parent / "test_pairs.txt"),
                 "--out", str(out)]) == 0
    written = sorted(out.glob("*__*.png"))
    assert written and all(cv2.imread(str(p)).shape == (1024, 768, 3) for p in written)


def test_tryon_folder_without_a_pair_list_is_paired(shared_data, tmp_path, tryon_cfg):
    """A VITON-HD test folder with no pairs file: each person in their own garment (same file name)."""
    import shutil

    src = shared_data / "vitonhd_samples" / "test"
    root = tmp_path / "test"
    for sub in ("image", "image-parse", "openpose-json"):
        shutil.copytree(src / sub, root / sub)
    (root / "cloth").mkdir()
    (root / "cloth-mask").mkdir()
    persons = sorted(p.name for p in (root / "image").iterdir())[:2]
    for p in sorted((root / "image").iterdir())[2:]:
        p.unlink()
    for person, cloth in zip(persons, sorted((src / "cloth").iterdir())):  # VITON-HD: the own garment has the person's name
        shutil.copy(cloth, root / "cloth" / person)
        shutil.copy(src / "cloth-mask" / cloth.name, root / "cloth-mask" / person)
    own = persons
    model = tmp_path / "model"
    ClothFlowPipeline(tryon_cfg).save_pretrained(model)
    out = tmp_path / "out"
    assert main(["tryon", "--model", str(model), "--data", str(root), "--out", str(out)]) == 0
    written = sorted(p.name for p in out.glob("*__*.png"))
    assert written == [f"{p[:-4]}__{p[:-4]}.png" for p in own]


def test_inspect_a_folder_without_a_pair_list_checks_the_own_garments(shared_data, tmp_path):
    import shutil

    from clothflow.data.datasets.viton import check_layout

    src = shared_data / "vitonhd_samples" / "test"
    root = tmp_path / "test"
    for sub in ("image", "image-parse", "openpose-json", "cloth", "cloth-mask"):
        shutil.copytree(src / sub, root / sub)
    problems = check_layout(root, deep=False)
    missing = [p for p in problems if "missing (cloth of" in p]
    assert len(missing) == 6 and any("00891_00.jpg" in p for p in missing), problems  # no person has their own garment
    assert not any("no pair list" in p for p in problems)
