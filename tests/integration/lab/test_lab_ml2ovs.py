# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Neutron ML2/OVS lab (topology ml2ovs): real ovsdb-server and ovs-vswitchd per node in the lab's namespaces, the
openvswitch agent's bridges and flows, vxlan between nodes, the iptables_hybrid firewall, the DHCP agent's dnsmasq in
qdhcp-<network>, the L3 agent's router in qrouter-<router>; down leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from lab.ml2ovs import tunnel_port
from lab.sysutil import netns_list, pid_alive
from lab_probes import ping
from test_lab_lifecycle import _default_netns_snapshot, _processes_of

pytestmark = [pytest.mark.lab, pytest.mark.skipif(shutil.which('ovs-vswitchd') is None, reason='Open vSwitch is not installed')]


def _ns_inode(path):
    return os.stat(path).st_ino


def _ns(ns, *argv):
    return subprocess.run(['ip', 'netns', 'exec', ns] + list(argv), capture_output=True, text=True, check=True).stdout


def test_ml2ovs_lab_up_real_path_and_down(lab_factory):
    before = _default_netns_snapshot()
    lab = lab_factory('ml2ovs')
    st = lab.status()
    assert st['healthy'], st
    model = lab.state['model']
    vm1, vm2 = model['instances']['vm1'], model['instances']['vm2']
    net = model['networks']['private']
    router = model['router']
    # Neutron's names, from the port, network and router ids (which the lab derives with its own name)
    assert (vm1['tap'], vm1['qbr'], vm1['qvb'], vm1['qvo']) == tuple(p + vm1['port_id'][:11] for p in ('tap', 'qbr', 'qvb', 'qvo'))
    assert net['qdhcp'] == 'qdhcp-' + net['id'] and router['qrouter'] == 'qrouter-' + router['id']
    assert {net['qdhcp'], router['qrouter']} <= set(netns_list())
    # every daemon runs inside a namespace of the lab (the dnsmasq in qdhcp-), never in the default one
    lab_ns = {_ns_inode('/run/netns/%s' % ns) for ns in lab.state['namespaces']}
    procs = lab.state['processes']
    assert {k.split('-', 1)[1] for k in procs if k.startswith('compute1-')} == {'ovsdb-server', 'ovs-vswitchd'}
    assert procs['dnsmasq:%s' % net['qdhcp']]['netns'] == net['qdhcp']
    for key, p in procs.items():
        assert pid_alive(p['pid']), key
        if key != 'mariadbd':
            assert _ns_inode('/proc/%d/ns/net' % p['pid']) in lab_ns, key
    # the hybrid plug: tap and qvb in qbr, qvo an access port of br-int in the network's local VLAN, with os-vif's ids
    links = {x['ifname']: x for x in json.loads(_ns(lab.ns('compute1'), 'ip', '-j', 'link', 'show'))}
    assert links[vm1['tap']]['master'] == vm1['qbr'] and links[vm1['qvb']]['master'] == vm1['qbr']
    db = 'unix:%s/db.sock' % lab.hostdir('compute1', 'ovs')
    tag = _ns(lab.ns('compute1'), 'ovs-vsctl', '--db=' + db, 'get', 'port', vm1['qvo'], 'tag').strip()
    assert tag == str(model['nodes']['compute1']['lvids']['private'])
    ids = _ns(lab.ns('compute1'), 'ovs-vsctl', '--db=' + db, 'get', 'interface', vm1['qvo'], 'external_ids')
    assert vm1['port_id'] in ids and vm1['uuid'] in ids
    tunnels = _ns(lab.ns('compute1'), 'ovs-vsctl', '--db=' + db, 'list-ports', 'br-tun').split()
    assert sorted(tunnels) == sorted(['patch-int'] + [tunnel_port(n['tunnel_address']) for name, n in model['nodes'].items()
                                                      if name != 'compute1'])
    # the DHCP agent's files and its dnsmasq gave the instances their addresses and the network's MTU, across vxlan
    d = lab.hostdir('controller', 'var', 'lib', 'neutron', 'dhcp', net['id'])
    assert sorted(os.listdir(d)) == ['addn_hosts', 'host', 'interface', 'leases', 'opts', 'pid']
    with open(os.path.join(d, 'leases'), encoding='utf-8') as f:
        leases = f.read()
    assert vm1['mac'] in leases and vm2['mac'] in leases
    assert lab.lease('vm1')['ip'] == vm1['fixed_ip'] and lab.lease('vm1')['serverid'] == net['dhcp_port']['ip']
    assert ping(lab, 'vm1', vm2['fixed_ip'], count=3, wait=2)
    dp = _ns(lab.ns('compute1'), 'ovs-appctl', '-t', '%s/ovs-vswitchd.ctl' % lab.hostdir('compute1', 'ovs'), 'dpctl/dump-flows')
    assert 'tnl_push' in dp and 'vxlan' in dp, dp[:2000]
    # the firewall is in the path: vm1's ingress chain counts a ping that starts outside it (its own pings' answers are
    # established traffic, returned by the chain's first rule)
    assert ping(lab, 'vm2', vm1['fixed_ip'], count=2, wait=2)
    chain = 'neutron-openvswi-i' + vm1['port_id'][:10]
    rules = [ln for ln in _ns(lab.ns('compute1'), 'iptables-save', '-c').splitlines() if ln.endswith('-A %s -p icmp -j RETURN' % chain)]
    assert rules and not rules[0].startswith('[0:'), rules
    # out through the router's SNAT, in through its floating IP DNAT
    assert ping(lab, 'vm2', model['external']['servers'][0]['address'], count=3, wait=2)
    assert ping(lab, 'external', vm1['floating_ip'], count=3, wait=2)
    nat = _ns(router['qrouter'], 'iptables-save', '-t', 'nat')
    assert '-A neutron-l3-agent-PREROUTING -d %s/32 -j DNAT --to-destination %s' % (vm1['floating_ip'], vm1['fixed_ip']) in nat
    # the router's metadata proxy answers the instances' requests to 169.254.169.254 (the L3 agent's REDIRECT to 9697)
    from lab.core import Lab as _Lab
    ok, text = _Lab._metadata_request(lab.ns('vm1'))    # pylint: disable=protected-access
    assert ok and text == vm1['name'], text
    assert '-A neutron-l3-agent-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697' in nat
    lab.fault('ovs_metadata_proxy_dead', 'vm1')
    try:
        ok, text = _Lab._metadata_request(lab.ns('vm1'))    # pylint: disable=protected-access
        assert not ok and 'refused' in text, text
    finally:
        lab.heal()
    assert _Lab._metadata_request(lab.ns('vm1'))[0]   # pylint: disable=protected-access
    # the Neutron DB (real schema) says what the data plane does
    conn = lab.mariadb().connect('neutron')
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT b.port_id, b.host, b.vif_type, b.vif_details FROM ml2_port_bindings b JOIN ports p ON p.id = b.port_id'
                        " WHERE p.device_owner = 'compute:nova'")
            binds = {r[0]: (r[1], r[2], json.loads(r[3])['ovs_hybrid_plug']) for r in cur.fetchall()}
            cur.execute('SELECT network_type, segmentation_id FROM networksegments WHERE network_id = %s', (net['id'],))
            seg = cur.fetchone()
            cur.execute('SELECT a.host, a.agent_type FROM networkdhcpagentbindings b JOIN agents a ON a.id = b.dhcp_agent_id')
            dhcp = cur.fetchall()
            cur.execute('SELECT COUNT(*) FROM agents')
            n_agents = cur.fetchone()[0]
    finally:
        conn.close()
    assert binds == {i['port_id']: (i['host'], 'ovs', True) for i in (vm1, vm2)}
    assert seg == ('vxlan', net['segmentation_id'])
    flows = _ns(lab.ns('compute1'), 'ovs-ofctl', 'dump-flows', 'unix:%s/br-tun.mgmt' % lab.hostdir('compute1', 'ovs'), 'table=4')
    assert 'tun_id=0x%x' % seg[1] in flows
    assert list(dhcp) == [('controller', 'DHCP agent')] and n_agents == len(model['nodes']) + 2
    # up again: nothing is rebuilt
    pids = {k: p['pid'] for k, p in procs.items()}
    lab.up('ml2ovs')
    assert {k: p['pid'] for k, p in lab.state['processes'].items()} == pids
    namespaces = list(lab.state['namespaces'])
    lab.down()
    assert not [n for n in netns_list() if n in namespaces]
    assert not [p for p in pids.values() if pid_alive(p)]
    assert not _processes_of(lab, namespaces)
    assert not os.path.exists(lab.root)
    assert _default_netns_snapshot() == before


def test_two_ml2ovs_labs_never_share_a_neutron_namespace(tmp_path):
    from lab.ovn import load_model
    from lab.topology import topology_path
    a, b = load_model(topology_path('ml2ovs'), salt='la'), load_model(topology_path('ml2ovs'), salt='lb')
    assert a['networks']['private']['qdhcp'] != b['networks']['private']['qdhcp']
    assert a['router']['qrouter'] != b['router']['qrouter']
    assert load_model(topology_path('ml2ovs'), salt='la') == a
    bad = tmp_path / 'bad.yml'
    bad.write_text('name: bad\nbackend: linuxbridge\nnodes: []\n')
    from lab.topology import TopologyError
    with pytest.raises(TopologyError, match="backend 'linuxbridge' is not one of ovn, ml2ovs"):
        load_model(str(bad))
