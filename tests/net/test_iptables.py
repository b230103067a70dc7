"""The chains the network plane installs in one iptables-restore each, and their removal, in a
namespace of the lab (the host's own tables are never touched)."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json
    import subprocess
    from wotemu_runtime.net.iptables import remove_chain, restore_chain

    def rules():
        return [line for line in subprocess.run(["iptables", "-S"], capture_output=True, text=True,
                check=True).stdout.splitlines() if "WTTEST" in line]

    hook = ("FORWARD", "-i", "eth0", "-j", "WTTEST")
    comment = ("-m", "comment", "--comment", "wotemu http request")
    restore_chain("WTTEST", [("-p", "tcp", "--dport", "80", *comment, "-j", "RETURN")],
                  hook=("-I", hook[0], "1", *hook[1:]))
    print(json.dumps(rules()))
    restore_chain("WTTEST", [], hook=("-I", hook[0], "1", *hook[1:]))  # hooked twice, now empty
    print(json.dumps(rules()))
    remove_chain("WTTEST", hook)  # refused in one step (two hooks): removed step by step
    print(json.dumps(rules()))
    remove_chain("WTTEST", hook)  # already gone: fine
    print(json.dumps(rules()))
    """
)


def test_a_chain_is_installed_with_its_hook_and_removed_whatever_is_left(lab):
    proc = lab.spawn("g", [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    installed, rehooked, removed, again = map(json.loads, out.splitlines())
    assert installed == [
        "-N WTTEST",
        "-A FORWARD -i eth0 -j WTTEST",
        '-A WTTEST -p tcp -m tcp --dport 80 -m comment --comment "wotemu http request" -j RETURN',
    ]
    assert rehooked == ["-N WTTEST", "-A FORWARD -i eth0 -j WTTEST", "-A FORWARD -i eth0 -j WTTEST"]
    assert removed == again == []
