"""Rendering the stack file from the stack model: the CLI and the Ansible roles (a filter) both call this."""

from pathlib import Path

import jinja2

TEMPLATE = Path(__file__).resolve().parent / "stack.yml.j2"  # package data: in the wheel too


def render_stack(stack_model: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE.name).render(stack=stack_model)
