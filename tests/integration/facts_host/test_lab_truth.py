# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnsmasq_info, libvirt_domain_info, nova_conf_info, console_log_info against the lab's known truth (state.json),
healthy and under the lab faults that concern them (each fault healed in a finally)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import (
    console_log_info, dnsmasq_info, libvirt_domain_info, nova_conf_info)

pytestmark = pytest.mark.lab


def run(mod, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    res = json.loads(capsys.readouterr().out)
    assert not res.get('failed'), res.get('msg')
    return res


def computes(lab):
    return sorted(h for h, v in lab.state['hosts'].items() if v['role'] == 'compute')


def instances_on(lab, host):
    return {n: i for n, i in lab.state['model']['instances'].items() if i['host'] == host and i['state'] == 'active'}


def dnsmasq_of(lab, host, capsys, **extra):
    p = lab.compute_paths(host)
    args = dict(state_dir=p['networks'], log_path=p['syslog'], netns=lab.ns(host))
    args.update(extra)
    return run(dnsmasq_info, args, capsys)


@pytest.mark.parametrize('topology', ['seed', 'vlan'])
def test_healthy_lab_matches_truth(request, topology, capsys):
    lab = request.getfixturevalue('%s_lab' % topology)
    for host in computes(lab):
        insts = instances_on(lab, host)
        p = lab.compute_paths(host)
        dm = dnsmasq_of(lab, host, capsys)
        truth = {k.split(':')[2]: v['pid'] for k, v in lab.state['processes'].items() if k.startswith('dnsmasq:%s:' % host)}
        mains = {pr['bridge']: pr['pid'] for pr in dm['dnsmasq']['processes'] if pr['role'] == 'main'}
        assert mains == truth
        assert all(pf['status'] == 'alive' for pf in dm['dnsmasq']['pid_files'])
        host_macs = set(e['mac'] for hf in dm['dnsmasq']['hosts_files'] for e in hf['entries'])
        assert set(i['mac'] for i in insts.values()) <= host_macs
        macs = dm['dnsmasq']['log']['macs']
        for name, inst in insts.items():
            assert macs[inst['mac']]['result'] == 'complete', (name, macs[inst['mac']])
            assert inst['fixed_ip'] in macs[inst['mac']]['ips']
        assert not [x for x in dm['problems'] if x['code'] == 'dhcp_server_down']

        doms = run(libvirt_domain_info, {'path': p['libvirt']}, capsys)['domains']
        assert sorted(d['uuid'] for d in doms) == sorted(i['uuid'] for i in insts.values())
        for d in doms:
            inst = [i for i in insts.values() if i['uuid'] == d['uuid']][0]
            (iface,) = d['interfaces']
            # the vlan topology writes libvirt's persistent definitions, without the generated vnetN name
            vnet = inst['vnet'] if lab.state['model'].get('libvirt_target_dev', True) else None
            assert (d['name'], iface['mac'], iface['target_dev'], iface['source_bridge']) == (
                inst['name'], inst['mac'], vnet, inst['bridge'])
            assert d['console_log'] == lab.state['instances'][inst['hostname']]['console_log']
            con = run(console_log_info, {'path': d['console_log']}, capsys)['console_log']
            assert con['result'] == 'ok' and con['lease']['address'] == inst['fixed_ip']
            assert con['metadata']['status'] == 'ok'

        conf = run(nova_conf_info, {'path': p['nova_conf']}, capsys)['nova_conf']['network']
        assert conf['network_manager_short'] == ('VlanManager' if topology == 'vlan' else 'FlatDHCPManager')
        assert conf['multi_host'] is True


def test_seed_dnsmasq_killed(seed_lab, capsys):
    lab = seed_lab
    host = computes(lab)[0]
    pid = lab.state['processes']['dnsmasq:%s:br100' % host]['pid']
    lab.fault('dnsmasq_killed')
    try:
        dm = dnsmasq_of(lab, host, capsys)
        assert dm['dnsmasq']['processes'] == []
        (pf,) = [x for x in dm['dnsmasq']['pid_files'] if x['bridge'] == 'br100']
        assert (pf['status'], pf['pid']) == ('stale', pid)
        assert [x['object'] for x in dm['problems'] if x['code'] == 'dhcp_server_down'] == ['br100']
        for inst in instances_on(lab, host).values():
            con = run(console_log_info, {'path': lab.state['instances'][inst['hostname']]['console_log']}, capsys)
            assert con['console_log']['result'] == 'dhcp_no_lease'
            assert [x['code'] for x in con['problems']] == ['dhcp_no_lease', 'metadata_unreachable']
    finally:
        lab.heal()


def test_seed_hostsfile_missing_mac(seed_lab, capsys):
    lab = seed_lab
    host = computes(lab)[0]
    lab.fault('dhcp_hostsfile_missing_mac', 'vm1')
    try:
        vm1 = lab.state['model']['instances']['vm1']
        dm = dnsmasq_of(lab, host, capsys, mac=[vm1['mac']])
        st = dm['dnsmasq']['log']['macs'][vm1['mac']]
        assert st['result'] == 'no_address_available' and 'hosts_file' not in st
        assert [(x['code'], x['object']) for x in dm['problems'] if x['code'].startswith('dhcp_')] == [
            ('dhcp_no_address_available', vm1['mac'])]
        con = run(console_log_info, {'path': lab.state['instances']['vm1']['console_log']}, capsys)
        assert con['console_log']['result'] == 'dhcp_no_lease'
    finally:
        lab.heal()
