"""Ansible filters that hand the topology to the project's Python model (one source of truth)."""

from pathlib import Path

from ansible.errors import AnsibleFilterError

from wotemu_runtime.control.runinfo import hosts_from_swarm, run_info
from wotemu_runtime.control.snapshot import tasks_snapshot
from wotemu_runtime.topology.errors import TopologyError
from wotemu_runtime.topology.normalise import build_stack_model, new_run_id, stopped
from wotemu_runtime.topology.validate import validate_document, validate_file


def wotemu_stack(source, project_dir, run_id=None, hosts=None, files_dir=None, image=None, stopping=False):
    """Validate a topology (a file path, or the document given as variables) and build its stack model."""
    base_dir = Path(project_dir)
    try:
        if isinstance(source, str):
            path = Path(source) if Path(source).is_absolute() else base_dir / source
            topology = validate_file(path, base_dir=base_dir, hosts=hosts)
        else:
            topology = validate_document(
                dict(source), "topology variables (-e @FILE)", base_dir=base_dir, hosts=hosts
            )
    except TopologyError as ex:
        raise AnsibleFilterError(f"the topology is not valid; nothing was deployed:\n{ex}") from None
    model = build_stack_model(
        topology,
        run_id or new_run_id(topology.experiment.name),
        base_dir=base_dir,
        image=image,
        files_dir=files_dir,
    )
    return stopped(model) if stopping else model


class FilterModule:
    def filters(self):
        return {
            "wotemu_stack": wotemu_stack,
            "wotemu_stopped": stopped,
            "wotemu_hosts": hosts_from_swarm,
            "wotemu_tasks_snapshot": tasks_snapshot,
            "wotemu_run_info": run_info,
        }
