# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two classes an independent multi-host VlanManager cloud showed the engine blind to, on the lab.

- DHCP filtered at layer 2: the vlan topology carries nova-network's own multi_host DHCP isolation in
  ebtables (share_dhcp_address); every instance got its lease at boot, so the dnsmasq log holds a
  complete DISCOVER/OFFER/REQUEST/ACK; then a stray ebtables rule drops the requests from one tap and
  the instance reboots. The verdict must name the rule with its counters, not "replies lost", and must
  not blame nova's own isolation rules.
- The upstream DNS server dead (no failed lookup in the console log) against only reverse lookups
  hanging: told apart by forward and reverse lookups through the resolver and the upstream asked directly.
"""

from __future__ import annotations

import json
import os
import subprocess

import jsonschema
import pytest

from diagnose_lab_helpers import REPO, run_diagnose, snapshot

pytestmark = [pytest.mark.lab, pytest.mark.slow]

with open(os.path.join(REPO, 'schemas', 'diagnose_report.schema.json'), encoding='utf-8') as _f:
    SCHEMA = json.load(_f)

# no name to look up: only the liveness name and the reverse lookup of the external target
NO_NAMES = {'check_dns': True, 'netdiag_dns_names': []}


def _verdict(report, rc, out):
    assert report is not None and rc == 0, out[-3000:]
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    return report['verdict']


def _ebtables(lab, host):
    return subprocess.run(['ip', 'netns', 'exec', lab.ns(host), 'ebtables-save', '-c'], capture_output=True, text=True,
                          check=True).stdout


def test_dhcp_filtered_by_ebtables(vlan_lab, tmp_path):
    lab = vlan_lab
    inst = lab.state['model']['instances']['web2']
    # nova-network's isolation is there, and the instance got its lease through it
    iso = _ebtables(lab, inst['host'])
    assert '-A FORWARD -p IPv4 -o vlan100 --ip-proto udp --ip-dport 67:68 -j DROP' in iso
    assert lab.lease('web2')
    try:
        lab.fault('dhcp_ebtables_drop', 'web2')
        before = snapshot(lab)
        rc, report, out, took = run_diagnose(lab, 'web2', tmp_path)
        v = _verdict(report, rc, out)
        assert (v['status'], v['cause'], v['segment'], v['rule']) == ('fault', 'ebtables_drop', 'compute', 'nova-network.ebtables_drop'), v
        cause_ev = [e for e in v['evidence'] if e['kind'] == 'cause']
        stray = '-A INPUT -p IPv4 -i %s --ip-proto udp --ip-dport 67 -j DROP' % inst['vnet']
        assert stray in cause_ev[0]['excerpt'] and 'packets' in cause_ev[0]['excerpt'], cause_ev
        assert not any('vlan100' in e['excerpt'] for e in cause_ev), 'nova-network\'s own isolation rule blamed'
        assert '`ebtables -t filter -D INPUT -p IPv4 -i %s --ip-proto udp --ip-dport 67 -j DROP`' % inst['vnet'] in v['advice']
        # the old complete exchange in the dnsmasq log is judged by time: the requests are not seen, not "replies lost"
        causes = [s['cause'] for s in v['suspects']]
        assert 'dhcp_request_not_seen' in causes and 'dhcp_reply_lost' not in causes, v['suspects']
        assert v['place']['kind'] == 'stack' and v['place']['host'] == inst['host']
        assert snapshot(lab) == before, 'the diagnosis changed the lab'
        print('dhcp_ebtables_drop web2: %s in %.1f s' % (v['summary'], took))
    finally:
        lab.heal()
    assert stray not in _ebtables(lab, inst['host'])


def test_upstream_dead_without_console_failures(vlan_lab, tmp_path):
    lab = vlan_lab
    try:
        lab.fault('dns_upstream_stopped', 'web2')
        rc, report, out, took = run_diagnose(lab, 'web2', tmp_path, extra=NO_NAMES)
        v = _verdict(report, rc, out)
        assert (v['status'], v['cause'], v['segment']) == ('fault', 'dns_failure', 'beyond_gateway'), (v['summary'], v['suspects'])
        assert 'dns_reverse_slow' not in [s['cause'] for s in v['suspects']]
        # the console log has no failed lookup: the verdict rests on the probes, forward, reverse and direct
        assert report['instance'] and not [e for e in v['evidence'] if e['source'] == 'console_log_info']
        sources = {e['source'] for e in v['evidence'] if e['kind'] == 'cause'}
        assert {'dns_probe', 'dns_probe (upstream, directly)'} <= sources, v['evidence']
        assert v['place']['label'] == 'upstream DNS server of dnsmasq'
        print('dns_upstream_stopped web2: %s in %.1f s' % (v['summary'], took))
    finally:
        lab.heal()


def test_reverse_slow_when_forward_works(vlan_lab, tmp_path):
    lab = vlan_lab
    try:
        lab.fault('dns_reverse_slow', 'web2')
        for extra in (NO_NAMES, {'check_dns': True}):
            rc, report, out, took = run_diagnose(lab, 'web2', tmp_path, extra=extra)
            v = _verdict(report, rc, out)
            assert (v['status'], v['cause'], v['segment']) == ('fault', 'dns_reverse_slow', 'compute'), (extra, v['summary'], v['suspects'])
            assert 'dns_failure' not in [s['cause'] for s in v['suspects']]
            ptr = [d for d in report['dns'] if d['type'] == 'PTR']
            assert ptr and ptr[0]['status'] == 'timeout'
            print('dns_reverse_slow web2 %s: %s in %.1f s' % (sorted(extra), v['summary'], took))
    finally:
        lab.heal()
