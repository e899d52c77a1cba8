"""Which pair list a VITON folder reads, and what a command says about it (the shared sample folder)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from clothflow.apps.cli import main
from clothflow.data.datasets.viton import VitonDataset
from clothflow.data.datasets.viton_layout import find_layout, find_pairs_file


@pytest.fixture
def samples(shared_data, tmp_path) -> Path:
    """A copy of shared/data/viton_samples: test/ and the parent's unpaired list test_samples_pair.txt."""
    root = tmp_path / "viton_samples"
    shutil.copytree(shared_data / "viton_samples", root)
    return root


def test_a_split_never_reads_the_other_splits_list(samples):
    train = samples / "train"
    shutil.copytree(samples / "test", train)
    (samples / "test_pairs.txt").write_text("000001_0.jpg 004325_1.jpg\n")
    assert find_pairs_file(find_layout(train), None) is None  # not the parent's test_pairs.txt
    (samples / "train_pairs.txt").write_text("000010_0.jpg 004325_1.jpg\n")
    assert find_pairs_file(find_layout(train), None) == samples / "train_pairs.txt"
    (train / "train_pairs.txt").write_text("000258_0.jpg 004325_1.jpg\n")
    assert find_pairs_file(find_layout(train), None) == train / "train_pairs.txt"  # its own folder first


def test_evaluate_on_unpaired_samples_names_the_list_and_what_to_do(samples, tmp_path, capsys):
    code = main(["evaluate", "--model", "tryon-viton-256", "--data", str(samples / "test"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cloth/000001_1.jpg: missing" in err
    assert f"the list {samples / 'test_samples_pair.txt'} names persons whose garments are not in" in err
    assert "--pairs FILE" in err


def test_the_paired_setting_scores_a_list_of_persons_with_their_garments(samples):
    (samples / "own.txt").write_text("000001_0.jpg\n")
    (samples / "test" / "cloth" / "000001_1.jpg").write_bytes((samples / "test" / "cloth" / "004325_1.jpg").read_bytes())
    mask = samples / "test" / "cloth-mask"
    (mask / "000001_1.jpg").write_bytes((mask / "004325_1.jpg").read_bytes())
    ds = VitonDataset(samples / "test", "own.txt", size=(64, 48), mode="paired")
    assert len(ds) == 1 and ds.pairs_file == samples / "own.txt"


def test_inspect_says_the_list_once_and_what_evaluate_can_score(samples, capsys, caplog):
    with caplog.at_level(logging.INFO):
        assert main(["inspect", str(samples / "test")]) == 0
    out = capsys.readouterr().out
    assert "pairs   test_samples_pair.txt: 1 pairs" in out
    assert "paired  0 of 1 persons have their own garment in cloth/" in out
    assert not [r for r in caplog.records if "using pair list" in r.getMessage()]
