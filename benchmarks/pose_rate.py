"""How often a pose is found in a pair table's photos: MediaPipe as it is, trying harder, the parsing.

    python benchmarks/pose_rate.py --data ../shared/data/pose_transfer_real --dataset deepfashion --split test

For every source photo of the selected rows (``--targets``: the targets too), counts the photos
where (1) MediaPipe's pose estimator, one look at the photo, finds at least 4 keypoints; (2) the
project's harder look does (:func:`clothflow.estimate.photo.robust_pose`: enlarged when small, a
border for close crops, the mirror image, a lower threshold); (3) else a pose is read off the
shipped parser's parsing (:func:`clothflow.estimate.photo.person_pose`); and lists the photos
where none does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blas_threads import from_argv

from_argv("--threads", default="1")

from clothflow.core.ops.pose import visible  # noqa: E402
from clothflow.data.formats.images import read_rgb  # noqa: E402
from clothflow.data.formats.pose_pairs import read_pair_table  # noqa: E402
from clothflow.estimate.parsing import load_parser, parse_framed  # noqa: E402
from clothflow.estimate.photo import FROM_PARSING, MIN_KEYPOINTS, person_pose  # noqa: E402
from clothflow.estimate.prepare import PoseEstimator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--dataset", default="deepfashion")
    p.add_argument("--split", default="test")
    p.add_argument("--targets", action="store_true", help="the target photos too")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    rows = read_pair_table(args.data, args.dataset, args.split)
    photos = list(dict.fromkeys([r.source for r in rows] + ([r.target for r in rows] if args.targets else [])))
    parser = load_parser()
    plain = harder = parsing = 0
    missed = []
    with PoseEstimator(masks=False) as estimator:
        for photo in photos:
            image = read_rgb(photo)
            found = estimator(image)
            if found is not None and visible(found.keypoints).sum() >= MIN_KEYPOINTS:
                plain += 1
                continue
            kps, how = person_pose(image, parse_framed(parser, image), estimator)
            if kps is None:
                missed.append(photo.name)
            elif how == FROM_PARSING:
                parsing += 1
            else:
                harder += 1
    n = len(photos)
    print(f"{args.dataset} {args.split}: {n} {'photos' if args.targets else 'source photos'}")
    print(f"  MediaPipe, one look:        {plain} ({plain / n:.1%})")
    print(f"  + the harder look:          {plain + harder} ({(plain + harder) / n:.1%})")
    print(f"  + a pose off the parsing:   {plain + harder + parsing} ({(plain + harder + parsing) / n:.1%})")
    print(f"  no pose: {len(missed)} {' '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
