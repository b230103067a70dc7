import json

from wotemu.enums import NetworkConditions
from wotemu.topology.models import (BuiltinApps, Broker, Network, Node, NodeApp,
                                    NodeResources, Service, Topology)


def topology():
    net_edge = Network(name="edgeNet", conditions=NetworkConditions.WIFI, args_compose_gw={"labels": {"a": "b"}})
    net_custom = Network(name="custom", netem=[json.dumps({"latency": 50, "jitter": 5, "rate": "1mbit", "rate_burst": "50kbit"})])
    broker = Broker(name="broker", networks=[net_edge])
    camera = Node(name="camera", app=NodeApp(path=BuiltinApps.CAMERA, http=True), networks=[net_edge])
    slow = Node(
        name="slow",
        app=NodeApp(path=BuiltinApps.CLOCK, mqtt=True, params={"interval": 2}),
        networks=[net_edge, net_custom],
        broker=broker,
        resources=NodeResources(target_cpu_speed=500, mem_limit="100M"),
        args_compose={"deploy": {"labels": {"x": "y"}}})
    slow.link_service(Service(name="mongo", image="mongo:4"))
    return Topology(nodes=[camera, slow])
