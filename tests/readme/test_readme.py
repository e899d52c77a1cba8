"""Every ``bash`` and ``python`` block of the README, checked; what is quick on small data, run.

Every command line is checked: a ``clothflow`` command parses with the real parser (a command
shown with ``...`` names only options it has), a script or file of the checkout it names exists,
a benchmark script knows each ``--flag`` given to it, an extra given to pip is declared. Every
Python block compiles and its imports resolve. Then the README is followed top to bottom in one
folder, as a newcomer would: each ``clothflow`` command whose inputs exist by then (made by an
earlier block, or the small fixtures below) runs, on small data (``SMALL``), and must succeed
and write its ``--out``; so must every Python block without a ``# readme-test: not run: reason``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from readme_blocks import ROOT, Block, commands, readme_blocks, shipped_paths, words

BLOCKS = readme_blocks()
BASH = [b for b in BLOCKS if b.language == "bash"]
PYTHON = [b for b in BLOCKS if b.language == "python"]
OTHER_PROGRAMS = {"mkdir", "tar", "apt-get", "tensorboard"}  # shell tools the set-up and data steps use
# clothflow commands quick enough to run on small data; the others (serve, live, animate, tryon on
# real photos, prepare) are parsed only.
RUN = {"synth", "train", "models", "transfer", "export", "inspect", "evaluate", "demo", "tryon", "inpaint"}
INPUTS = ("--model", "--source", "--source-parse", "--target-pose", "--person", "--cloth", "--parse", "--pose",
          "--data", "--resume", "--image", "--garment", "--poses", "--calibration")


def _ids(blocks: list[Block]) -> list[str]:
    return [f"line{b.line}" for b in blocks]


def test_the_readme_has_its_blocks_and_every_opt_out_says_why():
    assert len(BASH) >= 15 and len(PYTHON) >= 1
    for block in BLOCKS:
        assert block.not_run is None or len(block.not_run) >= 10, f"{block.name}: a not-run marker needs a reason"


# ---- every command line ------------------------------------------------------------------------
def _parser():
    from clothflow.apps.cli import build_parser

    return build_parser()


def _check_clothflow(argv: list[str], elided: bool) -> None:
    from clothflow.core.errors import ClothflowError

    parser = _parser()
    if elided:  # `clothflow transfer --backend onnx ...`: the options shown must exist
        sub = parser._subparsers._group_actions[0].choices[argv[0]]
        unknown = [w for w in argv if w.startswith("-") and w.split("=")[0] not in sub._option_string_actions]
        assert not unknown, f"unknown options {unknown}"
        return
    try:
        parser.parse_args(argv)
    except (ClothflowError, SystemExit) as exc:
        pytest.fail(f"clothflow {' '.join(argv)}: {exc}")


def _check_script(argv: list[str]) -> None:
    script = ROOT / argv[0]
    assert script.is_file(), f"no script {argv[0]}"
    known = script.read_text() + "".join(p.read_text() for p in script.parent.glob("*.py"))
    unknown = [w for w in argv[1:] if w.startswith("--") and f'"{w.split("=")[0]}"' not in known]
    assert not unknown, f"{argv[0]} has no options {unknown}"


def _check_pip(argv: list[str]) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for word in argv:
        for group in re.findall(r"\.\[([\w,]+)\]", word):
            assert set(group.split(",")) <= set(extras), f"pip: unknown extras in {word}"


def check_command(command: str) -> None:
    """Fail unless ``command`` is one the checkout can run as written (see the module's docstring)."""
    argv = words(command)
    while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):  # V=... or an environment prefix
        argv = argv[1:]
    if not argv:
        return
    for path in shipped_paths(argv):
        assert (ROOT / path).exists(), f"{command}: {path} is not in the checkout"
    program = argv[0]
    if program == "clothflow":
        _check_clothflow(argv[1:], "..." in command)
    elif program == "torchrun":
        _check_clothflow(argv[argv.index("clothflow") + 1:], "..." in command)
    elif program == "python":
        _check_script(argv[1:])
    elif program.startswith("scripts/"):
        assert (ROOT / program).stat().st_mode & 0o111, f"{program} is not executable"
    elif program == "pip":
        _check_pip(argv)
    elif program == "pytest":
        assert all((ROOT / w).exists() for w in argv[1:] if w.startswith("tests/"))
    else:
        assert program in OTHER_PROGRAMS, f"{command}: unknown program {program!r} (add it to OTHER_PROGRAMS)"


@pytest.mark.parametrize("block", BASH, ids=_ids(BASH))
def test_every_command_line_parses_and_names_what_exists(block):
    for command in commands(block):
        check_command(command)


def test_a_renamed_flag_or_path_fails_the_check():
    with pytest.raises(pytest.fail.Exception):
        check_command("clothflow train --stepz 2 --out runs/x")
    with pytest.raises(AssertionError):
        check_command("python benchmarks/no_such_script.py --out x")
    with pytest.raises(AssertionError):
        check_command("python benchmarks/inference.py --no-such-flag")
    with pytest.raises(AssertionError):
        check_command("clothflow demo --out docs/no_such_folder/x")
    with pytest.raises(AssertionError):
        check_command("pip install -e '.[no_such_extra]'")


@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_blocks_compile_and_their_imports_resolve(block):
    tree = ast.parse(block.text, filename=block.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            missing = [a.name for a in node.names if not hasattr(module, a.name)
                       and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
            assert not missing, f"{block.name}: {node.module} has no {missing}"


# ---- followed top to bottom ----------------------------------------------------------------------
def _small(argv: list[str]) -> list[str]:
    """The command on small data: few steps (in the order the README has them: a resumed run needs
    more than it had), 2 pairs, 64 x 44, batch 2, 3 frames, 2 samples."""
    out, i = [], 0
    while i < len(argv):
        word, value = argv[i], argv[i + 1] if i + 1 < len(argv) else ""
        if word == "--steps" and value.isdigit():
            out += [word, str(min(max(int(value) // 1000, 1), 5))]
        elif word in ("--pairs", "--frames", "--samples", "--batch-size") and value.isdigit():
            out += [word, "2"]
        elif word == "--size":
            out += [word, "64x44"]
        elif word == "--preset" and value == "paper":
            out += [word, "tiny"]
        else:
            out.append(word)
            i += 1
            continue
        i += 2
    defaults = {"synth": ["--pairs", "2", "--size", "64x44"], "demo": ["--pairs", "2"], "train": ["--batch-size", "2"],
                "evaluate": ["--pairs", "2"]}
    return out + [w for w in defaults.get(out[0], []) if w.startswith("-") and w not in out
                  for w in (w, defaults[out[0]][defaults[out[0]].index(w) + 1])]


def _missing_input(argv: list[str], folder: Path) -> str | None:
    """An input the command names that is not there (yet): it is then parsed, not run."""
    from clothflow.core.pretrained import shipped_models

    shipped = shipped_models()
    named = [argv[i + 1] for i, w in enumerate(argv[:-1])
             if w in INPUTS or (w == "--pairs" and not argv[i + 1].isdigit())]  # a pair list or table, not a count
    if argv[0] == "inspect":
        named.append(argv[1])
    for value in named:
        if value != "synthetic" and value not in shipped and not (folder / value).exists():
            return value
    return None


def _fixtures(folder: Path) -> None:
    """The README's example inputs: a person photo with its parsing and keypoints, a garment, a target pose."""
    from PIL import Image

    from clothflow.core.images import to_uint8
    from clothflow.data.datasets.synthetic import SyntheticPairs

    pair = SyntheticPairs(num_pairs=1, size=(256, 192), seed=3, task="tryon")[0]
    person = to_uint8(pair["person"] if "person" in pair else pair["src_image"])
    for name in ("person.png", "person.jpg", "photo.jpg", "me.jpg"):
        Image.fromarray(person).save(folder / name)
    Image.fromarray(to_uint8(pair["cloth"])).save(folder / "shirt.jpg")
    Image.fromarray(to_uint8(pair["cloth"])).save(folder / "shirt.png")
    parse = pair["person_parse"] if "person_parse" in pair else pair["src_parse"]
    Image.fromarray(np.asarray(parse, np.uint8)).save(folder / "person_parse.png")
    keypoints = pair["person_pose"] if "person_pose" in pair else pair["tgt_pose"]
    points = [[float(x), float(y)] for x, y in np.asarray(keypoints)]
    for name in ("pose.json", "person.json", "person_keypoints.json"):
        (folder / name).write_text(json.dumps(points))


@pytest.mark.slow
def test_the_readme_followed_top_to_bottom_runs_on_small_data(tmp_path, monkeypatch, capsys):
    from clothflow.apps.cli import main

    monkeypatch.chdir(tmp_path)
    _fixtures(tmp_path)
    ran = []
    for block in BLOCKS:
        if block.language == "python":
            if block.not_run is None:
                exec(compile(block.text, block.name, "exec"), {"__name__": "readme"})
                ran.append(block.name)
            continue
        for command in commands(block):
            argv = words(command)
            if argv[0] != "clothflow" or "..." in command or argv[1] not in RUN or "--nproc" in argv \
                    or "--train" in argv or _missing_input(argv[1:], tmp_path):
                continue
            small = _small(argv[1:])
            code = main(small)
            assert code == 0, f"{block.name}: clothflow {' '.join(small)} -> {code}: {capsys.readouterr().err}"
            if "--out" in small:
                assert (tmp_path / small[small.index("--out") + 1]).exists(), f"{block.name}: {command} wrote no --out"
            ran.append(f"{block.name}: {' '.join(small)}")
    print("\n".join(ran))  # shown with -s: what the README run covered
    names = " ".join(ran)
    for needed in ("train --stage all", "transfer --model runs/tiny", "export --model runs/tiny", "From Python"):
        assert needed in names, f"the README's {needed!r} was not run: {ran}"
