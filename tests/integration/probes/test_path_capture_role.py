# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The path_capture role end to end: namespaces as inventory hosts (interpreter wrappers, as the lab
does), synchronized captures, a marked probe, the per-hop verdict, a real fault and the counters it moved."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml


pytestmark = pytest.mark.lab
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable
INSTANCE_MAC = 'fa:16:3e:00:00:24'  # the fixture's instance (conftest.py)

HOPS = [('inst', 'eth0'), ('cmp', 'vnet0'), ('cmp', 'br100'), ('cmp', 'eth1'), ('ext', 'eth0')]


def inventory(net):
    bindir = os.path.join(net.workdir, 'bin')
    os.makedirs(bindir, exist_ok=True)
    hosts = {}
    for short, ns in (('inst', net.inst), ('cmp', net.cmp), ('ext', net.ext)):
        wrapper = os.path.join(bindir, '%s-python' % short)
        with open(wrapper, 'w') as handle:
            handle.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (ns, PYTHON))
        os.chmod(wrapper, 0o755)
        hosts[short] = {'ansible_connection': 'local', 'ansible_python_interpreter': wrapper}
    path = os.path.join(net.workdir, 'inventory.yml')
    with open(path, 'w') as handle:
        local = {'ansible_connection': 'local', 'ansible_python_interpreter': PYTHON}
        yaml.safe_dump({'all': {'hosts': dict(hosts, localhost=local)}}, handle)
    return path


def run_role(net, probe, hops=None, extra=None):
    hops = HOPS if hops is None else hops
    hops = [h if isinstance(h, dict) else {'host': h[0], 'interface': h[1]} for h in hops]
    out = os.path.join(net.workdir, 'result.json')
    if os.path.exists(out):
        os.unlink(out)
    play = [{'name': 'path capture', 'hosts': 'localhost', 'gather_facts': False,
             'roles': [{'role': 'cloudops.netdiag.path_capture',
                        'vars': dict({'path_capture_hops': hops,
                                      'path_capture_probe': probe}, **(extra or {}))}],
             'post_tasks': [{'name': 'Save the result', 'ansible.builtin.copy': {
                 'content': '{{ path_capture_result | to_json }}', 'dest': out, 'mode': '0644'}}]}]
    playbook = os.path.join(net.workdir, 'play.yml')
    with open(playbook, 'w') as handle:
        yaml.safe_dump(play, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    res = subprocess.run([os.path.join(os.path.dirname(PYTHON), 'ansible-playbook'), '-i', inventory(net), playbook],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    with open(out) as handle:
        return json.load(handle)


def table(result):
    return {h['hop']: (h['request_seen'] > 0, h['reply_seen'] > 0) for h in result['hops']}


def test_icmp_healthy_path_with_snat(probe_net):
    res = run_role(probe_net, {'type': 'icmp', 'host': 'inst', 'target': '198.51.100.4'})
    assert res['healthy'] is True, res['verdict']
    assert set(table(res).values()) == {(True, True)}
    assert res['verdict'] == 'request and reply seen end to end'
    eth1 = [h for h in res['hops'] if h['hop'] == 'cmp:eth1'][0]
    assert eth1['request_addresses'] == ['203.0.113.30 > 198.51.100.4']
    assert res['probe']['icmp_id'] is not None and res['probe_result']['probes'][0]['reachable']
    assert res['moved_rules'] and any(r['host'] == 'cmp' for r in res['moved_rules'])  # the SNAT rule counted the probe


def test_icmp_reply_dropped_on_compute_forward(probe_net):
    rule = ['FORWARD', '-p', 'icmp', '--icmp-type', 'echo-reply', '-j', 'DROP']
    probe_net.ns(probe_net.cmp, 'iptables', '-I', *rule)
    try:
        res = run_role(probe_net, {'type': 'icmp', 'host': 'inst', 'target': '198.51.100.4'})
    finally:
        probe_net.ns(probe_net.cmp, 'iptables', '-D', *rule)
    assert res['healthy'] is False
    assert table(res) == {'inst:eth0': (True, False), 'cmp:vnet0': (True, False), 'cmp:br100': (True, False),
                          'cmp:eth1': (True, True), 'ext:eth0': (True, True)}
    assert res['reply']['vanished_between'] == ['cmp:eth1', 'cmp:br100']
    assert res['verdict'].startswith('reply vanished between cmp:eth1 and cmp:br100')
    moved = [r for entry in res['moved_rules'] if entry['host'] == 'cmp' for r in entry['moved']]
    assert any(r['target'] == 'DROP' and r['chain'] == 'FORWARD' and r['drop'] for r in moved)


def test_dhcp_discover_along_the_path(probe_net):
    res = run_role(probe_net, {'type': 'dhcp', 'host': 'inst', 'interface': 'eth0', 'mac': INSTANCE_MAC},
                   hops=HOPS[:3], extra={'path_capture_iptables': False})
    assert res['healthy'] is True, res['verdict']
    assert res['probe_result']['offers'][0]['offered_address'] == '10.0.2.24'
    assert res['moved_rules'] == []


def test_dns_query_along_the_path(probe_net):
    res = run_role(probe_net, {'type': 'dns', 'host': 'inst', 'server': '10.0.2.1', 'name': 'openstack.test'},
                   hops=HOPS[:3], extra={'path_capture_iptables': False})
    assert res['healthy'] is True, res['verdict']
    assert res['probe']['qname'] == 'openstack.test.'
    assert res['probe_result']['queries'][0]['status'] == 'ok'


def test_hops_as_namespaces_of_one_host(probe_net):
    """The same path seen from one host that holds the namespaces (hop and probe ``netns``)."""
    hops = [{'host': 'localhost', 'netns': probe_net.inst, 'interface': 'eth0'},
            {'host': 'localhost', 'netns': probe_net.cmp, 'interface': 'any', 'name': 'compute'},
            {'host': 'localhost', 'netns': probe_net.ext, 'interface': 'eth0'}]
    res = run_role(probe_net, {'type': 'icmp', 'host': 'localhost', 'netns': probe_net.inst, 'target': '198.51.100.4'},
                   hops=hops)
    assert res['healthy'] is True, res['verdict']
    assert [h['hop'] for h in res['hops']] == ['localhost:eth0@%s' % probe_net.inst, 'compute', 'localhost:eth0@%s' % probe_net.ext]
    compute = res['hops'][1]
    # on "any": vnet0 + br100 copies are duplicates, the SNATed copy on eth1 is not
    assert compute['request_seen'] == 3 and compute['duplicates'] == 2


def test_dns_with_kept_and_fetched_pcaps(probe_net, tmp_path):
    res = run_role(probe_net, {'type': 'dns', 'host': 'inst', 'server': '10.0.2.1', 'address': '10.0.2.24'},
                   hops=HOPS[:3], extra={'path_capture_iptables': False, 'path_capture_pcap_dir': str(tmp_path / 'kept'),
                                         'path_capture_fetch_dir': str(tmp_path / 'fetched')})
    assert res['probe']['qname'] == '24.2.0.10.in-addr.arpa.' and res['request']['complete']
    fetched = sorted(os.listdir(str(tmp_path / 'fetched')))
    assert fetched == ['cmp-capture-br100.pcap', 'cmp-capture-vnet0.pcap', 'inst-capture-eth0.pcap']
    assert all(os.path.getsize(str(tmp_path / 'fetched' / name)) > 24 for name in fetched)
