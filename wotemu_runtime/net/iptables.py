"""The few iptables operations the network plane needs.

This is the one place that shells out. No maintained Python library drives iptables: the
`python-iptables` bindings are unmaintained and break against iptables-nft, and nftables' own
Python bindings are not published on PyPI. Everything else (links, addresses, routes, rules,
qdiscs) goes through pyroute2. `-w` waits for the xtables lock instead of failing when another
process (Docker, a sibling test) holds it.
"""

import subprocess


class IptablesError(Exception):
    """iptables is missing or refused a rule."""


def iptables(*args: str, table: str = "filter") -> str:
    try:
        done = subprocess.run(["iptables", "-w", "-t", table, *args], capture_output=True, text=True)
    except FileNotFoundError as ex:
        raise IptablesError("iptables is not installed (the runtime image ships it)") from ex
    if done.returncode != 0:
        raise IptablesError(f"iptables -t {table} {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def restore_chain(chain: str, rules: list[tuple[str, ...]], table: str = "filter") -> None:
    """Replace the rules of `chain` in one atomic step: one iptables-restore, not one iptables per
    rule (each call costs a process and a full table round trip). Declaring the chain flushes it;
    --noflush leaves every other chain as it is."""
    lines = [
        f"*{table}",
        f":{chain} - [0:0]",
        *(" ".join(("-A", chain, *rule)) for rule in rules),
        "COMMIT",
        "",
    ]
    try:
        done = subprocess.run(
            ["iptables-restore", "-w", "--noflush"], input="\n".join(lines), capture_output=True, text=True
        )
    except FileNotFoundError as ex:
        raise IptablesError("iptables-restore is not installed (the runtime image ships it)") from ex
    if done.returncode != 0:
        raise IptablesError(f"iptables-restore of {chain}: {done.stderr.strip()}")


def has_rule(*rule: str, table: str = "filter") -> bool:
    try:
        iptables("-C", *rule, table=table)
    except IptablesError:
        return False
    return True


def ensure_chain(chain: str, table: str = "filter") -> None:
    """Create `chain` empty (flushing what a previous run of the process may have left)."""
    if subprocess.run(["iptables", "-w", "-t", table, "-n", "-L", chain], capture_output=True).returncode:
        iptables("-N", chain, table=table)
    else:
        iptables("-F", chain, table=table)


def delete_rule(*rule: str, table: str = "filter") -> None:
    """Remove every copy of `rule`; absent is fine (clean-up must not fail halfway)."""
    while has_rule(*rule, table=table):
        iptables("-D", *rule, table=table)


def delete_chain(chain: str, table: str = "filter") -> None:
    if (
        subprocess.run(["iptables", "-w", "-t", table, "-n", "-L", chain], capture_output=True).returncode
        == 0
    ):
        iptables("-F", chain, table=table)
        iptables("-X", chain, table=table)
