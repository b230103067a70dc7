"""WoTemu runtime: topology model (control machine) and container roles (gateway, node, broker, store)."""

from wotemu_runtime.contract.versions import VERSION as __version__

__all__ = ["__version__"]
