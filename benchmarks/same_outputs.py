"""Whether a change to the analysis left its outputs as they were: the same bytes, file by file.

    python benchmarks/same_outputs.py --base 456071b             # that commit against this tree
    python benchmarks/same_outputs.py --base main~3 -n 5000 -d 3 -s 2

Simulates one operator (by default ``-n 10000 -d 5 -s 7``: SIM boxes, farms, call
centers, Wangiri and a money trail), runs ``qalqan analyze`` on it with the code of
commit ``--base`` (taken out with ``git archive`` into a temporary folder, the
working tree left alone) and with this working tree's code as it stands (edits not
yet committed included), and compares every file both
wrote with ``cmp``'s meaning: equal bytes. Prints each file as ``same`` or ``DIFFERS``
and exits 1 when any differs or is missing on one side. The models each tree uses
are its own (trained on first use, cached by their source), so a change that
should not move a score must not move the models either.

Meant for changes that should make the analysis cheaper and nothing else; a change
that means to alter a finding will differ, and says where.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("-n", "--subscribers", type=int, default=10_000)
    parser.add_argument("-d", "--days", type=int, default=5)
    parser.add_argument("-s", "--seed", type=int, default=7)
    return parser.parse_args()


def _qalqan(code: Path, *args: str) -> None:
    """``qalqan ARGS`` with the package of ``code`` first on the path."""
    env = os.environ | {"PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "qalqan.cli.main", *args]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=code)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="qalqan-same-") as scratch:
        root = Path(scratch)
        base = root / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.base], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        data = root / "data"
        operator = ["-n", str(args.subscribers), "-d", str(args.days), "-s", str(args.seed)]
        _qalqan(ROOT, "simulate", str(data), *operator)
        for name, code in (("base", base), ("this", ROOT)):
            _qalqan(code, "analyze", str(data), "--out", str(root / f"out-{name}"), "--quiet")
        before, after = _files(root / "out-base"), _files(root / "out-this")
        differs = False
        for name in sorted(before.keys() | after.keys()):
            same = name in before and name in after and before[name] == after[name]
            differs |= not same
            print(f"{'same' if same else 'DIFFERS':<8} {name}")
    return 1 if differs else 0


if __name__ == "__main__":
    raise SystemExit(main())
