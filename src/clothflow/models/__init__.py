"""Models: one file per stage (layout, flow, render), shared blocks, warping ops and the pipeline."""
