"""testinfra checks of the lab's compute nodes, reached through the lab inventory."""

import json


def test_every_bridge_is_up_and_has_a_vnet_port(host):
    bridges = json.loads(host.check_output('ip -j link show type bridge'))
    assert bridges, 'a compute node without a bridge'
    ports = json.loads(host.check_output('bridge -j link show'))
    for br in bridges:
        assert 'UP' in br['flags'], br['ifname']
        members = [p['ifname'] for p in ports if p.get('master') == br['ifname']]
        assert any(m.startswith('vnet') for m in members), (br['ifname'], members)


def test_dnsmasq_runs_with_nova_network_arguments(host):
    procs = host.check_output("ps -eo args | grep '[d]nsmasq' || true")
    assert '--dhcp-hostsfile=' in procs
    assert '--strict-order' in procs


def test_nova_network_nat_chains_present(host):
    out = host.check_output('iptables-save -t nat')
    assert ':nova-network-PREROUTING' in out
    assert '-j DNAT' in out
