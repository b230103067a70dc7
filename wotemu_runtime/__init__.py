"""WoTemu runtime: topology model (control machine) and container roles (gateway, node, broker, store)."""

__version__ = "0.1.0"
