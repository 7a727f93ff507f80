# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every probe on the healthy seed lab and under each lab fault that concerns it.

Modules run inside the lab hosts' namespaces exactly as Ansible runs them there (the lab's
interpreter wrapper is ``ip netns exec <ns> python``). Addresses come from the lab's state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest


pytestmark = pytest.mark.lab
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable


def run_on(lab, host, module, args, tmp_path):
    path = tmp_path / ('args-%s.json' % uuid.uuid4().hex[:6])
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.venv', 'collections'))
    res = subprocess.run(['ip', 'netns', 'exec', lab.ns(host), PYTHON, '-m',
                          'ansible_collections.cloudops.netdiag.plugins.modules.%s' % module, str(path)],
                         capture_output=True, text=True, timeout=120, env=env, check=False)
    return json.loads(res.stdout)


def facts(lab):
    model = lab.state['model']
    name = sorted(n for n, i in model['instances'].items() if i.get('state', 'active') == 'active')[0]
    inst = model['instances'][name]
    compute = model['computes'][inst['host']]
    network = [n for n in model['networks'].values() if n['bridge'] == inst['bridge']][0]
    own = compute['networks'][[k for k, n in model['networks'].items() if n['bridge'] == inst['bridge']][0]]
    record = model['external']['dns_records'][0]
    return {'name': name, 'inst': inst, 'compute': inst['host'], 'own': own, 'network': network,
            'external': model['external']['servers'][0]['address'], 'record': record,
            'syslog': lab.compute_paths(inst['host'])['syslog']}


def ladder(lab, f, tmp_path):
    res = run_on(lab, f['name'], 'ping_probe', {'targets': [f['own'], f['external']], 'count': 2, 'timeout': 1,
                                                'deadline': 5}, tmp_path)
    return {p['target']: p['reachable'] for p in res['probes']}


def syslog(f):
    with open(f['syslog']) as handle:
        return handle.read()


def test_healthy_lab(seed_lab, tmp_path):
    f = facts(seed_lab)
    assert ladder(seed_lab, f, tmp_path) == {f['own']: True, f['external']: True}
    dns = run_on(seed_lab, f['name'], 'dns_probe', {'server': f['own'], 'names': [f['record']['name']],
                                                    'addresses': [f['inst']['fixed_ip']], 'timeout': 3}, tmp_path)
    by = {q['type']: q for q in dns['queries']}
    assert by['A']['status'] == 'ok' and by['A']['answers'][0]['data'] == f['record']['address']
    assert by['PTR']['status'] == 'ok' and by['PTR']['answers'][0]['data'].startswith(f['name'] + '.')
    # a random MAC from the compute node itself: nova's static range has nothing for it
    dhcp = run_on(seed_lab, f['compute'], 'dhcp_probe', {'interface': f['inst']['bridge'], 'timeout': 2}, tmp_path)
    assert dhcp['offers'] == [] and 'no address available' in syslog(f).split(dhcp['mac'])[-1].splitlines()[0]
    # the instance's own MAC (instance up: dnsmasq offers its address again; no REQUEST, no new lease)
    dhcp = run_on(seed_lab, f['compute'], 'dhcp_probe', {'interface': f['inst']['bridge'], 'mac': f['inst']['mac'],
                                                         'timeout': 2}, tmp_path)
    assert [o['offered_address'] for o in dhcp['offers']] == [f['inst']['fixed_ip']]
    assert dhcp['offers'][0]['router'] == [f['own']]


@pytest.mark.parametrize('fault,expected', [
    ('vnet_down', 'nothing'),
    ('vnet_detached', 'nothing'),
    ('bridge_down', 'nothing'),
    ('instance_interface_down', 'nothing'),
    ('forward_drop', 'compute_only'),
    ('forwarding_disabled', 'compute_only'),
    ('physical_interface_down', 'compute_only'),
    ('gateway_down', 'compute_only'),
    # the compute node's own SNAT for the fixed range still gets the ping out: the ladder cannot see a
    # missing floating-IP NAT (path_capture can: test_lab_path.py)
    ('nat_missing', 'everything'),
])
def test_ping_ladder_under_faults(seed_lab, tmp_path, fault, expected):
    f = facts(seed_lab)
    seed_lab.fault(fault, f['name'])
    try:
        got = ladder(seed_lab, f, tmp_path)
    finally:
        seed_lab.heal()
    want = {'nothing': {f['own']: False, f['external']: False}, 'compute_only': {f['own']: True, f['external']: False},
            'everything': {f['own']: True, f['external']: True}}
    assert got == want[expected]


def test_dhcp_probe_dnsmasq_killed(seed_lab, tmp_path):
    f = facts(seed_lab)
    seed_lab.fault('dnsmasq_killed', f['name'])
    try:
        dhcp = run_on(seed_lab, f['compute'], 'dhcp_probe', {'interface': f['inst']['bridge'], 'mac': f['inst']['mac'],
                                                             'timeout': 2}, tmp_path)
        dns = run_on(seed_lab, f['name'], 'dns_probe', {'server': f['own'], 'names': [f['record']['name']], 'timeout': 2},
                     tmp_path)
    finally:
        seed_lab.heal()
    assert dhcp['offers'] == [] and dhcp['problems'][0]['code'] == 'dhcp_no_offer'
    assert dns['queries'][0]['status'] in ('unreachable', 'timeout')


def test_dhcp_probe_hostsfile_missing_mac(seed_lab, tmp_path):
    f = facts(seed_lab)
    seed_lab.fault('dhcp_hostsfile_missing_mac', f['name'])
    try:
        dhcp = run_on(seed_lab, f['compute'], 'dhcp_probe', {'interface': f['inst']['bridge'], 'mac': f['inst']['mac'],
                                                             'timeout': 2}, tmp_path)
        log = syslog(f)
    finally:
        seed_lab.heal()
    assert dhcp['offers'] == []
    assert 'DHCPDISCOVER(%s) %s no address available' % (f['inst']['bridge'], f['inst']['mac']) in log


def test_dns_probe_upstream_broken(seed_lab, tmp_path):
    f = facts(seed_lab)
    seed_lab.fault('dns_broken', f['name'])
    try:
        dns = run_on(seed_lab, f['name'], 'dns_probe', {'server': f['own'], 'names': [f['record']['name'], f['name'] + '.novalocal'],
                                                        'timeout': 2, 'slow_threshold': 500}, tmp_path)
    finally:
        seed_lab.heal()
    by = {q['query']: q['status'] for q in dns['queries']}
    assert by[f['record']['name']] in ('timeout', 'servfail')
    assert by[f['name'] + '.novalocal'] == 'ok'
