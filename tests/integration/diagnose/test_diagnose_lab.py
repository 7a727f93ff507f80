# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/diagnose_instance.yml on the real lab: healthy labs, every lab fault, read-only, CI switch.

Runtime: one diagnosis takes 10-20 s here, so each fault is diagnosed on one representative
instance per topology (FAULT_TARGETS below), plus the other instance a fault hits where that
tests something different (dnsmasq_killed reboots every instance of the bridge). The full matrix
of faults x instances is reachable with NETDIAG_DIAGNOSE_ALL_INSTANCES=1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import jsonschema
import pytest

from diagnose_lab_helpers import REPO, run_diagnose, snapshot

sys.path.insert(0, os.path.join(REPO, 'tests', 'unit', 'plugins', 'plugin_utils'))
from report_browser import chromium, measure  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._report import place_text as report_place_text  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.slow]

with open(os.path.join(REPO, 'schemas', 'diagnose_report.schema.json'), encoding='utf-8') as _f:
    SCHEMA = json.load(_f)

# fault -> (cause, segment) the verdict must name
EXPECTED = {
    'instance_interface_down': ('instance_interface_down', 'instance'),
    'vnet_down': ('vnet_down', 'instance_to_compute'),
    'vnet_detached': ('vnet_not_in_bridge', 'instance_to_compute'),
    'bridge_down': ('bridge_down', 'instance_to_compute'),
    'physical_interface_down': ('physical_interface_down', 'compute_to_gateway'),
    'gateway_down': ('gateway_unreachable', 'compute_to_gateway'),
    'forwarding_disabled': ('forwarding_disabled', 'compute'),
    'forward_drop': ('firewall_drop', 'compute'),
    'nat_missing': ('nat_missing', 'compute'),
    'dnsmasq_killed': ('dhcp_server_down', 'compute'),
    'dhcp_hostsfile_missing_mac': ('dhcp_no_address_available', 'control_plane'),
    'dns_broken': ('dns_failure', 'beyond_gateway'),
    'floating_ip_stale': ('floating_ip_stale', 'control_plane'),
}

# topology -> fault -> instances diagnosed (the first is the fault's target)
FAULT_TARGETS = {
    'seed': dict({f: ['vm1'] for f in EXPECTED}, dnsmasq_killed=['vm1', 'vm2'], bridge_down=['vm2', 'vm1']),
    # web2 lives on compute2 (tenant-a, br100); db1 on compute1 (tenant-b, br101)
    'vlan': dict({f: ['web2'] for f in EXPECTED}, dnsmasq_killed=['db1'], dhcp_hostsfile_missing_mac=['db1'],
                 vnet_detached=['db1'], forwarding_disabled=['db1']),
}

# vlan: one instance per compute node and per tenant network (web2: compute2, tenant-a; db1: compute1, tenant-b)
HEALTHY = {'seed': ['vm1', 'vm2'], 'vlan': ['web2', 'db1']}
DNS = {'check_dns': True, 'netdiag_dns_names': ['www.example.org']}


def _affected(lab, fault, target):
    """Instances a fault hits (for the optional full matrix): same compute and bridge for the bridge-wide faults."""
    insts = lab.state['model']['instances']
    t = insts[target]
    if fault in ('bridge_down', 'dnsmasq_killed'):
        return [n for n, i in insts.items() if i['state'] == 'active' and i['host'] == t['host'] and i['bridge'] == t['bridge']]
    if fault in ('physical_interface_down', 'gateway_down', 'forwarding_disabled', 'dns_broken'):
        return [n for n, i in insts.items() if i['state'] == 'active' and i['host'] == t['host']]
    return [target]


def _check(report, rc, out):
    assert report is not None, 'no report written (rc %s):\n%s' % (rc, out[-3000:])
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    return report['verdict']


def _lab(request, topology):
    return request.getfixturevalue('%s_lab' % topology)


@pytest.mark.parametrize('topology', ['seed', 'vlan'])
def test_healthy_lab_every_instance_ok(request, topology, tmp_path):
    lab = _lab(request, topology)
    for inst in HEALTHY[topology]:
        # no extra vars: the lab's inventory lists the names that must resolve (netdiag_dns_names)
        rc, report, out, took = run_diagnose(lab, inst, tmp_path)
        v = _check(report, rc, out)
        assert rc == 0, out[-2000:]
        assert (v['status'], v['cause'], v['segment']) == ('ok', 'none', None), (inst, v)
        # the hop list is complete and derived: guest NIC, vnet, bridge, physical NIC, gateway, external
        kinds = [h['kind'] for h in report['hops']]
        assert kinds[:3] == ['guest_nic', 'vnet', 'bridge'] and kinds[-3:] == ['physical', 'gateway', 'external']
        assert all(h['interface'] for h in report['hops'][:3]), report['hops']
        assert report['ladder']['external_ok'] is True
        assert {d['status'] for d in report['dns']} == {'ok'} and report['dns_trigger'] == ['names']
        forward = {d['query'] for d in report['dns'] if d['type'] != 'PTR'}
        assert forward == {r['name'] for r in lab.state['model']['external']['dns_records']}
        # the reverse lookup of the external target goes with them (a dead upstream fails both, slow PTR only this)
        assert [d['query'] for d in report['dns'] if d['type'] == 'PTR'] == [report['external_target']]
        print('%s %s ok in %.1f s' % (topology, inst, took))


def test_vlan_terminated_instance_is_floating_ip_stale(vlan_lab, tmp_path):
    # the vlan topology ships a terminated instance whose floating IP is still associated
    gone = [n for n, i in vlan_lab.state['model']['instances'].items() if i['state'] == 'deleted']
    assert gone
    rc, report, out, dummy = run_diagnose(vlan_lab, gone[0], tmp_path)
    v = _check(report, rc, out)
    assert (v['status'], v['cause'], v['segment']) == ('fault', 'floating_ip_stale', 'control_plane')
    assert 'repair_floating_ip.yml' in v['advice']


def _fault_cases():
    for topology, faults in FAULT_TARGETS.items():
        for fault, insts in sorted(faults.items()):
            yield pytest.param(topology, fault, insts, id='%s-%s' % (topology, fault))


@pytest.mark.parametrize('topology, fault, instances', list(_fault_cases()))
def test_fault_names_cause_and_segment(request, topology, fault, instances, tmp_path):
    lab = _lab(request, topology)
    target = instances[0]
    try:
        lab.fault(fault, target)
        if os.environ.get('NETDIAG_DIAGNOSE_ALL_INSTANCES'):
            instances = [target] + [i for i in _affected(lab, fault, target) if i != target]
        for inst in instances:
            rc, report, out, took = run_diagnose(lab, inst, tmp_path)
            v = _check(report, rc, out)
            assert rc == 0, out[-2000:]
            assert (v['status'], v['cause'], v['segment']) == ('fault',) + EXPECTED[fault], (inst, v['summary'], v['suspects'])
            assert v['evidence'] and v['advice'] and 'killall' not in v['advice'].replace('Never `killall dnsmasq`', '')
            print('%s %s %s: %s in %.1f s' % (topology, fault, inst, v['cause'], took))
    finally:
        lab.heal()


def test_dns_failure_from_the_console_log_alone(seed_lab, tmp_path):
    """No names in the inventory, no check_dns: the failed boot-time lookup in the console log starts the DNS
    triage, which looks up the name printed there and finds the upstream server silent."""
    lab = seed_lab
    name = lab.state['model']['external']['dns_records'][0]['name']
    try:
        lab.fault('dns_broken', 'vm1')
        rc, report, out, dummy = run_diagnose(lab, 'vm1', tmp_path, {'netdiag_dns_names': []})
        v = _check(report, rc, out)
    finally:
        lab.heal()
    assert report['dns_trigger'] == ['console']
    # the name printed there, and the reverse lookup of the external target that always goes with it: both time out
    assert [(d['query'], d['type'], d['status']) for d in report['dns']] == [(name, 'A', 'timeout'),
                                                                             (report['external_target'], 'PTR', 'timeout')]
    assert (v['status'], v['cause'], v['segment']) == ('fault', 'dns_failure', 'beyond_gateway'), v['summary']
    assert any(e['source'] == 'console_log_info' and 'no servers could be reached' in e['excerpt'] for e in v['evidence'])
    # healed: the instance rebooted with a working resolver; nothing in its console starts a triage any more
    rc, report, out, dummy = run_diagnose(lab, 'vm1', tmp_path / 'healed', {'netdiag_dns_names': []})
    v = _check(report, rc, out)
    assert (v['status'], report['dns'], report['dns_trigger']) == ('ok', [], []), v['summary']


def test_same_verdict_twice_and_nothing_changes(seed_lab, tmp_path):
    """forward_drop twice in a row (capture on the whole path, DNS checked, second instance): same verdict, and
    the hosts' interfaces, addresses, routes, iptables rules, ip_forward and processes identical before and after.

    forward_drop keeps the guests' DHCP renewals working (bridged traffic passes), so the lab's own DHCP clients
    change nothing during the test; with a link fault the guest's lease would expire in the middle of it."""
    lab = seed_lab
    try:
        lab.fault('forward_drop', 'vm1')
        pids_before = _settled_pids(lab)
        before = snapshot(lab)
        verdicts = []
        for n in range(2):
            rc, report, out, dummy = run_diagnose(lab, 'vm1', tmp_path / str(n),
                                                  dict(DNS, second_instance='vm2', diagnose_capture='always',
                                                       diagnose_capture_scope='path'))
            v = _check(report, rc, out)
            verdicts.append((v['status'], v['cause'], v['segment'], v['hop']))
            assert report['capture'].get('captured_hops') or report['capture'].get('error'), report['capture']
        after = snapshot(lab)
        # Ansible's async_wrapper (path_capture's captures run as async tasks) polls its job every 5 s and so
        # outlives the collected job by up to 5 s: give it that long, then nothing of ours may remain.
        deadline = time.monotonic() + 15
        while True:
            pids_after = {h: _ns_pids(i['netns']) for h, i in lab.state['hosts'].items()}
            if time.monotonic() > deadline or not any(
                    c in OURS for h, pids in pids_after.items() for p, c in pids.items() if p not in pids_before[h]):
                break
            time.sleep(0.5)
    finally:
        lab.heal()
    assert verdicts[0][:3] == ('fault', 'firewall_drop', 'compute')
    assert verdicts == [verdicts[0]] * 2
    assert after == before
    for host, pids in pids_after.items():
        new = {p: c for p, c in pids.items() if p not in pids_before[host]}
        # nothing of the diagnosis survives it (a lab DHCP client may run its script in between: not ours)
        assert not [c for c in new.values() if c in OURS], (host, new)
        gone = {p: c for p, c in pids_before[host].items() if p not in pids}
        assert not gone, (host, 'a process of the lab disappeared', gone)


OURS = ('tcpdump', 'ping', 'python', 'python3', 'dnsmasq')


def _settled_pids(lab):
    """The lab's long-lived processes per host: those present in two samples 2 s apart (a DHCP client's script or
    a daemon still exiting after the previous test's heal is not one of them)."""
    first = {h: _ns_pids(i['netns']) for h, i in lab.state['hosts'].items()}
    time.sleep(2)
    second = {h: _ns_pids(i['netns']) for h, i in lab.state['hosts'].items()}
    return {h: {p: c for p, c in second[h].items() if first[h].get(p) == c} for h in second}


def _ns_pids(ns):
    res = subprocess.run(['ip', 'netns', 'pids', ns], capture_output=True, text=True, check=True)
    out = {}
    for p in res.stdout.split():
        try:
            with open('/proc/%s/comm' % p, encoding='utf-8') as f:
                out[int(p)] = f.read().strip()
        except OSError:
            continue
    return out


def test_fail_on_fault_and_bad_names(seed_lab, tmp_path):
    lab = seed_lab
    try:
        lab.fault('bridge_down', 'vm1')
        rc, report, out, dummy = run_diagnose(lab, 'vm1', tmp_path, {'netdiag_fail_on_fault': True})
        assert rc != 0
        assert report['verdict']['cause'] == 'bridge_down'
        assert 'bridge down' in out
    finally:
        lab.heal()
    rc, report, out, dummy = run_diagnose(lab, "x' OR '1'='1", tmp_path)
    assert rc != 0 and report is None
    assert "No instance named x' OR '1'='1 in the nova DB." in out
    assert 'Traceback' not in out
    # the instance's compute node is not in the inventory (every compute host says it is another nova host)
    host = lab.model['instances']['vm1']['host']
    rc, report, out, dummy = run_diagnose(lab, 'vm1', tmp_path, {'netdiag_nova_host': 'elsewhere'})
    assert rc != 0 and report is None
    assert ("runs on nova host '%s', but no host of the group 'compute' has netdiag_nova_host (or inventory name) '%s'." % (host, host)
            in ' '.join(out.split()))
    assert 'Traceback' not in out
    # the TLS options of netdiag_nova_db reach the DB look-up: a CA file that does not exist is named
    db = {k: v for k, v in lab.state['db']['conn_params'].items() if k != 'login_unix_socket'}
    missing_ca = str(tmp_path / 'no-such-ca.pem')
    rc, report, out, dummy = run_diagnose(lab, 'vm1', tmp_path, {'netdiag_nova_db': dict(db, ca_cert=missing_ca)})
    assert rc != 0 and report is None
    assert 'ca_cert %s does not exist' % missing_ca in out
    assert 'Traceback' not in out


def _page_heads(page, md):
    return re.findall(r'<h2>([^<]*)</h2>', page), [ln[3:] for ln in md.splitlines() if ln.startswith('## ')]


@pytest.mark.parametrize('fault, instance, kind', [('vnet_detached', 'vm1', 'hop'), ('forward_drop', 'vm1', 'stack')])
def test_html_and_markdown_reports_of_a_lab_run(seed_lab, tmp_path, fault, instance, kind):
    if chromium() is None:
        pytest.skip('chromium is not installed')
    lab = seed_lab
    try:
        lab.fault(fault, instance)
        rc, report, out, dummy = run_diagnose(lab, instance, tmp_path)
    finally:
        lab.heal()
    verdict = _check(report, rc, out)
    place = verdict['place']
    assert place['kind'] == kind
    compute = lab.state['model']['instances'][instance]['host']
    if kind == 'hop':
        assert verdict['cause'] == 'vnet_not_in_bridge'
        assert [h['id'] for h in report['hops'] if h['status'] == 'fault'] == [place['hop']]
        assert report['hops'][[h['id'] for h in report['hops']].index(place['hop'])]['kind'] == 'vnet'
    else:
        # the DROP rule on the compute node's firewall is the place; no interface is blamed for it
        assert verdict['cause'] == 'firewall_drop'
        assert place['host'] == compute and '-j DROP' in place['object']
        assert not [h for h in report['hops'] if h['status'] in ('fault', 'suspect')]
        assert any(e['place'] for e in verdict['evidence'])
    # every hop says what was observed there; "unknown" only with a reason
    assert all(h['observed'] != 'unknown' or h['observed_why'] for h in report['hops'])
    page = (tmp_path / ('%s.html' % instance)).read_text(encoding='utf-8')
    md = (tmp_path / ('%s.md' % instance)).read_text(encoding='utf-8')
    heads = _page_heads(page, md)
    assert heads[0] == heads[1]
    assert '**Where:** %s' % report_place_text(place) in md
    for width in (1024, 1920):
        m = measure(page, tmp_path, width)
        assert m['scroll_width'] <= width, (width, m['scroll_width'])
        assert all(b['right'] <= width for b in m['boxes'] + m['hosts'])
        red = [b['id'] for b in m['boxes'] if 'rgb(217, 48, 37)' in (b['outline'] + b['border'])]
        assert red == (['hop-%s' % place['hop']] if kind == 'hop' else ['place'])
        assert [h['host'] for h in m['hosts'] if 'has-fault' in h['cls'].split()] == [compute]
