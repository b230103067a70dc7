"""Rendering the stack file from the stack model: the CLI and the Ansible roles (a filter) both call this."""

import json
from pathlib import Path

import jinja2

from wotemu_runtime.topology.normalise import secret_target

TEMPLATE = Path(__file__).resolve().parent / "stack.yml.j2"  # package data: in the wheel too


def _dollars_doubled(value):
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_dollars_doubled(item) for item in value]
    return value


def compose(value) -> str:
    """A compose value as JSON (a YAML flow scalar) that `docker stack deploy` leaves as it is:
    it would expand `$VAR` and `${VAR}` from the deploying shell's environment; `$$` is one `$`."""
    return json.dumps(_dollars_doubled(value))


def go_literal(value: str) -> str:
    """An env value that Swarm's Go templating gives back unchanged: each `{{` becomes the action
    `{{"{{"}}`, which prints it (a lone `}}` is already plain text to Go's parser)."""
    return value.replace("{{", '{{"{{"}}')


def render_stack(stack_model: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(compose=compose, go_literal=go_literal, secret_target=secret_target)
    return env.get_template(TEMPLATE.name).render(stack=stack_model)
