"""Control-plane helpers: run status, the final swarm snapshot, the bundle's run.json, `wotemu run`."""
