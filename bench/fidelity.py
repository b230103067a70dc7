"""Fidelity of the network plane: how close each shaping backend comes to the configured conditions.

NetEm is measured inside user-mode Linux (this host's kernel has no sch_netem), the userspace
shaper on the host, both behind the real gateway with the same plan and judge
(`wotemu_testbench.fidelity`, where the accounting is stated). Writes out_dir/fidelity.json.
"""

import json
import os
from pathlib import Path

from wotemu_testbench.fidelity import evaluate, max_pps, plan, ran_backend
from wotemu_testbench.lab import Lab, run_plan
from wotemu_testbench.uml import run_plan_in_uml


def main(out_dir: Path) -> None:
    # Each result carries the backend its gateways reported (in UML: NetEm; on this host: userspace).
    uml = run_plan_in_uml(plan())
    records = evaluate(ran_backend(uml["gateways"]), uml["steps"])
    with Lab(f"wtnb{os.getpid() % 100000}") as lab:
        steps = run_plan(lab, plan())  # first: the gateways report their backend once they run
        records += evaluate(ran_backend(lab.records("info")), steps)
        records.append(max_pps(lab))
    (out_dir / "fidelity.json").write_text(json.dumps(records, indent=1))
    for r in records:
        error = "" if r["error_pct"] is None else f"{r['error_pct']:+7.2f} %"
        print(f"{r['backend']:9} {r['param']:9} {r['target']!s:>5} {r['measured']:10.3f} {r['unit']:34} "
              f"{error:>9}  {'ok' if r['within_goal'] else 'MISSED'}")  # fmt: skip
