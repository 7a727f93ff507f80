"""testinfra checks of the lab's compute nodes, reached through the lab inventory.

testinfra runs a host with ``ansible_connection: local`` through its local backend, which ignores
the interpreter wrapper that puts Ansible's modules inside the lab host's namespace; the commands
here therefore enter the namespace the inventory names (``netdiag_lab_netns``) themselves.
"""

import json
import shlex


def _run(host, cmd):
    netns = host.ansible.get_variables()['netdiag_lab_netns']
    return host.check_output('ip netns exec %s %s' % (shlex.quote(netns), cmd))


def test_every_bridge_is_up_and_has_a_vnet_port(host):
    bridges = json.loads(_run(host, 'ip -j link show type bridge'))
    assert bridges, 'a compute node without a bridge'
    ports = json.loads(_run(host, 'bridge -j link show'))
    for br in bridges:
        assert 'UP' in br['flags'], br['ifname']
        members = [p['ifname'] for p in ports if p.get('master') == br['ifname']]
        assert any(m.startswith('vnet') for m in members), (br['ifname'], members)


def test_dnsmasq_serves_from_this_namespace(host):
    netns = host.ansible.get_variables()['netdiag_lab_netns']
    pids = host.check_output('ip netns pids %s' % shlex.quote(netns)).split()
    args = [host.file('/proc/%s/cmdline' % pid).content_string.replace('\0', ' ') for pid in pids]
    dnsmasq = [a for a in args if a.split(' ')[0].endswith('dnsmasq')]
    assert dnsmasq, 'no dnsmasq in %s' % netns
    assert all('--dhcp-hostsfile=' in a and '--strict-order' in a for a in dnsmasq)


def test_nova_network_nat_chains_present(host):
    out = _run(host, 'iptables-save -t nat')
    assert ':nova-network-PREROUTING' in out
    assert '-j DNAT' in out
