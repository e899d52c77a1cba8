"""``clothflow train`` of ClothFlow runs: what a resumed run may change, and the stage flag on resume."""

import json

from clothflow.apps.cli import main

NEW_RUN = ["train", "--stage", "layout", "--steps", "1", "--batch-size", "2", "--set", "train.num_pairs=2",
           "--set", "layout.base_channels=4", "--set", "flow.base_channels=4", "--set", "render.base_channels=4"]


def test_a_resumed_run_takes_training_flags_only(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*NEW_RUN, "--out", str(run)]) == 0
    capsys.readouterr()
    for flags in (["--preset", "paper"], ["--variant", "tps"], ["--set", "flow.num_levels=2"]):
        assert main(["train", "--resume", str(run), *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "keeps its model config" in err
    assert main(["train", "--resume", str(run), "--task", "tryon"]) == 2
    assert "keeps its task" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--task", "inpaint"]) == 2
    assert "holds a ClothFlow pipeline" in capsys.readouterr().err
    # --stage and --data are training settings: a resumed run trains the stage asked for
    assert main(["train", "--resume", str(run), "--stage", "flow", "--data", "synthetic"]) == 0
    stored = json.loads((run / "train.json").read_text())
    assert (stored["stage"], stored["data"]) == ("flow", "synthetic")
    lines = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [x["stage"] for x in lines] == ["layout", "flow"]
