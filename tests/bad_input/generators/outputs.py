"""Inputs of the outputs cases (issue 13): stale temporary names next to an output that a run
must never follow or write through. Each case has its own folder, since cases run at once.

  stale_link_build/out.h5.partial  -> target    (target: a file the case fills with a sentinel)
  stale_link_synth/out.h5.partial  -> target
  partial_dir/out.h5.partial/                   (a directory)
  stale_file/out.h5.partial                     (a regular file left by a killed run: replaced)
"""
import os


def generate(out_dir):
    for name in ("stale_link_build", "stale_link_synth"):
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "target"), "w") as f:
            f.write("not a sentinel yet\n")
        os.symlink("target", os.path.join(folder, "out.h5.partial"))
    os.makedirs(os.path.join(out_dir, "partial_dir", "out.h5.partial"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "stale_file"), exist_ok=True)
    with open(os.path.join(out_dir, "stale_file", "out.h5.partial"), "w") as f:
        f.write("left by a killed build\n")
