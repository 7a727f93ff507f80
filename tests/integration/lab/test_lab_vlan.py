# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vlan lab: VlanManager multi_host, two computes, two tenant networks, a terminated instance
whose floating IP is still associated in the DB."""

from __future__ import annotations

import json
import os

import pytest

from lab_probes import (assert_instance_port, assert_syslog_format, capture_sources, db_row, dnsmasq_argv, ipv4_of,
                        link_json, nova_dnsmasq_args, ping, resolve, sh)

pytestmark = pytest.mark.lab


def active(lab):
    return [i for i in lab.model['instances'].values() if i['state'] == 'active']


def ext_ip(lab):
    return lab.model['external']['servers'][0]['address']


def snat_source(lab, inst):
    ext = lab.model['external']['servers'][0]
    srcs = capture_sources(lab, ext['name'], lambda: ping(lab, inst['hostname'], ext['address']),
                           'icmp[icmptype] = icmp-echo and dst host %s' % ext['address'], timeout=4)
    return srcs[0] if srcs else None


def test_topology_shape(vlan_lab):
    insts = active(vlan_lab)
    assert len(insts) >= 4 and {i['host'] for i in insts} == {'compute1', 'compute2'}
    assert len({i['network'] for i in insts}) == 2


def test_each_instance_leased_its_db_address_from_its_own_host(vlan_lab):
    for inst in active(vlan_lab):
        lease = vlan_lab.lease(inst['hostname'])
        rows = db_row(vlan_lab, 'SELECT f.address, i.host FROM fixed_ips f JOIN instances i ON f.instance_uuid = i.uuid'
                                ' WHERE i.hostname = %s AND i.deleted = 0 AND f.allocated = 1', (inst['hostname'],))
        assert [(r['address'], r['host']) for r in rows] == [(lease['ip'], inst['host'])]
        assert ipv4_of(vlan_lab, inst['hostname']) == [lease['ip']]
        assert lease['serverid'] == vlan_lab.model['computes'][inst['host']]['networks'][inst['network']]
        syslog = open(vlan_lab.compute_paths(inst['host'])['syslog']).read()
        assert 'DHCPACK(%s) %s %s %s' % (inst['bridge'], lease['ip'], inst['mac'], inst['hostname']) in syslog


def test_one_bridge_and_one_dnsmasq_per_tenant_network(vlan_lab):
    model = vlan_lab.model
    for cname, comp in model['computes'].items():
        dnsmasqs = sorted(k for k in vlan_lab.state['processes'] if k.startswith('dnsmasq:%s:' % cname))
        assert dnsmasqs == sorted('dnsmasq:%s:%s' % (cname, model['networks'][label]['bridge']) for label in comp['networks'])
        for label in comp['networks']:
            br = model['networks'][label]['bridge']
            pid, argv = dnsmasq_argv(vlan_lab, cname, br)
            nova, extra = nova_dnsmasq_args(vlan_lab, cname, label)
            assert argv[1:len(nova) + 1] == nova and argv[len(nova) + 1:-1] == extra
            assert os.stat('/proc/%d/ns/net' % pid).st_ino == os.stat('/run/netns/%s' % vlan_lab.ns(cname)).st_ino
            assert link_json(vlan_lab, cname, br)['linkinfo']['info_kind'] == 'bridge'
        assert_syslog_format(vlan_lab.compute_paths(cname)['syslog'], cname)
    for inst in active(vlan_lab):
        assert_instance_port(vlan_lab, inst)


def test_external_ping_and_snat(vlan_lab):
    for inst in active(vlan_lab):
        assert ping(vlan_lab, inst['hostname'], ext_ip(vlan_lab))
        expected = inst['floating_ip'] or vlan_lab.model['computes'][inst['host']]['public_address']
        assert snat_source(vlan_lab, inst) == expected


def test_same_tenant_across_hosts_over_the_vlan(vlan_lab):
    by_net = {}
    for inst in active(vlan_lab):
        by_net.setdefault(inst['network'], []).append(inst)
    for insts in by_net.values():
        a, b = insts[0], insts[1]
        assert a['host'] != b['host']
        assert ping(vlan_lab, a['hostname'], b['fixed_ip'])


def test_dns_and_vlan_devices(vlan_lab):
    for inst in active(vlan_lab):
        assert resolve(vlan_lab, inst['hostname'], 'www.example.org') == [ext_ip(vlan_lab)]
    for cname in vlan_lab.model['computes']:
        links = {ln['ifname']: ln for ln in json.loads(sh(vlan_lab.ns(cname), ['ip', '-j', '-d', 'link', 'show']).stdout)}
        for net in vlan_lab.model['networks'].values():
            dev = links['vlan%d' % net['vlan']]
            assert dev['master'] == net['bridge']
            assert dev['linkinfo']['info_kind'] == 'vxlan' and dev['linkinfo']['info_data']['id'] == net['vlan']
            assert vlan_lab.state['processes']['dnsmasq:%s:%s' % (cname, net['bridge'])]['pid']
        conf = open(vlan_lab.compute_paths(cname)['nova_conf']).read()
        assert 'network_manager = nova.network.manager.VlanManager' in conf and 'vlan_interface = eth1' in conf


def test_terminated_instance_keeps_its_floating_ip_in_the_db(vlan_lab):
    old = [i for i in vlan_lab.model['instances'].values() if i['state'] == 'deleted'][0]
    rows = db_row(vlan_lab, 'SELECT i.deleted, i.id, i.vm_state, i.deleted_at, f.allocated, fl.host FROM floating_ips fl'
                            ' JOIN fixed_ips f ON fl.fixed_ip_id = f.id JOIN instances i ON i.uuid = f.instance_uuid'
                            ' WHERE fl.address = %s AND fl.deleted = 0', (old['floating_ip'],))
    assert len(rows) == 1
    r = rows[0]
    assert r['deleted'] == r['id'] and r['vm_state'] == 'deleted' and r['deleted_at'] is not None
    assert r['allocated'] == 0 and r['host'] == old['host']
    vifs = db_row(vlan_lab, 'SELECT id, deleted, deleted_at, address FROM virtual_interfaces WHERE instance_uuid = %s', (old['uuid'],))
    assert len(vifs) == 1 and vifs[0]['deleted'] == vifs[0]['id'] and vifs[0]['deleted_at'] is not None
    assert vifs[0]['address'] == old['mac']
    assert old['hostname'] not in vlan_lab.state['hosts']  # no namespace: it is gone from the hypervisor
    out = sh(vlan_lab.ns(old['host']), ['iptables-save', '-t', 'nat']).stdout
    assert old['floating_ip'] not in out


@pytest.mark.parametrize('name,target', [('dnsmasq_killed', 'db1'), ('vnet_detached', 'web2'), ('nat_missing', 'db1')])
def test_fault_hits_only_its_target(vlan_lab, name, target):
    t = vlan_lab.model['instances'][target]
    neighbour = [i for i in active(vlan_lab) if i['host'] == t['host'] and i['network'] != t['network']][0]
    try:
        vlan_lab.fault(name, target)
        if name == 'dnsmasq_killed':
            assert vlan_lab.lease(target) is None
            assert not ping(vlan_lab, target, ext_ip(vlan_lab))
            pidfile = os.path.join(vlan_lab.compute_paths(t['host'])['networks'], 'nova-%s.pid' % t['bridge'])
            assert os.path.exists(pidfile)
        elif name == 'vnet_detached':
            assert not ping(vlan_lab, target, ext_ip(vlan_lab))
        else:
            assert snat_source(vlan_lab, t) == vlan_lab.model['computes'][t['host']]['public_address']
        # the other tenant on the same host is untouched
        assert ping(vlan_lab, neighbour['hostname'], ext_ip(vlan_lab))
        assert vlan_lab.lease(neighbour['hostname'])['ip'] == neighbour['fixed_ip']
    finally:
        vlan_lab.heal()
    assert vlan_lab.lease(target)['ip'] == t['fixed_ip']
    assert ping(vlan_lab, target, ext_ip(vlan_lab))
    assert vlan_lab.status()['healthy']
