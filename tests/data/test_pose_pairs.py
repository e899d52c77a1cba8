"""Pair tables (pairs.csv): reading, the dataset over them, a pose read off a parsing, scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clothflow.core.errors import ClothflowError
from clothflow.core.images import save_png
from clothflow.data.formats.keypoints import annotation_row
from clothflow.data.formats.pose_pairs import read_pair_table, same_person_pairs
from clothflow.data.synth.renderer import make_transfer_pair

HEADER = "dataset,split,person,source,target,peer,peer_output\n"


def make_table(root: Path, persons: int = 2, size: tuple[int, int] = (96, 96), bad_row: str = "") -> Path:
    """A pair table of synthetic people: per person, photos a, b, c; pairs a->b and b->c; keypoints for all."""
    (root / "shop" / "images").mkdir(parents=True)
    lines, kp_rows = [HEADER], ["name:keypoints_y:keypoints_x"]
    for p in range(persons):
        pair = make_transfer_pair(0, p, size)
        third = make_transfer_pair(1, p, size)
        for view, render in zip("abc", (pair.src, pair.tgt, third.tgt)):
            name = f"p{p}_{view}.png"
            save_png(root / "shop" / "images" / name, render.image)
            kp_rows.append(annotation_row(name, render.keypoints))
        for s, t, split in (("a", "b", "test"), ("b", "c", "test")):
            lines.append(f"shop,{split},{p},shop/images/p{p}_{s}.png,shop/images/p{p}_{t}.png,,\n")
    (root / "shop" / "keypoints.csv").write_text("\n".join(kp_rows) + "\n")
    (root / "pairs.csv").write_text("".join(lines) + bad_row)
    return root / "pairs.csv"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOTHFLOW_CACHE", str(tmp_path / "cache"))


def test_reads_rows_and_pairs_every_two_views(tmp_path):
    table = make_table(tmp_path / "t")
    rows = read_pair_table(table, "shop", "test")
    assert len(rows) == 4 and rows[0].source.is_file() and rows[0].output_name == "p0_a__p0_b.png"
    pairs = same_person_pairs(rows)
    assert len(pairs) == 12  # 3 photos a person, 6 ordered pairs each
    assert all(s.name[:2] == t.name[:2] and s != t for s, t in pairs)  # never two persons


@pytest.mark.parametrize("text, words", [
    ("dataset,split,source,target\nshop,test,a.png,b.png\n", "lacks column(s) person"),
    (HEADER + "shop,test,1,shop/images/nope.png,shop/images/p0_a.png,,\n", "nope.png is missing"),
    (HEADER + "shop,test,1,,shop/images/p0_a.png,,\n", "line 2: empty source"),
    (HEADER + "shop,test,1,a.png\n", "line 2: 4 cells"),
    ("", "empty pair table"),
])
def test_bad_tables_name_the_file(tmp_path, text, words):
    make_table(tmp_path)
    (tmp_path / "pairs.csv").write_text(text)
    with pytest.raises(ClothflowError, match="pairs.csv") as err:
        read_pair_table(tmp_path / "pairs.csv")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_empty_selection_says_what_there_is(tmp_path):
    table = make_table(tmp_path)
    with pytest.raises(ClothflowError, match=r"no rows for shop/train; the table has shop/test"):
        read_pair_table(table, "shop", "train")


def test_dataset_frames_photos_and_keypoints_alike(tmp_path):
    """A 96 x 96 photo at 64 x 44: the centre columns, keypoints moved with them; mirrored items swap sides."""
    from clothflow.data.datasets.pose_pairs import PosePairs
    from clothflow.data.formats.images import fit_to_size, read_rgb

    table = make_table(tmp_path)
    plain = PosePairs(table, (64, 44), "shop/test")
    views = PosePairs(table, (64, 44), "shop/test", all_views=True, mirrored=True)
    assert len(plain) == 4 and len(views) == 2 * 12
    item = plain[0]
    photo = read_rgb(plain.rows[0].source)
    expected = fit_to_size(photo, (64, 44)).astype(np.float32) / 127.5 - 1
    assert np.abs(item["src_image"].permute(1, 2, 0).numpy() - expected).max() < 1e-5
    neck_96 = make_transfer_pair(0, 0, (96, 96)).src.keypoints[1]
    left = (round(96 * 64 / 96) - 44) // 2
    assert np.allclose(item["src_pose"][1].numpy(), neck_96 * 64 / 96 - [left, 0], atol=0.6)
    mirrored = views[12]
    original = views[0]
    assert (mirrored["src_image"].flip(-1) == original["src_image"]).all()
    assert (mirrored["src_pose"][2, 0] - (43 - original["src_pose"][5, 0])).abs() < 1e-4  # right <-> left


def test_wrong_keypoint_count_names_the_csv(tmp_path):
    from clothflow.data.datasets.pose_pairs import PosePairs

    table = make_table(tmp_path)
    kp = tmp_path / "shop" / "keypoints.csv"
    kp.write_text(kp.read_text() + "p9_a.png: [1, 2, 3]: [4, 5, 6]\n")
    with pytest.raises(ClothflowError, match="keypoints.csv"):
        PosePairs(table, (64, 44), "shop/test")


def test_pose_from_parsing_finds_the_body(tmp_path):
    """On synthetic people (true pose known), the joints read off the parsing land near the truth."""
    from clothflow.core.ops.pose import visible
    from clothflow.estimate.pose_from_parsing import pose_from_parsing

    errors, found, backs = [], 0, 0
    for i in range(12):
        render = make_transfer_pair(3, i, (256, 176)).src
        kps = pose_from_parsing(render.parse)
        ok = visible(kps) & visible(render.keypoints)
        found += int(ok[[1, 2, 5, 8, 11]].sum())
        errors.append(np.linalg.norm(kps[ok] - render.keypoints[ok], axis=1))
        backs += render.back
    assert backs >= 2  # back views among them: sides must come out as the person's own
    assert found >= 0.8 * 12 * 5  # neck, shoulders and hips nearly always
    assert np.median(np.concatenate(errors)) < 16  # pixels at 256 x 176 (measured 13)
    assert max(np.median(e) for e in errors) < 25  # every person (measured at most 15; sides swapped: 60)
    assert (pose_from_parsing(np.zeros((50, 40), np.uint8)) == -1).all()  # no person, no points


def test_place_in_frame_keeps_the_backdrop_outside():
    from clothflow.data.formats.images import place_in_frame

    backdrop = np.zeros((256, 256, 3), np.uint8)
    result = np.full((128, 88, 3), 200, np.uint8)
    out = place_in_frame(result, backdrop)
    assert out.shape == (256, 256, 3)
    assert (out[:, 40:216] == 200).all() and (out[:, :40] == 0).all() and (out[:, 216:] == 0).all()


def test_transfer_pairs_writes_every_row_at_the_target_size(tmp_path, tiny_cfg, capsys):
    from clothflow.apps.cli import main
    from clothflow.models.pipeline import ClothFlowPipeline

    table = make_table(tmp_path / "t")
    ClothFlowPipeline(tiny_cfg).save_pretrained(tmp_path / "model")
    out = tmp_path / "out"
    assert main(["transfer", "--pairs", str(table), "--split", "test", "--model", str(tmp_path / "model"),
                 "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted({r.output_name for r in read_pair_table(table)})
    from clothflow.data.formats.images import read_rgb

    assert read_rgb(out / written[0]).shape == (96, 96, 3)
    assert "wrote 4 results" in capsys.readouterr().out


def test_transfer_pairs_bad_table_writes_nothing(tmp_path, tiny_cfg, capsys):
    from clothflow.apps.cli import main
    from clothflow.models.pipeline import ClothFlowPipeline

    table = make_table(tmp_path / "t", bad_row="shop,test,9,shop/images/gone.png,shop/images/p0_a.png,,\n")
    ClothFlowPipeline(tiny_cfg).save_pretrained(tmp_path / "model")
    out = tmp_path / "out"
    assert main(["transfer", "--pairs", str(table), "--model", str(tmp_path / "model"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gone.png is missing" in err and "pairs.csv" in err
    assert not out.exists()
    assert main(["transfer", "--pairs", str(table), "--split", "val", "--model", str(tmp_path / "model"),
                 "--out", str(out)]) == 2
    assert "no rows for */val" in capsys.readouterr().err and not out.exists()


def test_scores_reproduce_the_published_figures(shared_data):
    """The papers' SSIM of the table's published outputs, as its README gives them (DeepFashion test)."""
    from clothflow.evaluation.pose_pairs import by_peer, score_rows

    rows = read_pair_table(shared_data / "pose_transfer_real", "deepfashion", "test")
    deform = [r for r in rows if r.peer == "deform"]
    peer = by_peer(score_rows("peer", deform))["deform"]
    copy = by_peer(score_rows("source", deform))["deform"]
    assert abs(peer[0] - 0.763) < 5e-4 and abs(peer[1] - 0.663) < 5e-4
    assert abs(copy[0] - 0.676) < 5e-4 and abs(copy[1] - 0.536) < 5e-4


def test_inspect_recognises_a_pair_table(tmp_path):
    from clothflow.data.tools.inspect_folder import inspect_path

    table = make_table(tmp_path / "t")
    rep = inspect_path(table.parent)
    assert rep.kind.startswith("pose pair table") and rep.usable
    facts = dict(rep.facts)
    assert facts["shop"].startswith("4 test pairs; 2 persons, 6 photos") and "96 x 96" in facts["shop"]
    assert inspect_path(table).kind == rep.kind  # the CSV itself too
    (tmp_path / "t" / "shop" / "images" / "p1_c.png").unlink()
    broken = inspect_path(table.parent)
    assert not broken.usable and any("p1_c.png is missing" in p for p in broken.problems)
