"""`wotemu import`: original WoTemu topology files run against our model layer and convert."""

import sys
import types
from pathlib import Path

import pytest
import yaml

from wotemu_runtime import cli
from wotemu_runtime.topology.upstream import convert, load_topology
from wotemu_runtime.topology.validate import validate_file

UPSTREAM = Path(__file__).parent / "upstream"


def test_the_original_quickstart_converts_and_validates(tmp_path, capsys):
    output = tmp_path / "quickstart.yml"
    assert cli.main(["import", str(UPSTREAM / "quickstart.py"), "-o", str(output)]) == 0
    assert yaml.safe_load(output.read_text()) == {
        "experiment": {"name": "quickstart", "duration": "manual"},
        "networks": [{"name": "3g", "conditions": "regular_3g"}],
        "nodes": [
            {
                "name": "server",
                "app": {
                    "url": "https://gist.github.com/agmangas/94cc5c3d9d5dcb473cff774b3522bbb6/raw",
                    "protocols": ["http"],
                },
                "networks": ["3g"],
                "scale": 1,
            },
            {
                "name": "reader",
                "app": {
                    "builtin": "reader",
                    "params": {"servient_host": "server.3g", "thing_id": "urn:wotemu:quickstart:thing"},
                    "protocols": [],
                },
                "networks": ["3g"],
                "scale": 4,
                "resources": {"mem_limit": "150M"},
            },
        ],
    }
    topology = validate_file(output)
    assert topology.networks[0].netem.delay == 300.0  # the original's REGULAR_3G figures
    assert "converted and valid" in capsys.readouterr().out


def test_what_cannot_be_converted_is_named_with_its_line(tmp_path, capsys):
    output = tmp_path / "out.yml"
    assert cli.main(["import", str(UPSTREAM / "unconvertible.py"), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    for line, what in [
        (9, "network edge_net: args_compose_gw"),
        (10, "network custom: netem rate_burst"),
        (12, "node camera: app CAMERA"),  # the node is left out
        (18, "node slow: target_cpu_speed"),
        (13, "node slow: args_compose"),
        (20, "node slow: service mongo"),
    ]:
        assert f"line {line}: {what} not converted" in err
    assert "renamed 'edgeNet' to 'edge-net'" in err
    document = yaml.safe_load(output.read_text())
    assert document["networks"][1] == {
        "name": "custom",
        "netem": {"delay": "50ms", "jitter": "5ms", "rate": "1mbit"},
    }
    (slow,) = document["nodes"]
    assert slow["broker"] == "broker" and slow["app"]["protocols"] == ["mqtt"]
    assert document["brokers"] == [{"name": "broker", "networks": ["edge-net"]}]
    assert "valid, without the 6 settings above" in err  # the rest converted and validates


def test_the_fake_package_lives_only_for_the_import(monkeypatch):
    real = types.ModuleType("wotemu")
    monkeypatch.setitem(sys.modules, "wotemu", real)
    convert(UPSTREAM / "quickstart.py", "quickstart")
    assert sys.modules["wotemu"] is real
    assert "wotemu.topology.models" not in sys.modules


def test_the_originals_own_checks_still_refuse(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(
        "from wotemu.topology.models import Network, Node, NodeApp, Topology\n"
        "def topology():\n"
        "    net = Network(name='n')\n"
        "    return Topology(nodes=[Node(name='a', app=NodeApp(path='x.py', mqtt=True), networks=[net])])\n"
    )
    with pytest.raises(ValueError, match="broker should be defined"):
        load_topology(source)
