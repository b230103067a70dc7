"""Ansible filters that hand the topology to the project's Python model (one source of truth)."""

import importlib.util
from collections.abc import Mapping
from pathlib import Path

from ansible.errors import AnsibleFilterError

from wotemu_runtime.control.runinfo import hosts_from_swarm, networks_from_docker, run_info
from wotemu_runtime.control.snapshot import tasks_snapshot
from wotemu_runtime.topology.errors import TopologyError
from wotemu_runtime.topology.normalise import build_stack_model, new_run_id, stopped
from wotemu_runtime.topology.render import render_stack
from wotemu_runtime.topology.schema import MANUAL
from wotemu_runtime.topology.validate import read_document, topology_of

REFUSED_VARIABLES = (
    "the topology arrived as Ansible variables (-e @FILE), and Ansible evaluates variables as "
    "templates: a topology file is data, so nothing was read or deployed. Name the file instead: "
    "-e topology=FILE (or `wotemu run FILE`)."
)


def _plain(value):
    """Ansible's lazy, tagged containers as the plain JSON values they hold (for pydantic)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def wotemu_topology(source, project_dir):
    """Read and validate a topology file, as plain data, once per run: the document every phase uses."""
    if not isinstance(source, str):
        raise AnsibleFilterError(REFUSED_VARIABLES)
    base_dir = Path(project_dir)
    path = Path(source) if Path(source).is_absolute() else base_dir / source
    try:
        return read_document(path, base_dir=base_dir)
    except TopologyError as ex:
        raise AnsibleFilterError(f"the topology is not valid; nothing was deployed:\n{ex}") from None


def wotemu_stack(
    document,
    project_dir,
    run_id=None,
    hosts=None,
    networks=(),
    files_dir=None,
    duration=0,
    seed=None,
    manual=False,
):
    """The stack model of a validated topology document (checked against the swarm's `hosts` and its
    `networks` if given).

    `duration` (seconds; 0 = the topology's) is the `experiment_duration` override, `seed` (None = the
    topology's) the `experiment_seed` one (a trial's); `manual` (the `experiment_manual` override)
    makes the run last until it is stopped."""
    try:
        topology = topology_of(_plain(document), _plain(hosts), _plain(networks))
    except TopologyError as ex:
        message = f"the topology does not fit the swarm; nothing was deployed:\n{ex}"
        raise AnsibleFilterError(message) from None
    return build_stack_model(
        topology,
        run_id or new_run_id(topology.experiment.name),
        base_dir=Path(project_dir),
        files_dir=files_dir,
        duration=MANUAL if manual else float(duration) or None,
        seed=None if seed is None else int(seed),
    )


def wotemu_image(project_dir):
    """The runtime image of the project in `project_dir` (`name`, `version`, `tag`), from its contract:
    that checkout's, which may differ from the installed package the other filters import."""
    path = Path(project_dir, "wotemu_runtime", "contract", "versions.py")
    spec = importlib.util.spec_from_file_location("wotemu_project_versions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"name": module.IMAGE_NAME, "version": module.VERSION, "tag": module.image_tag()}


class FilterModule:
    def filters(self):
        return {
            "wotemu_topology": wotemu_topology,
            "wotemu_stack": wotemu_stack,
            "wotemu_stopped": stopped,
            "wotemu_stack_file": render_stack,
            "wotemu_hosts": hosts_from_swarm,
            "wotemu_networks": networks_from_docker,
            "wotemu_tasks_snapshot": tasks_snapshot,
            "wotemu_run_info": run_info,
            "wotemu_image": wotemu_image,
        }
