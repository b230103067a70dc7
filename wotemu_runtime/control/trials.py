"""`wotemu run --repeat N` (or `experiment.repeat`): N trials of one topology, compared as one design.

The swarm is provisioned and the image built once; then each trial is a run of its own — deploy,
stop, report — with its own seed, derived from the experiment seed and the trial's number, so a
trial set is reproducible and no two trials share their random draws. Each trial's bundle stays
where a run's always is (results/<stack>/<run id>/); the trial set is a directory beside them,
results/<stack>/trials-<UTC time>/, with `manifest.json`, one `trial-<n>` link per bundle, and
`report.html`: every key figure's mean over the trials with its interval (report/trials.py).
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from wotemu_runtime.control.run import play, results_dir

SETUP_PHASES = "provision,build-image"
TRIAL_PHASES = "deploy,stop,report"


def trial_seed(seed: int, trial: int) -> int:
    """The seed of trial `trial` (1-based): the experiment seed and the trial number, hashed."""
    return int.from_bytes(hashlib.sha256(f"wotemu:{seed}:{trial}".encode()).digest()[:4], "big")


def _write_manifest(trial_set: Path, manifest: dict) -> None:
    (trial_set / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def run_trials(
    topology: str, stack: str, seed: int, trials: int, inventory: str | None, extravars: dict
) -> int:
    rc, _ = play(topology, stack, inventory, extravars, SETUP_PHASES)
    if rc:
        return rc
    trial_set = results_dir(extravars) / stack / f"trials-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    trial_set.mkdir(parents=True)
    manifest = {"topology": str(Path(topology).resolve()), "seed": seed, "repeat": trials, "trials": []}
    for trial in range(1, trials + 1):
        seed_in_force = trial_seed(seed, trial)
        print(f"== Trial {trial} of {trials} (seed {seed_in_force})", file=sys.stderr, flush=True)
        rc, progress = play(
            topology, stack, inventory, {**extravars, "experiment_seed": str(seed_in_force)}, TRIAL_PHASES
        )
        if rc or not progress.report:
            manifest["failed_trial"] = trial
            _write_manifest(trial_set, manifest)
            print(f"Trial {trial} failed; the trials before it are in {trial_set}", file=sys.stderr)
            return rc or 1
        bundle = Path(progress.report).parent
        link = trial_set / f"trial-{trial}"
        os.symlink(os.path.relpath(bundle, trial_set), link)
        manifest["trials"].append(
            {"trial": trial, "seed": seed_in_force, "run_id": bundle.name, "bundle": link.name}
        )
        _write_manifest(trial_set, manifest)
    return _report(trial_set)


def _report(trial_set: Path) -> int:
    from report import compare
    from report.trials import design

    one = design(trial_set)
    (trial_set / "report.html").write_text(compare.render([one], compare.build([one])), encoding="utf-8")
    print(f"Report: {trial_set / 'report.html'}")
    return 0
