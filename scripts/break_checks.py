"""Break what a guarantee rests on, one thing at a time, and watch the tests go red.

Each mutation below removes or bends one line the stream's guarantees depend on; the script
applies it, runs the stream's fast unit tier (tests/unit/stream_processor, tests/unit/reconcile),
restores the file, and reports whether some test failed. A mutation that leaves the tier green
is a guarantee no test checks.

Usage: ``.venv/bin/python scripts/break_checks.py [name ...]``; exits 1 if any stays green.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER = "src/fraudstream/stream_processor/scorer.py"
PENDING = "src/fraudstream/stream_processor/pending.py"

MUTATIONS: dict[str, tuple[str, str, str]] = {
    "publish every verdict twice": (
        SCORER,
        "            self.cards.states[card] = (state, version)\n"
        "        work.output.messages += messages\n",
        "            self.cards.states[card] = (state, version)\n"
        "        work.output.messages += messages + messages\n",
    ),
    "a repeat publishes a second verdict": (
        SCORER,
        "if known.source is None or known.source == position:",
        "if True:",
    ),
    "poison finished without a dead letter": (
        SCORER,
        '        await self._dead_letter(work, [(entry, reason)], "poison")',
        "        work.output.finished.append(entry)",
    ),
    "publish without storing": (
        SCORER,
        "                await self.store.store_scored(rows, states)",
        "                pass",
    ),
    "commit past a message still pending": (
        PENDING,
        "            if key in commit and position not in gone and position[2] < commit[key]:",
        "            if False:",
    ),
    "a stale delivery is taken for a replay": (
        PENDING,
        "                if self._done(entry):",
        "                if False:",
    ),
    "no probe: an outage blamed on messages": (
        SCORER,
        "        why = await self.probe()\n",
        "        why = None\n",
    ),
    "suspects never retried alone": (
        SCORER,
        "            for entry in held:\n                await self._isolating([entry], work)\n",
        "",
    ),
}


def run(name: str) -> bool:
    """True when some test failed with the mutation in place."""
    path, old, new = MUTATIONS[name]
    source = ROOT / path
    original = source.read_text()
    if original.count(old) != 1:
        raise SystemExit(f"{name}: the line to mutate is no longer in {path}; update this script")
    source.write_text(original.replace(old, new))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 f"--basetemp={tmp}", "tests/unit/stream_processor", "tests/unit/reconcile"],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
    finally:
        source.write_text(original)
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    print(f"{'red  ' if failed else 'GREEN'} {name}" + (f": {failed[0][7:]}" if failed else ""))
    return bool(failed)


def main() -> None:
    names = sys.argv[1:] or list(MUTATIONS)
    survived = [name for name in names if not run(name)]
    if survived:
        raise SystemExit(f"no test caught: {', '.join(survived)}")


if __name__ == "__main__":
    main()
