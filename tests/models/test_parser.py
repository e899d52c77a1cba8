"""The human parser: shapes, saving with its kind, and use on a photo of any size."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from clothflow.core.errors import ClothflowError
from clothflow.data.datasets.augment import mirror_labels
from clothflow.estimate.parsing import load_parser, parse_photo
from clothflow.models.parser import HumanParser, ParserConfig
from clothflow.models.pipeline import ClothFlowPipeline

SMALL = ParserConfig(size=(64, 48), base_channels=4, depth=3)


def test_parser_outputs_lip_ids_at_the_photo_size():
    parser = HumanParser(SMALL).eval()
    assert parser(torch.zeros(2, 3, 64, 48)).shape == (2, 20, 64, 48)
    ids = parse_photo(parser, np.full((90, 70, 3), 200, np.uint8))
    assert ids.shape == (90, 70) and ids.dtype == np.uint8 and ids.max() < 20
    with pytest.raises(ValueError, match="image"):
        parser(torch.zeros(1, 4, 64, 48))


def test_parser_folder_round_trip_and_kind(tmp_path):
    torch.manual_seed(0)
    parser = HumanParser(SMALL).eval()
    parser.save_pretrained(tmp_path / "parser")
    again = load_parser(tmp_path / "parser")
    x = torch.rand(1, 3, 64, 48) * 2 - 1
    torch.testing.assert_close(parser(x), again(x))
    with pytest.raises(ClothflowError, match="holds a human parser"):
        ClothFlowPipeline.from_pretrained(tmp_path / "parser")
    with pytest.raises(ClothflowError, match="neither a model folder nor a shipped model"):
        load_parser(tmp_path / "nowhere")


def test_mirror_average_makes_the_parsing_of_a_mirrored_photo_the_mirrored_parsing():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    agreement = {}
    for averaged in (True, False):
        torch.manual_seed(1)  # the same weights either way: only parse() differs
        parser = HumanParser(replace(SMALL, mirror_average=averaged)).eval()
        direct, of_mirror = parser.parse(x), parser.parse(x.flip(-1))
        agreement[averaged] = (mirror_labels(of_mirror).flip(-1) == direct).float().mean().item()
    assert agreement[True] > 0.999
    assert agreement[False] < 0.99  # a plain network (with its coordinate planes) is not symmetric
