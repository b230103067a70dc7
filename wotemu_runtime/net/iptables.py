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


def restore_chain(
    chain: str, rules: list[tuple[str, ...]], table: str = "filter", hook: tuple[str, ...] = ()
) -> None:
    """Replace the rules of `chain` in one atomic step: one iptables-restore, not one iptables per
    rule (each call costs a process and a full table round trip: under user-mode Linux's ptrace,
    going from 22 calls to 4 took a gateway's start from 9-10 s to 5.3 s). Declaring the chain
    creates or flushes it; --noflush leaves every other chain as it is. `hook`, a rule in another
    chain that jumps here (such as `-I FORWARD 1 ... -j chain`), is added in the same step."""
    lines = [
        f":{chain} - [0:0]",
        *(_restore_line(("-A", chain, *rule)) for rule in rules),
        *([_restore_line(hook)] if hook else []),
    ]
    _restore(table, lines, chain)


def remove_chain(chain: str, hook: tuple[str, ...], table: str = "filter") -> None:
    """Unhook `chain` (its `hook` rule, as `-C` names it) and delete it, in one iptables-restore; when
    that is refused (either already gone, or hooked twice), step by step, absent being fine:
    clean-up must not fail halfway."""
    try:
        _restore(table, [_restore_line(("-D", *hook)), f"-F {chain}", f"-X {chain}"], chain)
    except IptablesError:
        delete_rule(*hook, table=table)
        delete_chain(chain, table=table)


def _restore(table: str, lines: list[str], chain: str) -> None:
    try:
        done = subprocess.run(
            ["iptables-restore", "-w", "--noflush"],
            input="\n".join([f"*{table}", *lines, "COMMIT", ""]),
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as ex:
        raise IptablesError("iptables-restore is not installed (the runtime image ships it)") from ex
    if done.returncode != 0:
        raise IptablesError(f"iptables-restore of {chain}: {done.stderr.strip()}")


def _restore_line(rule: tuple[str, ...]) -> str:
    """A rule as iptables-restore reads it: a word with spaces (a comment) in double quotes."""
    return " ".join(f'"{word}"' if " " in word else word for word in rule)


def has_rule(*rule: str, table: str = "filter") -> bool:
    try:
        iptables("-C", *rule, table=table)
    except IptablesError:
        return False
    return True


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
