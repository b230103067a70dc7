"""Rendering the stack file from the stack model with the Ansible role's own template."""

from pathlib import Path

import jinja2

# One source of truth: the template belongs to the role that deploys; the CLI reads the same file.
TEMPLATE = Path(__file__).resolve().parents[2] / "roles" / "experiment" / "templates" / "stack.yml.j2"


def render_stack(stack_model: dict) -> str:
    if not TEMPLATE.is_file():
        raise FileNotFoundError(
            f"stack template not found at {TEMPLATE}: run wotemu from a checkout of the project"
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE.name).render(stack=stack_model)
