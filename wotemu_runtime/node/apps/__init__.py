"""Built-in apps, chosen in a topology with `app: {builtin: NAME}`; each file is one app."""
