"""Sample a command with py-spy and summarise where its CPU time goes (own time and inclusive time per function).

    python bench/profiles.py PROFILE.txt [--top 25]     # summarise a py-spy raw (collapsed) profile

bench/run.py --profile DIR records every policywatch check this way (timings are then not representative).
"""

from __future__ import annotations

import argparse
import shutil
from collections import Counter
from pathlib import Path


def py_spy_prefix(output: Path) -> list[str]:
    """Prepend to a command to record it (and its child processes) with py-spy, active samples only."""
    binary = shutil.which("py-spy")
    if binary is None:
        raise SystemExit("py-spy is needed for --profile: pip install py-spy")
    return [binary, "record", "--rate", "250", "--subprocesses", "--format", "raw", "--output", str(output), "--"]


def summarise(path: Path, top: int = 25) -> str:
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [frame.strip() for frame in stack.split(";")]
        # "function (file:line)" → "function (file)": one row per function, not per line.
        names = [frame.rsplit(":", 1)[0] + ")" if frame.endswith(")") and ":" in frame else frame for frame in frames]
        own[names[-1]] += samples
        for name in set(names):
            inclusive[name] += samples
    lines = [f"{path.name}: {total} samples", "", "own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarise(args.profile, args.top))


if __name__ == "__main__":
    main()
