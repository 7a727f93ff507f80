# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One test per rule of the catalog, each rule on its own: it fires on the fault and stays silent on the
near miss. The evidence is the chapter's healthy compute node (diagnose_evidence), with real parser
output where a rule reads one: ebtables-save of tests/unit/fixtures/ebtables, the chapter's dnsmasq
syslog and Cirros console log, dns_probe answers. Also: the catalog's own consistency, docs/causes.md
is what tools/gen_causes.py writes, and every test a rule names exists."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _console, _dnsmasq, _ebtables
from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _rules
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model import Model

from diagnose_evidence import MAC, healthy, iface, probe, with_hops

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
FIX = os.path.join(REPO, 'tests', 'unit', 'fixtures')
RULES = {r.cause: r for r in _rules.rules_of('nova-network')}


def fires(ev, cause):
    """The findings of the rule of ``cause`` on ``ev`` (None when it does not fire)."""
    m = Model(with_hops(ev))
    r = RULES[cause]
    assert all(m.has(n) for n in r.needs), 'the sample lacks a fact %s needs' % cause
    if r.when is not None and not r.when(m):
        return None
    return r.check(m)


def text_of(found):
    items = found if isinstance(found, list) else [found]
    return '\n'.join(e['excerpt'] for f in items for e in f['evidence'])


def _fail_pings(ev, compute_ok=False):
    probe(ev, 'guest_external', False)
    probe(ev, 'guest_compute', compute_ok)


def _down(i):
    i['flags'] = ['BROADCAST', 'MULTICAST']
    i['operstate'] = 'DOWN'


def _real_ebtables(ev, name='nova_nft_save_c_after.txt', tap='vnet1'):
    """The real ebtables-save of the fixtures, its instance tap renamed to the sample's."""
    with open(os.path.join(FIX, 'ebtables', name), encoding='utf-8') as f:
        ev['hosts']['mynode']['ebtables'] = _ebtables.parse_save(f.read().replace('vnet0', tap))


def _no_lease(ev, modified):
    """The chapter's Cirros console (no lease) as console_log_info reads it, last written at ``modified``."""
    info, dummy = _console.analyse_file(os.path.join(FIX, 'console', 'chapter_cirros_no_lease.log'))
    info['modified'] = modified
    ev['hosts']['mynode']['console_log'] = info
    iface(ev, 'guest-test', 'eth0')['addresses'] = []
    _fail_pings(ev)


def _chapter_dnsmasq_log(ev):
    """The chapter's DISCOVER/OFFER/REQUEST/ACK syslog lines, as dnsmasq_info's log scan returns them."""
    scan = _dnsmasq.scan_log(os.path.join(FIX, 'dnsmasq', 'chapter_syslog_handshake.log'), macs=[MAC],
                             ref_time=datetime.datetime(2013, 3, 1))
    dm = ev['hosts']['mynode']['dnsmasq']
    dm.pop('dhcp_by_mac')
    dm['log'] = {'macs': scan['macs']}


# ------------------------------------------------------------------ link layer
def test_instance_interface_down():
    ev = healthy()
    _fail_pings(ev)
    assert fires(ev, 'instance_interface_down') is None
    _down(iface(ev, 'guest-test', 'eth0'))
    assert 'eth0' in text_of(fires(ev, 'instance_interface_down'))
    # without guest facts: the tap up without carrier
    ev = healthy()
    del ev['hosts']['guest-test']
    ev['guest_host'] = None
    v1 = iface(ev, 'mynode', 'vnet1')
    assert fires(ev, 'instance_interface_down') is None
    v1['flags'].remove('LOWER_UP')
    v1['carrier'] = False
    assert 'guest side of the tap is down' in text_of(fires(ev, 'instance_interface_down'))


def test_vnet_missing():
    ev = healthy()
    assert fires(ev, 'vnet_missing') is None
    c = ev['hosts']['mynode']
    c['interfaces'] = [i for i in c['interfaces'] if i['name'] != 'vnet1']
    assert 'no interface named vnet1' in text_of(fires(ev, 'vnet_missing'))


def test_vnet_down():
    ev = healthy()
    assert fires(ev, 'vnet_down') is None
    _down(iface(ev, 'mynode', 'vnet1'))
    f = fires(ev, 'vnet_down')
    assert f['hop'] == '01-vnet' and '`ip link set vnet1 up`' in f['advice']


def test_vnet_not_in_bridge():
    ev = healthy()
    assert fires(ev, 'vnet_not_in_bridge') is None
    iface(ev, 'mynode', 'vnet1')['master'] = None
    c = ev['hosts']['mynode']
    c['bridges'][0]['ports'] = [p for p in c['bridges'][0]['ports'] if p['name'] != 'vnet1']
    assert '`ip link set vnet1 master br100`' in fires(ev, 'vnet_not_in_bridge')['advice']


def test_bridge_down():
    ev = healthy()
    assert fires(ev, 'bridge_down') is None
    _down(iface(ev, 'mynode', 'br100'))
    assert 'br100' in text_of(fires(ev, 'bridge_down'))


def test_physical_interface_down():
    ev = healthy()
    assert fires(ev, 'physical_interface_down') is None
    e0 = iface(ev, 'mynode', 'eth0')
    e0['flags'].remove('LOWER_UP')
    e0['carrier'] = False
    f = fires(ev, 'physical_interface_down')
    assert f[0]['segment'] == 'compute_to_gateway' and 'no carrier' in f[0]['advice']


def test_gateway_unreachable():
    ev = healthy()
    assert fires(ev, 'gateway_unreachable') is None
    probe(ev, 'compute_gateway', False)
    assert '203.0.113.1' in fires(ev, 'gateway_unreachable')['advice']
    # a NIC that is down explains it: the rule is not evaluated then
    _down(iface(ev, 'mynode', 'eth0'))
    fired, dummy = _engine.run_rules(Model(with_hops(ev)), 'nova-network')
    assert 'physical_interface_down' in fired and 'gateway_unreachable' not in fired


# ------------------------------------------------------------------ the compute node's stack
def test_ebtables_drop():
    ev = healthy()
    _fail_pings(ev)
    # nova-network's own isolation rules only (the real dump before the stray rule fired, stray rule removed)
    _real_ebtables(ev)
    chains = ev['hosts']['mynode']['ebtables']['tables']['filter']['chains']
    stray = chains['INPUT']['rules'].pop(0)
    assert fires(ev, 'ebtables_drop') is None
    chains['INPUT']['rules'].insert(0, stray)
    f = fires(ev, 'ebtables_drop')
    assert '-A INPUT -p IPv4 -i vnet1 --ip-proto udp --ip-dport 67 -j DROP [2 packets, 656 bytes]' in text_of(f)
    assert 'vlan100' not in text_of(f) and 'DHCP filtered by ebtables' in f['summary']
    assert '`ebtables -t filter -D INPUT -p IPv4 -i vnet1 --ip-proto udp --ip-dport 67 -j DROP`' in f['advice']
    # the same rule on another instance's tap is not this instance's fault
    _real_ebtables(ev, tap='vnet2')
    assert fires(ev, 'ebtables_drop') is None


def test_forwarding_disabled():
    ev = healthy()
    assert fires(ev, 'forwarding_disabled') is None
    ev['hosts']['mynode']['ip_forward'] = '0'
    assert 'net.ipv4.ip_forward=1' in fires(ev, 'forwarding_disabled')['advice']


def test_firewall_drop():
    ev = healthy()
    fw = ev['hosts']['mynode']['iptables']['tables']['filter']['chains']['FORWARD']['rules']
    # a DROP of the whole range that never fired is no cause; nova's own sg-fallback DROP neither
    fw.append({'source': '10.0.0.0/8', 'target': 'DROP', 'packets': 0, 'rule': '-A FORWARD -s 10.0.0.0/8 -j DROP'})
    assert fires(ev, 'firewall_drop') is None
    rule = {'source': '10.0.2.24/32', 'target': 'DROP', 'packets': 3, 'rule': '-A FORWARD -s 10.0.2.24/32 -j DROP'}
    fw.insert(0, rule)
    f = fires(ev, 'firewall_drop')
    assert f['confirmed'] is False  # it exists; nothing says it fired
    ev['capture']['moved_rules'] = [{'host': 'mynode', 'moved': [dict(rule, table='filter', chain='FORWARD', packets=2)]}]
    f = fires(ev, 'firewall_drop')
    assert f['confirmed'] is True and '+2 packets during the probes' in text_of(f)


def test_nat_missing():
    ev = healthy()
    assert fires(ev, 'nat_missing') is None
    ev['hosts']['mynode']['iptables']['tables']['nat']['chains']['nova-network-float-snat']['rules'] = []
    f = fires(ev, 'nat_missing')
    assert 'SNAT 10.0.2.24 -> 203.0.113.30' in text_of(f) and 'DNAT' not in text_of(f).split('present', maxsplit=1)[0]
    ev['instance']['fixed_ips'][0]['floating_ips'] = []
    assert fires(ev, 'nat_missing') is None  # no floating IP: the rule does not apply


# ------------------------------------------------------------------ DHCP
def test_dhcp_server_down():
    ev = healthy()
    assert fires(ev, 'dhcp_server_down') is None
    dm = ev['hosts']['mynode']['dnsmasq']
    dm['processes'][0]['bridge'] = 'br101'  # the only dnsmasq serves another bridge
    f = fires(ev, 'dhcp_server_down')
    assert 'no live dnsmasq serves br100' in text_of(f) and '2438 for br101' in text_of(f)


def test_dhcp_no_address_available():
    ev = healthy()
    assert fires(ev, 'dhcp_no_address_available') is None
    # the chapter's hosts file (its one line is this MAC), then with another instance's line instead
    p = ev['hosts']['mynode']['dnsmasq']['processes'][0]
    with open(os.path.join(FIX, 'dnsmasq', 'nova-br100.conf'), encoding='utf-8') as f:
        chapter = f.read()
    p['hostsfile']['entries'] = _dnsmasq.parse_hosts_file(chapter)
    assert fires(ev, 'dhcp_no_address_available') is None
    p['hostsfile']['entries'] = _dnsmasq.parse_hosts_file(chapter.replace(MAC, 'fa:16:3e:00:00:02'))
    f = fires(ev, 'dhcp_no_address_available')
    assert 'MAC %s of test is not in the dhcp-hostsfile' % MAC in text_of(f) and '(1 entries)' in text_of(f)


def test_dhcp_request_not_seen():
    ev = healthy()
    _no_lease(ev, '2013-02-28T08:00:00')
    assert fires(ev, 'dhcp_request_not_seen') is None  # dnsmasq answered this very MAC (no time to judge by)
    ev['hosts']['mynode']['dnsmasq']['dhcp_by_mac'] = {}
    f = fires(ev, 'dhcp_request_not_seen')
    assert 'no DHCPDISCOVER from %s' % MAC in text_of(f) and 'Sending discover' in text_of(f)


def test_dhcp_old_success_is_not_the_current_state():
    # the chapter's complete exchange at Feb 27 22:01:36, the guest's failed attempt written hours later
    ev = healthy()
    _chapter_dnsmasq_log(ev)
    _no_lease(ev, '2013-02-28T08:00:00')
    f = fires(ev, 'dhcp_request_not_seen')
    assert 'ended at 2013-02-27 22:01:36, before the guest\'s latest attempt' in text_of(f)
    assert fires(ev, 'dhcp_reply_lost') is None
    # the same exchange in the second the guest last wrote: it belongs to that attempt, the reply got lost
    _no_lease(ev, '2013-02-27T22:01:36')
    assert fires(ev, 'dhcp_request_not_seen') is None
    assert 'DHCPACK(br100)' in text_of(fires(ev, 'dhcp_reply_lost'))


def test_dhcp_reply_lost():
    ev = healthy()
    assert fires(ev, 'dhcp_reply_lost') is None  # the guest has its address: no symptom
    _no_lease(ev, None)
    assert 'DHCPACK(br100)' in text_of(fires(ev, 'dhcp_reply_lost'))


# ------------------------------------------------------------------ DNS and the DB
def _q(qtype, query, status, latency=None, server='10.0.2.1'):
    return {'type': qtype, 'query_type': qtype, 'query': query, 'server': server, 'status': status, 'latency_ms': latency,
            'from_host': 'guest-test'}


def test_dns_failure():
    ev = healthy()
    ev['dns'] = [_q('A', 'www.example.org', 'ok', 2), _q('PTR', '198.51.100.10', 'ok', 1)]
    assert fires(ev, 'dns_failure') is None
    ev['dns'][0]['status'] = 'timeout'
    f = fires(ev, 'dns_failure')
    assert f['segment'] == 'beyond_gateway' and 'upstream' in f['advice']
    # nothing listens on the resolver's port 53: the resolver itself
    ev['dns'][0]['status'] = 'unreachable'
    f = fires(ev, 'dns_failure')
    assert f['segment'] is None and 'does not answer' in f['advice']


def test_upstream_dead_is_not_reverse_slow():
    # no name known: the liveness name and the PTR both time out through dnsmasq; the upstream, asked directly, is silent
    ev = healthy()
    ev['dns'] = [_q('A', 'netdiag-probe.invalid', 'timeout'), _q('PTR', '198.51.100.10', 'timeout')]
    ev['dns_upstream'] = [dict(_q('A', 'netdiag-probe.invalid', 'timeout', server='198.51.100.10'), from_host='mynode')]
    f = fires(ev, 'dns_failure')
    assert f['segment'] == 'beyond_gateway' and 'via 198.51.100.10: timeout' in text_of(f)
    fired, dummy = _engine.run_rules(Model(with_hops(ev)), 'nova-network')
    assert 'dns_reverse_slow' not in fired
    # the upstream answers (REFUSED: it does not recurse); dnsmasq swallowed that, so the liveness lookup is no failure
    ev['dns_upstream'][0]['status'] = 'refused'
    assert fires(ev, 'dns_failure') is None
    fired, dummy = _engine.run_rules(Model(with_hops(ev)), 'nova-network')
    assert list(fired) == ['dns_reverse_slow']


def test_dns_reverse_slow():
    ev = healthy()
    ev['dns'] = [_q('A', 'www.example.org', 'ok', 2), _q('PTR', '198.51.100.10', 'ok', 3)]
    assert fires(ev, 'dns_reverse_slow') is None
    ev['dns'][1].update(status='slow', latency_ms=5004)
    f = fires(ev, 'dns_reverse_slow')
    assert '5004 ms' in text_of(f) and 'forward lookups work' in text_of(f)


def test_floating_ip_stale():
    ev = healthy()
    assert fires(ev, 'floating_ip_stale') is None
    ev['instance'].update(vm_state='deleted', deleted=7)
    assert 'repair_floating_ip.yml' in fires(ev, 'floating_ip_stale')['advice']
    # an audit finding of another floating IP is not this instance's
    ev = healthy()
    ev['audit'] = [{'code': 'floating_ip_stale', 'message': 'floating IP 203.0.113.99 still on deleted instance x'}]
    assert fires(ev, 'floating_ip_stale') is None


# ------------------------------------------------------------------ the catalog itself
def test_every_rule_is_tested_documented_and_consistent():
    assert [r.rank for r in RULES.values()] == sorted(r.rank for r in RULES.values())
    assert len({r.rank for r in RULES.values()}) == len(RULES)
    for r in RULES.values():
        assert r.title and r.detects and r.cites and r.advice and r.tests, r.id
        assert all(c in RULES for c in r.explained_by), r.id
        m = Model(with_hops(healthy()))
        for n in r.needs:
            m.has(n)  # an unknown fact name raises
        for t in r.tests:
            path, dummy, name = t.partition('::')
            name = re.sub(r'\[.*\]$', '', name)
            with open(os.path.join(REPO, path), encoding='utf-8') as f:
                assert re.search(r'^def %s\(' % re.escape(name), f.read(), re.M), '%s names a missing test %s' % (r.id, t)
    # each rule of this file is here
    with open(__file__, encoding='utf-8') as f:
        here = f.read()
    for r in RULES.values():
        assert any(t.startswith('tests/unit/plugins/plugin_utils/test_rules.py::') for t in r.tests), r.id
        assert 'def test_%s(' % r.cause in here, r.id


def test_docs_and_schema_are_generated_from_the_catalog():
    res = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'gen_causes.py'), '--check'], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_fact_not_collected_is_unchecked_not_guessed():
    ev = healthy()
    _fail_pings(ev)
    ev['hosts']['mynode']['iptables'] = None
    ev['hosts']['mynode']['ebtables'] = None
    ev['fact_errors'] = ['iptables-save failed in network namespace x (rc=1): no such table']
    v = _engine.evaluate(with_hops(ev))
    un = {u['cause']: u['reason'] for u in v['unchecked']}
    assert 'iptables of mynode could not be read: iptables-save failed' in un['firewall_drop']
    assert 'not collected' in un['ebtables_drop']
    assert v['cause'] == 'unknown' and 'Not checked: ' in v['advice']


def test_unknown_backend_is_one_clear_message():
    with pytest.raises(ValueError, match="no rules for backend 'vmware'"):
        _engine.evaluate({'backend': 'vmware', 'instance': {}})
