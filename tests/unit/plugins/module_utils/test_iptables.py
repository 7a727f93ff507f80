# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_iptables on real iptables-save -c output (nft and legacy) of a nova-network-like ruleset.

The fixtures were made by tests/unit/fixtures/iptables/capture.sh (see there): the ruleset loaded
with iptables-restore into a throw-away namespace, real pings moving the counters.
"""

from __future__ import annotations

import os
import shlex

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _iptables as P

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'iptables')


def text(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


@pytest.fixture(scope='module', params=['nft', 'legacy'])
def saved(request):
    return request.param, P.parse_save(text('nova_%s_save_c.txt' % request.param))


def rules_of(parsed, table, chain):
    return parsed['tables'][table]['chains'][chain]['rules']


def test_backend_and_shape(saved):
    backend, r = saved
    assert r['backend'] == backend and r['version'] == '1.8.9'
    assert set(r['tables']) == {'filter', 'nat', 'mangle'}
    restored = [ln for ln in text('nova_ruleset.rules').splitlines() if ln.startswith('-A ')]
    assert r['rule_count'] == len(restored)
    # Every rule of the restored ruleset comes back, in order within each chain.
    got = [rule['rule'] for t in r['tables'].values() for c in t['chains'].values() for rule in c['rules']]
    assert sorted(got) == sorted(restored)
    inst = rules_of(r, 'filter', 'nova-compute-inst-1')
    assert [x['index'] for x in inst] == list(range(1, 10))


def test_chains_policies_and_nova(saved):
    r = saved[1]
    chains = r['tables']['filter']['chains']
    assert chains['INPUT']['policy'] == 'ACCEPT' and chains['INPUT']['builtin'] is True
    assert chains['INPUT']['packets'] >= 3
    assert chains['nova-filter-top']['policy'] is None and chains['nova-filter-top']['builtin'] is False
    assert chains['nova-filter-top']['managed_by'] == 'nova-network'
    assert chains['ops-blocklist']['managed_by'] is None
    nova = P.summarize(r)['nova_chains']
    assert 'nat/nova-network-float-snat' in nova and 'filter/ops-blocklist' not in nova


def test_rule_fields(saved):
    r = saved[1]
    inst = rules_of(r, 'filter', 'nova-compute-inst-1')
    dhcp = inst[3]
    assert dhcp['source'] == '10.0.2.1/32' and dhcp['protocol'] == 'udp'
    assert dhcp['sport'] == '67' and dhcp['dport'] == '68' and dhcp['modules'] == ['udp']
    web = inst[7]
    assert web['dports'] == ['80', '443', '8000:8080']
    assert web['comment'] == 'web "frontend" ports'
    assert web['modules'] == ['multiport', 'comment']
    assert inst[1]['matches'] == {'state': {'state': 'RELATED,ESTABLISHED'}}
    assert inst[2]['target'] == 'nova-compute-provider' and 'target_args' not in inst[2]
    block, reject = rules_of(r, 'filter', 'ops-blocklist')
    assert block['target'] == 'DROP' and block['packets'] == 2 and block['bytes'] == 168
    assert block['comment'] == 'operator: block probe host'
    assert reject['negated'] == ['source'] and reject['source'] == '10.0.2.0/24'
    assert reject['in_interface'] == 'br100' and reject['dport'] == '5900:5999'
    assert reject['target_args'] == {'reject-with': 'icmp-port-unreachable'}
    meta = rules_of(r, 'nat', 'nova-network-PREROUTING')[0]
    assert meta['target_args'] == {'to-destination': '10.0.0.42:8775'}
    ct = rules_of(r, 'nat', 'nova-network-POSTROUTING')[2]
    assert ct['negated'] == ['conntrack.ctstate'] and ct['matches']['conntrack'] == {'ctstate': 'DNAT'}
    snat = rules_of(r, 'nat', 'nova-network-float-snat')[1]
    assert snat['out_interface'] == 'eth0' and snat['target_args'] == {'to-source': '203.0.113.30'}
    csum = rules_of(r, 'mangle', 'nova-network-POSTROUTING')[0]
    assert csum['target'] == 'CHECKSUM' and csum['target_args'] == {'checksum-fill': True}


def test_nft_and_legacy_agree():
    a = P.parse_save(text('nova_nft_save_c.txt'))
    b = P.parse_save(text('nova_legacy_save_c.txt'))
    for t in a['tables']:
        for c, chain in a['tables'][t]['chains'].items():
            other = b['tables'][t]['chains'][c]
            assert [(x['rule'], x.get('matches'), x['target']) for x in chain['rules']] == \
                [(x['rule'], x.get('matches'), x['target']) for x in other['rules']]


def test_quote_splitter_agrees_with_shlex_on_real_lines():
    lines = [ln.split('] ', 1)[1] for ln in text('nova_nft_save_c.txt').splitlines() if '"' in ln]
    assert len(lines) == 2
    for ln in lines:
        assert P.split_rule(ln) == shlex.split(ln)


def test_without_counters():
    r = P.parse_save(text('nova_ruleset.rules'))
    assert r['backend'] is None
    rule = rules_of(r, 'filter', 'ops-blocklist')[0]
    assert rule['packets'] is None and rule['target'] == 'DROP'


def test_compare_counters_names_the_drop_that_fired():
    before = P.parse_save(text('nova_nft_save_c.txt'))
    after = P.parse_save(text('nova_nft_save_c_after.txt'))
    cmp = P.compare_counters(before, after)
    first = cmp['moved'][0]
    assert first['drop'] is True and first['chain'] == 'ops-blocklist' and first['index'] == 1
    assert first['packets'] == 2 and first['bytes'] == 168
    assert [m for m in cmp['moved'] if m['drop']] == [first]
    assert cmp['reset'] == [] and cmp['added'] == 0 and cmp['removed'] == 0
    # Same snapshot twice: nothing moved.
    assert P.compare_counters(before, before)['moved'] == []


def test_compare_counters_survives_an_inserted_rule():
    before = P.parse_save(text('nova_nft_save_c.txt'))
    lines = text('nova_nft_save_c_after.txt').splitlines()
    i = next(n for n, ln in enumerate(lines) if '-A ops-blocklist -s 10.0.2.66/32' in ln)
    lines.insert(i, '[9:900] -A ops-blocklist -s 192.0.2.9/32 -j ACCEPT')
    cmp = P.compare_counters(before, P.parse_save('\n'.join(lines)))
    drop = [m for m in cmp['moved'] if m['drop']]
    assert len(drop) == 1 and drop[0]['packets'] == 2 and drop[0]['index'] == 2
    assert cmp['added'] == 1


def test_rules_for_flow_blocked_probe_host():
    r = P.parse_save(text('nova_nft_save_c.txt'))
    res = P.rules_for_flow(r, '10.0.2.66', '10.0.2.1', 'icmp', in_iface='br100', chains=['INPUT'])
    assert list(res) == ['INPUT']
    assert res['INPUT']['verdict'] == 'DROP'
    assert res['INPUT']['decided_by']['chain'] == 'ops-blocklist' and res['INPUT']['decided_by']['index'] == 1
    ok = P.rules_for_flow(r, '10.0.2.24', '10.0.2.1', 'icmp', in_iface='br100', chains=['INPUT'])
    assert ok['INPUT']['verdict'] == 'ACCEPT' and ok['INPUT']['decided_by'] == 'policy'


@pytest.mark.parametrize('proto,dport,verdict,chain,index', [
    ('icmp', None, 'ACCEPT', 'nova-compute-inst-1', 6),
    ('tcp', 22, 'ACCEPT', 'nova-compute-inst-1', 7),
    ('tcp', 8080, 'ACCEPT', 'nova-compute-inst-1', 8),
    ('tcp', 9999, 'DROP', 'nova-compute-sg-fallback', 1),
])
def test_rules_for_flow_security_group(proto, dport, verdict, chain, index):
    r = P.parse_save(text('nova_legacy_save_c.txt'))
    res = P.rules_for_flow(r, '198.51.100.7', '10.0.2.24', proto, dport, in_iface='eth0', out_iface='br100',
                           chains=['FORWARD'])['FORWARD']
    assert res['verdict'] == verdict
    assert (res['decided_by']['chain'], res['decided_by']['index']) == (chain, index)
    # Established traffic is accepted by the state rule instead.
    est = P.rules_for_flow(r, '198.51.100.7', '10.0.2.24', proto, dport, in_iface='eth0', out_iface='br100',
                           chains=['FORWARD'], state='ESTABLISHED')['FORWARD']
    assert est['decided_by']['index'] == 2


def test_rules_for_flow_nat_and_unknown_table():
    r = P.parse_save(text('nova_nft_save_c.txt'))
    res = P.rules_for_flow(r, '198.51.100.7', '203.0.113.30', 'tcp', 22, in_iface='eth0', table='nat',
                           chains=['PREROUTING'])
    assert res['PREROUTING']['verdict'] == 'DNAT'
    assert res['PREROUTING']['decided_by']['rule'].endswith('--to-destination 10.0.2.24')
    assert P.rules_for_flow(r, '1.1.1.1', '2.2.2.2', table='raw') == {}


def test_nat_for_floating_ip():
    r = P.parse_save(text('nova_nft_save_c.txt'))
    nat = P.nat_for_floating_ip(r, '203.0.113.30')
    assert [(x['chain'], x['index']) for x in nat['dnat']] == [('nova-network-OUTPUT', 1),
                                                               ('nova-network-PREROUTING', 2)]
    assert [(x['chain'], x['index']) for x in nat['snat']] == [('nova-network-float-snat', 1),
                                                               ('nova-network-float-snat', 2)]
    assert nat['fixed_addresses'] == ['10.0.2.24']
    # The compute node's own SNAT address is not the floating IP's business.
    assert all('203.0.113.34' not in x['rule'] for x in nat['snat'])
    none = P.nat_for_floating_ip(r, '203.0.113.99')
    assert none['dnat'] == [] and none['snat'] == [] and none['fixed_addresses'] == []


@pytest.mark.parametrize('bad,match', [
    ('', 'no table found'),
    ('hello\nworld\n', 'not iptables-save output'),
    ('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n', 'no COMMIT'),
    ('*filter\n-A NOPE -j ACCEPT\nCOMMIT\n', 'undeclared chain NOPE'),
    ('-A INPUT -j DROP\n', 'outside a table'),
    ('*filter\n:INPUT ACCEPT [0:0]\n[x:y] -A INPUT -j DROP\nCOMMIT\n', 'malformed counters'),
    ('*filter\n:X - [0:0]\n-A X -m comment --comment "open -j DROP\nCOMMIT\n', 'unterminated quote'),
    ('\x00\x01binary', 'not iptables-save output'),
])
def test_garbage(bad, match):
    with pytest.raises(P.IptablesError, match=match):
        P.parse_save(bad)


def test_empty_dump_allowed_when_asked():
    r = P.parse_save('', allow_empty=True)
    assert r['tables'] == {} and r['rule_count'] == 0


def test_warning_lines_kept():
    r = P.parse_save('# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n'
                     + text('nova_nft_save_c.txt'))
    assert r['warnings'] == ['Warning: iptables-legacy tables present, use iptables-legacy-save to see them']


def test_filter_tables():
    r = P.filter_tables(P.parse_save(text('nova_nft_save_c.txt')), ['nat'])
    rules = text('nova_ruleset.rules').split('*nat', 1)[1].split('COMMIT', 1)[0]
    assert list(r['tables']) == ['nat'] and r['rule_count'] == rules.count('\n-A ')


def test_negated_port_and_target_arguments():
    text_ = ('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n'
             '-A INPUT -p tcp -m tcp ! --dport 22 -j DROP\n'
             '-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --clamp-mss-to-pmtu\n'
             '-A FORWARD -j LOG --log-prefix "nova drop: " --log-level 4\nCOMMIT\n')
    r = P.parse_save(text_)
    drop = rules_of(r, 'filter', 'INPUT')[0]
    assert drop['negated'] == ['tcp.dport'] and drop['dport'] == '22'
    assert P.rules_for_flow(r, '192.0.2.1', '192.0.2.2', 'tcp', 22, chains=['INPUT'])['INPUT']['verdict'] == 'ACCEPT'
    assert P.rules_for_flow(r, '192.0.2.1', '192.0.2.2', 'tcp', 80, chains=['INPUT'])['INPUT']['verdict'] == 'DROP'
    mss, log = rules_of(r, 'filter', 'FORWARD')
    assert mss['matches']['tcp'] == {'tcp-flags': 'FIN,SYN,RST,ACK SYN'}
    assert mss['target_args'] == {'clamp-mss-to-pmtu': True}
    assert log['target_args'] == {'log-prefix': 'nova drop: ', 'log-level': '4'}


@pytest.mark.parametrize('backend', ['nft', 'legacy'])
def test_varied_real_ruleset(backend):
    # Real iptables-save -c output of varied_ruleset.rules (capture_varied.sh): many match modules
    # and targets, as each backend prints them.
    r = P.parse_save(text('varied_%s_save_c.txt' % backend))
    assert r['backend'] == backend and r['rule_count'] == 42
    inp = {x['index']: x for x in rules_of(r, 'filter', 'INPUT')}
    ssh = next(x for x in inp.values() if x.get('dport') == '22')
    assert ssh['source'] == '10.0.0.0/8' and ssh['negated'] == ['source']
    assert ssh['comment'] == 'ssh from outside -j DROP "quoted" here'
    assert ssh['target'] == 'REJECT' and ssh['target_args'] == {'reject-with': 'tcp-reset'}
    web = next(x for x in inp.values() if x.get('modules') == ['tcp', 'multiport', 'comment'] or
               x.get('modules') == ['multiport', 'comment'])
    assert web['dports'] == ['80', '443', '8000:8080'] and web['comment'] == 'web'
    flags = next(x for x in inp.values() if 'connlimit' in x.get('modules', ()))
    assert flags['matches']['tcp']['tcp-flags'] == 'FIN,SYN,RST,ACK SYN'
    assert flags['matches']['connlimit']['connlimit-above'] == '50'
    log_chain = rules_of(r, 'filter', 'ops-log')
    assert log_chain[0]['target'] == 'LOG' and log_chain[0]['target_args']['log-prefix'] == 'ops drop: '
    assert log_chain[1]['target_args']['nflog-prefix'] == 'nf log'
    assert log_chain[1]['target_args']['nflog-group'] == '5'
    out = rules_of(r, 'filter', 'OUTPUT')
    assert out[1]['matches']['u32']['u32'] == '0x0>>0x16&0x3c@0x8>>0xf&0x1=0x1'
    inst = rules_of(r, 'filter', 'nova-compute-inst-7')
    assert inst[3]['comment'] == "nova \"sg\" it's" and inst[3]['target'] == 'RETURN'
    assert r['tables']['filter']['chains']['nova-compute-inst-7']['managed_by'] == 'nova-network'
    fwd = rules_of(r, 'filter', 'FORWARD')
    assert fwd[1]['negated'] == ['in_interface'] and fwd[1]['matches']['physdev']['physdev-is-bridged'] is True
    assert fwd[-1]['target'] == 'ops-log' and fwd[-1]['goto'] is True
    frag = next(x for x in inp.values() if x.get('fragment'))
    assert frag['target'] == 'DROP'
    no_target = next(x for x in inp.values() if x.get('comment') == 'empty target rule')
    assert no_target['target'] is None and 'target_args' not in no_target
    nat = rules_of(r, 'nat', 'PREROUTING')
    assert nat[0]['target_args'] == {'to-destination': '10.0.2.24:8080'}
    assert P.nat_for_floating_ip(r, '203.0.113.5')
    masq = rules_of(r, 'nat', 'POSTROUTING')[0]
    assert masq['negated'] == ['destination'] and masq['target_args'] == {'random': True}
    assert rules_of(r, 'raw', 'PREROUTING')[0]['target_args'] == {'notrack': True}


def test_varied_real_ruleset_quotes_agree_with_shlex():
    # Except where the nft backend escapes a single quote inside double quotes (it\'s): iptables-restore
    # reads that as it's (the comment as written, see test_varied_real_ruleset), POSIX shlex keeps the
    # backslash.
    checked = 0
    for backend in ('nft', 'legacy'):
        for ln in text('varied_%s_save_c.txt' % backend).splitlines():
            if ln.startswith('[') and "\\'" not in ln:
                body = ln.split('] ', 1)[1]
                assert P.split_rule(body) == shlex.split(body), ln
                checked += 1
    assert checked >= 80


def test_repeated_bodies_share_parsed_fields_but_not_counters():
    text_ = ('*filter\n:A - [0:0]\n:B - [0:0]\n'
             '[1:10] -A A -p tcp -m tcp --dport 22 -j ACCEPT\n'
             '[2:20] -A B -p tcp -m tcp --dport 22 -j ACCEPT\n'
             '[3:30] -A B -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n')
    r = P.parse_save(text_)
    a, b1, b2 = rules_of(r, 'filter', 'A') + rules_of(r, 'filter', 'B')
    assert [(x['index'], x['packets'], x['bytes'], x['rule']) for x in (a, b1, b2)] == [
        (1, 1, 10, '-A A -p tcp -m tcp --dport 22 -j ACCEPT'), (1, 2, 20, '-A B -p tcp -m tcp --dport 22 -j ACCEPT'),
        (2, 3, 30, '-A B -p tcp -m tcp --dport 22 -j ACCEPT')]
    assert a['matches'] == b2['matches'] == {'tcp': {'dport': '22'}} and a['dport'] == b1['dport'] == '22'
