# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_info and ovn_info against the real daemons of the OVN lab (lab/ovn.py), with faults made by raw commands."""

from __future__ import annotations

import shutil
import time

import pytest

from facts_net_helpers import run_module, sh

pytestmark = pytest.mark.skipif(shutil.which('ovn-controller') is None, reason='OVN is not installed')


def _db(lab, node):
    return 'unix:%s/db.sock' % lab.hostdir(node, 'ovs')


def _central(lab):
    c = lab.root + '/ovn-central'
    return {'nb_db': 'unix:%s/nb.sock' % c, 'sb_db': 'unix:%s/sb.sock' % c}


def _ovs(lab, node, args):
    """ovs_info run inside the node's namespace, as on the node itself (it looks for the node's daemons there)."""
    return run_module('ovs_info', args, prefix=['ip', 'netns', 'exec', lab.ns(node)])


def _vsctl(lab, node, *args):
    return sh('ovs-vsctl', '--db=%s' % _db(lab, node), *args, ns=lab.ns(node))


def test_ovs_info_joins_bridges_ports_interfaces(ovn_lab):
    vm1 = ovn_lab.state['model']['instances']['vm1']
    rc, r = _ovs(ovn_lab, 'compute1', {'db': _db(ovn_lab, 'compute1')})
    assert rc == 0, r
    ovs = r['ovs']
    assert ovs['open_vswitch']['hostname'] == 'compute1'
    assert ovs['open_vswitch']['ovn']['encap_type'] == 'geneve'
    assert ovs['open_vswitch']['ovn']['encap_ip'] == ovn_lab.state['model']['nodes']['compute1']['tunnel_address']
    assert ovs['open_vswitch']['ovs_version'] == sh('ovs-vswitchd', '--version').split('\n')[0].rsplit(' ', 1)[-1]
    by_name = {b['name']: b for b in ovs['bridges']}
    assert set(by_name) == {'br-int', 'br-phy'} and by_name['br-int']['datapath_type'] == 'netdev'
    ifaces = {i['name']: i for p in by_name['br-int']['ports'] for i in p['interfaces']}
    tap = ifaces[vm1['tap']]
    assert tap['external_ids']['iface-id'] == vm1['port_id'] and tap['external_ids']['attached-mac'] == vm1['mac']
    assert isinstance(tap['ofport'], int) and tap['ofport'] > 0 and tap['error'] is None and tap['link_state'] == 'up'
    # the geneve tunnels ovn-controller made, towards the other chassis' tunnel addresses
    remotes = sorted(i['options'].get('remote_ip') for i in ifaces.values() if i['type'] == 'geneve')
    others = sorted(n['tunnel_address'] for name, n in ovn_lab.state['model']['nodes'].items() if name != 'compute1')
    assert remotes == others
    # compared with ovs-vsctl's own view
    # (list-ifaces leaves out the bridge's own internal interface)
    assert sorted(n for n in ifaces if n != 'br-int') == sorted(_vsctl(ovn_lab, 'compute1', 'list-ifaces', 'br-int').split())
    assert r['problems'] == [] and r['summary']['interfaces'] == len(ifaces) + 2
    assert r['ovs']['daemons']['ovn-controller'] == [ovn_lab.state['processes']['compute1-ovn-controller']['pid']]
    # run outside the node's namespace, the module finds no ovn-controller of the chassis there and says so
    rc, outside = run_module('ovs_info', {'db': _db(ovn_lab, 'compute1')})
    assert rc == 0 and [p['code'] for p in outside['problems']] == ['ovn_controller_down']


def test_ovs_info_flows_count_the_instance_traffic(ovn_lab):
    vm2 = ovn_lab.state['model']['instances']['vm2']
    rc, before = _ovs(ovn_lab, 'compute1', {'db': _db(ovn_lab, 'compute1'), 'bridges': ['br-int'], 'flows': True})
    assert rc == 0, before
    sh('ping', '-c', '3', '-W', '2', vm2['fixed_ip'], ns=ovn_lab.ns('vm1'))

    def table0(res):
        return sum(f['n_packets'] for f in res['ovs']['bridges'][0]['flows'] if f['table'] == 0)
    # ovs-vswitchd's revalidators push the datapath's packet counts to the OpenFlow flows every 500 ms or so: the last
    # packets of the ping are counted a moment after it ended
    deadline = time.monotonic() + 5
    while True:
        rc, after = _ovs(ovn_lab, 'compute1', {'db': _db(ovn_lab, 'compute1'), 'bridges': ['br-int'], 'flows': True})
        assert rc == 0, after
        if table0(after) >= table0(before) + 6 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(after['ovs']['bridges'][0]['flows']) > 20
    assert table0(after) >= table0(before) + 6     # 3 requests out, 3 replies in


def test_ovs_info_names_a_down_vm_port_and_bad_options(ovn_lab):
    vm1 = ovn_lab.state['model']['instances']['vm1']
    sh('ip', 'link', 'set', vm1['tap'], 'down', ns=ovn_lab.ns('compute1'))
    try:
        deadline = time.monotonic() + 5
        while True:
            rc, r = _ovs(ovn_lab, 'compute1', {'db': _db(ovn_lab, 'compute1')})
            codes = [(p['code'], p['object']) for p in r['problems']]
            if codes or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert codes == [('vm_port_down', vm1['tap'])]
    finally:
        sh('ip', 'link', 'set', vm1['tap'], 'up', ns=ovn_lab.ns('compute1'))
    rc, r = run_module('ovs_info', {'db': 'unix:%s/nowhere.sock' % ovn_lab.root})
    assert rc == 1 and 'cannot connect to unix:%s/nowhere.sock' % ovn_lab.root in r['msg']
    rc, r = run_module('ovs_info', {'db': _db(ovn_lab, 'compute1'), 'bridges': ['br-nope']})
    assert rc == 1 and 'no bridge br-nope' in r['msg']
    rc, r = run_module('ovs_info', {'db': 'ssl:10.0.0.1:6640'})
    assert rc == 1 and 'only unix:PATH and tcp:HOST:PORT' in r['msg']


def test_ovn_info_joins_nb_and_sb(ovn_lab):
    model = ovn_lab.state['model']
    rc, r = run_module('ovn_info', _central(ovn_lab))
    assert rc == 0, r
    net = model['networks']['private']
    (ls,) = [x for x in r['nb']['logical_switches'] if x['name'] == net['switch']]
    assert ls['name'] == 'neutron-%s' % net['id'] and ls['external_ids']['neutron:network_name'] == 'private'
    ports = {p['name']: p for p in ls['ports']}
    for inst in model['instances'].values():
        p = ports[inst['port_id']]
        assert p['addresses'] == ['%s %s' % (inst['mac'], inst['fixed_ip'])] and p['up'] is True
        assert p['external_ids']['neutron:device_id'] == inst['uuid']
    (dhcp,) = r['nb']['dhcp_options']
    assert dhcp['cidr'] == net['cidr'] and dhcp['options']['mtu'] == str(net['mtu'])
    assert ports[model['instances']['vm1']['port_id']]['dhcpv4_options'] == dhcp['uuid']
    hosts = {c['hostname']: c for c in r['sb']['chassis']}
    assert set(hosts) == set(model['nodes'])
    assert all(c['encaps'][0]['type'] == 'geneve' for c in hosts.values())
    bound = {b['logical_port']: b['chassis_hostname'] for b in r['sb']['port_bindings'] if b['type'] == ''}
    assert bound == {i['port_id']: i['host'] for i in model['instances'].values()}
    assert r['problems'] == []
    # the router: its gateway port on the gateway chassis, SNAT of the tenant network, the floating IP
    (lr,) = r['nb']['logical_routers']
    rt = model['router']
    assert lr['name'] == rt['lr']
    gw = next(p for p in lr['ports'] if p['name'] == 'lrp-%s' % rt['gw_port_id'])
    ctl = next(n for n in model['nodes'].values() if n['role'] == 'controller')
    assert [g['chassis_name'] for g in gw['gateway_chassis']] == [ctl['system_id']]
    nats = {(n['type'], n['external_ip'], n['logical_ip']) for n in lr['nat']}
    assert nats == {('snat', rt['gateway_ip'], net['cidr']),
                    ('dnat_and_snat', model['instances']['vm1']['floating_ip'], model['instances']['vm1']['fixed_ip'])}


def test_ovn_info_names_a_port_no_chassis_claims(ovn_lab):
    vm2 = ovn_lab.state['model']['instances']['vm2']
    _vsctl(ovn_lab, 'compute2', 'remove', 'interface', vm2['tap'], 'external_ids', 'iface-id')
    try:
        deadline = time.monotonic() + 10
        while True:
            rc, r = run_module('ovn_info', _central(ovn_lab))
            codes = [(p['code'], p['object']) for p in r['problems']]
            if codes or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert codes == [('port_not_bound', vm2['port_id'])], r['problems']
    finally:
        _vsctl(ovn_lab, 'compute2', 'set', 'interface', vm2['tap'], 'external_ids:iface-id=%s' % vm2['port_id'])
    sh('ovn-nbctl', '--db=%s' % _central(ovn_lab)['nb_db'], '--timeout=20', 'wait-until', 'logical_switch_port', vm2['port_id'], 'up=true')
    rc, r = run_module('ovn_info', {'sb_db': 'unix:%s/ovn-central/nb.sock' % ovn_lab.root})
    assert rc == 1 and 'serves OVN_Northbound, not OVN_Southbound' in r['msg']
    rc, r = run_module('ovn_info', {})
    assert rc == 1 and 'nb_db' in r['msg']


def _neutron_db(lab):
    return {k: v for k, v in lab.state['db']['conn_params'].items() if k != 'login_unix_socket'}


def test_neutron_db_info_ports_of_an_instance(ovn_lab):
    model = ovn_lab.state['model']
    vm1 = model['instances']['vm1']
    net = model['networks']['private']
    rc, r = run_module('neutron_db_info', dict(_neutron_db(ovn_lab), device_id=vm1['uuid']))
    assert rc == 0, r
    (port,) = r['ports']
    assert (port['id'], port['mac_address'], port['status'], port['device_owner']) == (vm1['port_id'], vm1['mac'], 'ACTIVE', 'compute:nova')
    assert port['binding']['host'] == vm1['host'] and port['binding']['vif_type'] == 'ovs'
    assert port['binding']['vif_details']['bridge_name'] == 'br-int'
    assert port['network']['mtu'] == net['mtu'] and port['network']['segments'][0]['network_type'] == 'geneve'
    assert [(f['ip_address'], f['subnet']['cidr'], f['subnet']['enable_dhcp']) for f in port['fixed_ips']] == [
        (vm1['fixed_ip'], net['cidr'], True)]
    assert [g['name'] for g in port['security_groups']] == ['default'] and len(port['security_groups'][0]['rules']) == 6
    # the network's OVN metadata port, which neutron-ovn-metadata-agent serves in ovnmeta-<network id>
    assert port['network']['metadata_ports'] == [{'id': net['metadata_port_id'], 'mac_address': net['metadata_mac'],
                                                  'device_id': net['ovnmeta'], 'device_owner': 'network:distributed',
                                                  'status': 'DOWN', 'ip_addresses': [net['metadata_ip']]}]
    # both instances' ports in one look-up; a device without a port is named
    vm2 = ovn_lab.model['instances']['vm2']
    rc, rb = run_module('neutron_db_info', dict(_neutron_db(ovn_lab), device_id=[vm1['uuid'], vm2['uuid'], 'no-such-device']))
    assert rc == 0, rb
    assert sorted((p['device_id'], p['id']) for p in rb['ports']) == sorted([(vm1['uuid'], vm1['port_id']), (vm2['uuid'], vm2['port_id'])])
    assert [(p['code'], p['object']) for p in rb['problems']] == [('no_port', 'no-such-device')]
    # the same port by its fixed IP, and by its id
    for sel in ({'address': vm1['fixed_ip']}, {'port_id': vm1['port_id']}):
        rc, r2 = run_module('neutron_db_info', dict(_neutron_db(ovn_lab), **sel))
        assert rc == 0 and [p['id'] for p in r2['ports']] == [vm1['port_id']], r2
    rc, r3 = run_module('neutron_db_info', dict(_neutron_db(ovn_lab), address='10.1.0.250'))
    assert rc == 0 and r3['ports'] == [] and [p['code'] for p in r3['problems']] == ['no_port']


def test_neutron_db_audit_against_ovn(ovn_lab):
    model = ovn_lab.state['model']
    vm2 = model['instances']['vm2']
    args = dict(_neutron_db(ovn_lab), audit=True, ovn_nb_db=_central(ovn_lab)['nb_db'])
    rc, r = run_module('neutron_db_info', args)
    assert rc == 0 and r['audit'] == [], r
    # the port vanishes from OVN behind Neutron's back (what neutron-ovn-db-sync-util reports)
    nb = ['ovn-nbctl', '--db=%s' % _central(ovn_lab)['nb_db']]
    sh(*(nb + ['lsp-del', vm2['port_id']]))
    try:
        rc, r = run_module('neutron_db_info', args)
        assert rc == 0, r
        assert [(f['code'], f['object']) for f in r['audit']] == [('port_missing_in_ovn', vm2['port_id'])]
    finally:
        from lab.ovn import OvnLab
        OvnLab(ovn_lab).port(model, vm2)     # the port as the lab (Neutron's OVN driver) writes it
    # a port whose binding failed in the DB, as ML2 leaves it when no driver can bind it
    conn = ovn_lab.mariadb().connect('neutron')
    try:
        with conn.cursor() as cur:
            cur.execute("UPDATE ml2_port_bindings SET vif_type = 'binding_failed' WHERE port_id = %s", (vm2['port_id'],))
        conn.commit()
        rc, r = run_module('neutron_db_info', dict(_neutron_db(ovn_lab), audit=True))
        assert rc == 0 and [(f['code'], f['object']) for f in r['audit']] == [('binding_failed', vm2['port_id'])], r
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE ml2_port_bindings SET vif_type = 'ovs' WHERE port_id = %s", (vm2['port_id'],))
        conn.commit()
        conn.close()


def test_neutron_db_audit_security_groups_against_ovn(ovn_lab):
    """Security groups against OVN's port groups: a rule whose ACL is gone, a port out of its group's port group, an ACL
    of a rule Neutron does not have, a port group of a group Neutron does not have; each named, then put back."""
    from lab.ovn import OvnLab
    model = ovn_lab.state['model']
    vm2 = model['instances']['vm2']
    o = OvnLab(ovn_lab)
    sg, pg = o.security_group(model, model['networks'][vm2['network']])
    rule = next(r for r in sg['rules'] if r['direction'] == 'ingress' and r['protocol'] == 'tcp')
    args = dict(_neutron_db(ovn_lab), audit=True, ovn_nb_db=_central(ovn_lab)['nb_db'])
    ghost_rule, ghost_sg = '0badc0de-0000-4000-8000-000000000001', '0badc0de-0000-4000-8000-000000000002'
    ghost_pg = 'pg_%s' % ghost_sg.replace('-', '_')
    acls = o.sg_rule_acls(rule['id'])
    assert len(acls) == 1
    try:
        o.nbctl('remove', 'port_group', pg, 'acls', acls[0])
        lsp = o.nbctl('--bare', '--columns=_uuid', 'find', 'logical_switch_port', 'name=%s' % vm2['port_id']).stdout.strip()
        o.nbctl('remove', 'port_group', pg, 'ports', lsp)
        o.sg_acl(pg, dict(rule, id=ghost_rule))
        o.nbctl('pg-add', ghost_pg, '--', 'set', 'port_group', ghost_pg, 'external_ids:"neutron:security_group_id"=%s' % ghost_sg)
        rc, r = run_module('neutron_db_info', args)
        assert rc == 0, r
        got = sorted((f['code'], f['object']) for f in r['audit'])
        assert got == sorted([('sg_rule_missing_in_ovn', rule['id']), ('port_missing_in_port_group', vm2['port_id']),
                              ('sg_acl_missing_in_neutron', ghost_rule), ('port_group_missing_in_neutron', ghost_pg)]), r['audit']
        text = {f['code']: f['message'] for f in r['audit']}
        assert 'ingress IPv4 tcp:22 from 0.0.0.0/0' in text['sg_rule_missing_in_ovn'] and pg in text['sg_rule_missing_in_ovn']
        assert [p['code'] for p in r['problems']] == [f['code'] for f in r['audit']]
    finally:
        o.nbctl('pg-del', ghost_pg, check=False)
        for uid in o.sg_rule_acls(ghost_rule):
            o.nbctl('remove', 'port_group', pg, 'acls', uid)
        if not o.sg_rule_acls(rule['id']):
            o.sg_acl(pg, rule)
        o.nbctl('add', 'port_group', pg, 'ports',
                o.nbctl('--bare', '--columns=_uuid', 'find', 'logical_switch_port', 'name=%s' % vm2['port_id']).stdout.strip())
    rc, r = run_module('neutron_db_info', args)
    assert rc == 0 and r['audit'] == [], r['audit']


def test_ovn_info_trace_meets_the_acls_as_a_new_connection(ovn_lab):
    """ovn_info's trace of the instance's ping: a drop ACL from its port stops it in the ACL stage of the ingress
    pipeline when the packet starts a connection (ct new, the default), not as a packet of an established one (ct est,
    ovn-trace's own default: OVN lets those past the ACLs)."""
    model = ovn_lab.state['model']
    vm1, vm2 = model['instances']['vm1'], model['instances']['vm2']
    net = model['networks'][vm1['network']]
    flow = ('inport == "%s" && eth.src == %s && eth.dst == %s && ip4.src == %s && ip4.dst == %s && ip.ttl == 64 && icmp4.type == 8'
            % (vm1['port_id'], vm1['mac'], vm2['mac'], vm1['fixed_ip'], vm2['fixed_ip']))
    args = dict(_central(ovn_lab), trace=[{'datapath': 'neutron-' + net['id'], 'microflow': flow},
                                          {'datapath': 'neutron-' + net['id'], 'microflow': flow, 'ct': 'est'}])
    rc, r = run_module('ovn_info', args)
    assert rc == 0 and [t['dropped'] for t in r['traces']] == [False, False], r['traces']
    nb = ['ovn-nbctl', '--db=%s' % _central(ovn_lab)['nb_db']]
    match = 'inport == "%s" && ip4' % vm1['port_id']
    sh(*(nb + ['acl-add', net['switch'], 'from-lport', '2000', match, 'drop']))
    try:
        rc, r = run_module('ovn_info', args)
    finally:
        sh(*(nb + ['acl-del', net['switch'], 'from-lport', '2000', match]))
    assert rc == 0 and [(t['ct'], t['dropped']) for t in r['traces']] == [('new', True), ('est', False)], r['traces']
    assert r['traces'][0]['drop']['pipeline'] == 'ingress' and 'acl' in r['traces'][0]['drop']['stage']


def test_neutron_db_info_bad_input_is_named(ovn_lab):
    db = _neutron_db(ovn_lab)
    rc, r = run_module('neutron_db_info', dict(db, login_password='not-the-password', audit=True))
    assert rc == 1 and 'access denied for user netdiag' in r['msg']
    rc, r = run_module('neutron_db_info', dict(db, login_port=1, audit=True, connect_timeout=2))
    assert rc == 1 and 'cannot connect to the neutron database' in r['msg']
    rc, r = run_module('neutron_db_info', dict(db, login_db='nova', audit=True))
    assert rc == 1 and 'database nova at' in r['msg'] and 'lacks a neutron table; is it the neutron database?' in r['msg']
    rc, r = run_module('neutron_db_info', db)
    assert rc == 1 and 'nothing to do' in r['msg']
    rc, r = run_module('neutron_db_info', dict(db, device_id='x', port_id='y'))
    assert rc == 1 and 'mutually exclusive' in r['msg']
    # the lab's user may only read
    conn = ovn_lab.mariadb().connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GRANTS FOR 'netdiag'@'127.0.0.1'")
            grants = ' '.join(r[0] for r in cur.fetchall())
    finally:
        conn.close()
    assert 'GRANT SELECT ON `neutron`.*' in grants and 'UPDATE' not in grants
