"""kill -9 during a 40,717-paper ingest, again and again, then run to the end: is anything lost or
stored twice, and does each rerun do only what remained?

    python bench/kill_resume.py --base /work/big40k --store /work/big80k --kills 4

The ingest is bench/big_store.py --copies 2 into a copy of a finished 40k store (``--base``): the
40,717 papers of the synthetic second year are the ingest killed. Each run is killed with SIGKILL
after a random 20-240 s (fixed seed); after every kill the store is opened and counted. Reported
(one JSON line): the kills, papers stored after each, what each rerun added (a rerun must add only
the papers still missing), and the final audit (incomplete papers, orphan vectors, duplicate rows:
all 0) with the stored total (81,434 expected).
"""

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Library  # noqa: E402

BUILD = [sys.executable, str(ROOT / "bench" / "big_store.py"), "--copies", "2"]


def stored(store: Path) -> int:
    library = Library(store)
    try:
        return library.count()
    finally:
        library.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="a finished store of the 40,717 papers")
    parser.add_argument("--store", required=True)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    store = Path(args.store)
    if not store.exists():
        shutil.copytree(args.base, store)
    rng = random.Random(args.seed)
    counts = [stored(store)]
    for _ in range(args.kills):
        run = subprocess.Popen([*BUILD, "--store", str(store)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(20, 240))
        run.send_signal(signal.SIGKILL)
        run.wait()
        counts.append(stored(store))
    final = subprocess.run([*BUILD, "--store", str(store)], capture_output=True, text=True, check=True)
    last = json.loads(final.stdout.strip().splitlines()[-1])
    library = Library(store)
    audit = library.audit()
    report = {
        "kills": args.kills,
        "stored_after_each_kill": counts,
        "last_run_added": last["added"],
        "last_run_unchanged": last["unchanged"],
        "last_run_did_only_the_rest": last["added"] == last["papers_given"] - counts[-1]
        and last["unchanged"] == counts[-1],
        "stored": audit.papers,
        "incomplete_papers": audit.incomplete_papers,
        "orphan_papers": audit.orphan_papers,
        "duplicate_rows": audit.duplicate_rows,
        "last_run": last,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
