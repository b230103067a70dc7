"""The contract between the parts: what the topology normaliser, the stack, the containers, the
exporter and the report agree on (docs/design.md §8). Each fact is stated here once.

* `versions`: the project's version and the runtime image's tag.
* `ports`: the application ports and the transports each protocol uses.
* `conditions`: the canonical network conditions (§8.2).
* `keys`: the Redis keys of a run (§8.3).
* `records`: the record kinds and their fields (§8.3).
* `config`: the service config of each role (§8.1), parsed once when a container starts.
"""
