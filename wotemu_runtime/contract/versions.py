"""The version of the project (pyproject.toml reads it from here) and the image built from it."""

VERSION = "0.1.0"
IMAGE_NAME = "wotemu-runtime"


def image_tag() -> str:
    """The runtime image of this version: what roles/runtime_image builds and every stack runs."""
    return f"{IMAGE_NAME}:{VERSION}"
