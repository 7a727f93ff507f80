# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Neutron ML2/OVN lab (topology ovn): real ovsdb-server, ovs-vswitchd, ovn-northd and ovn-controller in the
lab's namespaces, geneve between chassis, OVN native DHCP; down leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from lab import Lab
from lab.sysutil import netns_list, pid_alive
from lab_probes import ping
from test_lab_lifecycle import _default_netns_snapshot, _processes_of

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(shutil.which('ovn-controller') is None, reason='OVN is not installed (ovn-host, ovn-central)')]


def _netns_inode(path):
    return os.stat(path).st_ino


def _sb(lab, *args):
    return subprocess.run(['ovn-sbctl', '--db=unix:%s/ovn-central/sb.sock' % lab.root, '--format=json'] + list(args),
                          capture_output=True, text=True, check=True).stdout


def test_ovn_lab_up_ping_across_the_tunnel_and_down(lab_factory):
    before = _default_netns_snapshot()
    lab = lab_factory('ovn')
    st = lab.status()
    assert st['healthy'], st
    model = lab.state['model']
    # every daemon runs inside a namespace of the lab, never in the default one
    lab_ns = {_netns_inode('/run/netns/%s' % ns) for ns in lab.state['namespaces']} | {
        _netns_inode(p) for p in lab.state['local_namespaces']}
    procs = lab.state['processes']
    assert {k.split('-', 1)[1] for k in procs if k.startswith('compute1-')} == {'ovsdb-server', 'ovs-vswitchd', 'ovn-controller'}
    assert {'ovn-nb-ovsdb-server', 'ovn-sb-ovsdb-server', 'ovn-northd'} <= set(procs)
    for key, p in procs.items():
        assert pid_alive(p['pid']), key
        if key != 'mariadbd':       # the lab's private MariaDB listens on loopback only, as in the other topologies
            assert _netns_inode('/proc/%d/ns/net' % p['pid']) in lab_ns, key
    # Neutron's names: the logical switch of the network, the port named by its uuid, the tap from the port id
    vm1, vm2 = model['instances']['vm1'], model['instances']['vm2']
    assert vm1['tap'] == 'tap' + vm1['port_id'][:11] and len(vm1['tap']) == 14
    links = json.loads(subprocess.run(['ip', '-n', lab.ns(vm1['host']), '-j', 'link', 'show', vm1['tap']],
                                      capture_output=True, text=True, check=True).stdout)
    assert links[0]['operstate'] in ('UP', 'UNKNOWN') and links[0]['mtu'] == model['networks']['private']['mtu']
    # each port is bound to the chassis of its compute node in the SB DB
    chassis = {r[0]: r[1] for r in json.loads(_sb(lab, '--columns=name,hostname', 'list', 'chassis'))['data']}
    for inst in (vm1, vm2):
        rows = json.loads(_sb(lab, '--columns=chassis', 'find', 'port_binding', 'logical_port=%s' % inst['port_id']))['data']
        bound = rows[0][0][1]
        names = json.loads(_sb(lab, '--columns=hostname', 'list', 'chassis', bound))['data']
        assert names[0][0] == inst['host'], (inst, chassis)
    # the instances got their fixed IPs and the network's MTU from OVN's DHCP, and reach each other over geneve
    assert lab.lease('vm1')['ip'] == vm1['fixed_ip'] and lab.lease('vm2')['ip'] == vm2['fixed_ip']
    assert ping(lab, 'vm1', vm2['fixed_ip'], count=3, wait=2)
    geneve = subprocess.run(['ip', 'netns', 'exec', lab.ns('compute1'), 'ovs-appctl', '-t', '%s/ovs-vswitchd.ctl' % lab.hostdir('compute1', 'ovs'),
                             'dpctl/dump-flows'], capture_output=True, text=True, check=True).stdout
    assert 'tnl_push' in geneve or 'geneve' in geneve, geneve[:2000]
    # the Neutron DB (real schema) says what the data plane does: the ports, their addresses, their bindings' hosts
    conn = lab.mariadb().connect('neutron')
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT p.id, p.mac_address, p.device_id, p.status, b.host, b.vif_type, i.ip_address, n.id, n.mtu'
                        ' FROM ports p JOIN ml2_port_bindings b ON b.port_id = p.id JOIN ipallocations i ON i.port_id = p.id'
                        ' JOIN networks n ON n.id = p.network_id WHERE p.device_owner = %s', ('compute:nova',))
            db_ports = {r[0]: r[1:] for r in cur.fetchall()}
            cur.execute("SELECT p.id, p.device_id, p.status, i.ip_address FROM ports p JOIN ipallocations i ON i.port_id = p.id"
                        " WHERE p.device_owner = 'network:distributed'")
            db_meta = cur.fetchall()
            cur.execute('SELECT COUNT(*) FROM standardattributes')
            n_std = cur.fetchone()[0]
    finally:
        conn.close()
    net = model['networks']['private']
    assert [tuple(r) for r in db_meta] == [(net['metadata_port_id'], net['ovnmeta'], 'DOWN', net['metadata_ip'])]
    assert db_ports == {i['port_id']: (i['mac'], i['uuid'], 'ACTIVE', i['host'], 'ovs', i['fixed_ip'], net['id'], net['mtu'])
                        for i in (vm1, vm2)}
    # private: network, segment, subnet, security group, its 6 rules, 2 ports, the metadata port; public: network,
    # segment, subnet; router, its gateway and interface ports, the floating IP and its port
    assert n_std == 1 + 1 + 1 + 1 + 6 + 2 + 1 + 3 + 1 + 2 + 2
    # neutron-ovn-metadata-agent's work on each chassis with a port of the network: ovnmeta-<network id>, a namespace of
    # that node only (its processes see it, and only it, under /run/netns), the veth pair tap<network id[:10]>0 on br-int
    # bound to the metadata port (a localport) and tap<...>1 inside with the port's address and 169.254.169.254; the
    # instance's route to 169.254.169.254 through the port (DHCP option 121), and its metadata from the proxy there
    for inst in (vm1, vm2):
        node = inst['host']
        seen = subprocess.run([lab.state['hosts'][node]['python'], '-c', 'import os; print(sorted(os.listdir("/run/netns")))'],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert seen == str([net['ovnmeta']]), seen
        assert net['ovnmeta'] not in netns_list()           # not a name of the machine's
        inner = json.loads(subprocess.run(['nsenter', '--net=%s' % lab.local_netns_path(node, net['ovnmeta']), 'ip', '-j', 'addr', 'show',
                                           net['metadata_veth'][1]], capture_output=True, text=True, check=True).stdout)[0]
        assert inner['address'] == net['metadata_mac'] and \
            {'%s/%s' % (a['local'], a['prefixlen']) for a in inner['addr_info'] if a['family'] == 'inet'} == \
            {'%s/%d' % (net['metadata_ip'], net['prefixlen']), '169.254.169.254/32'}
        iface = subprocess.run(['ip', 'netns', 'exec', lab.ns(node), 'ovs-vsctl', '--db=unix:%s/db.sock' % lab.hostdir(node, 'ovs'),
                                'get', 'interface', net['metadata_veth'][0], 'external_ids:iface-id'],
                               capture_output=True, text=True, check=True).stdout.strip().strip('"')
        assert iface == net['metadata_port_id']
        route = subprocess.run(['ip', '-n', lab.ns(inst['hostname']), 'route', 'get', '169.254.169.254'], capture_output=True, text=True,
                               check=True).stdout
        assert 'via %s ' % net['metadata_ip'] in route, route
        ok, text = Lab._metadata_request(lab.ns(inst['hostname']))      # pylint: disable=protected-access
        assert ok and text == inst['name'], text
    mp = json.loads(_sb(lab, '--columns=type,chassis', 'find', 'port_binding', 'logical_port=%s' % net['metadata_port_id']))['data']
    assert mp[0][0] == 'localport'
    local = list(lab.state['local_namespaces'])
    assert len(local) == 2 and all(os.path.ismount(p) for p in local)
    # out through the router (SNAT on the gateway chassis), and in through the floating IP (dnat_and_snat)
    ext = model['external']['servers'][0]['address']
    assert ping(lab, 'vm2', ext, count=3, wait=2)
    assert ping(lab, 'external', vm1['floating_ip'], count=3, wait=2)
    # up again: nothing is rebuilt
    pids = {k: p['pid'] for k, p in procs.items()}
    lab.up('ovn')
    assert {k: p['pid'] for k, p in lab.state['processes'].items()} == pids
    namespaces = list(lab.state['namespaces'])
    lab.down()
    assert not [n for n in netns_list() if n in namespaces]
    assert not [p for p in pids.values() if pid_alive(p)]
    assert not _processes_of(lab, namespaces)
    assert not os.path.exists(lab.root) and not [p for p in local if os.path.ismount(p)]
    assert _default_netns_snapshot() == before


def test_ovn_topology_errors_are_named(tmp_path):
    from lab.ovn import load_model
    from lab.topology import TopologyError
    bad = tmp_path / 'bad.yml'
    bad.write_text('name: bad\nbackend: ovn\nnodes:\n  - {name: c1, role: compute, tunnel_address: 192.168.50.1}\n')
    with pytest.raises(TopologyError, match='exactly one controller'):
        load_model(str(bad))
    bad.write_text('name: bad\nbackend: ovn\nnodes:\n  - {name: c1, role: controller, tunnel_address: 10.9.9.9}\n')
    with pytest.raises(TopologyError, match='outside'):
        load_model(str(bad))
    lab = Lab('ovbad')
    assert not lab.state
