# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of sosreport files on real command output (fixtures made from the lab's compute node: its
``iptables-save -c`` restored into iptables-legacy in a scratch namespace and listed with ``-nvL``; the
``iptables -vnxL`` of a real sos 4.0 report of the lab with the forward_drop fault)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import parse_save
from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _sosreport

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'sosreport')


def _read(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def _rules(parsed, table, counters):
    keys = ('target', 'source', 'destination', 'in_interface', 'out_interface', 'protocol', 'dport', 'sport',
            'target_args', 'matches', 'negated') + (('packets', 'bytes') if counters else ())
    return {c: [tuple(repr(r.get(k)) for k in keys) for r in ch['rules']]
            for c, ch in parsed['tables'][table]['chains'].items()}


@pytest.mark.parametrize('table, listing, counters', [
    ('nat', 'compute1.iptables_-t_nat_-nvxL.legacy.txt', True),
    ('nat', 'compute1.iptables_-t_nat_-nvL.legacy.txt', True),
    ('filter', 'compute1.iptables_-t_filter_-nvL.legacy.txt', False),
])
def test_listing_converts_to_the_rules_of_iptables_save(table, listing, counters):
    saved = parse_save(_read('compute1.iptables-save-c.txt'))
    converted = parse_save(_sosreport.listing_to_save({table: _read(listing)}))
    assert _rules(converted, table, counters) == _rules(saved, table, counters)
    pol = {c: (ch['policy'], ch['packets']) for c, ch in converted['tables'][table]['chains'].items()}
    assert pol == {c: (ch['policy'], ch['packets']) for c, ch in saved['tables'][table]['chains'].items()}


def test_nft_filter_listing_keeps_the_drop_rules_of_the_instance():
    parsed = parse_save(_sosreport.listing_to_save({'filter': _read('forward_drop.iptables_-vnxL.nft.txt')}))
    fwd = parsed['tables']['filter']['chains']['nova-network-FORWARD']['rules']
    drops = [r for r in fwd if r['target'] == 'DROP']
    assert [(r.get('source'), r.get('destination'), r.get('in_interface'), r.get('out_interface'), r.get('negated'))
            for r in drops] == [('10.0.2.24/32', None, None, 'br100', ['out_interface']),
                                (None, '10.0.2.24/32', 'br100', None, ['in_interface'])]
    assert parsed['tables']['filter']['chains']['FORWARD']['policy'] == 'ACCEPT'


@pytest.mark.parametrize('text, why', [
    ('    5   300 ACCEPT     0    --  *      *       0.0.0.0/0  0.0.0.0/0\n', 'before any "Chain"'),
    ('Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target\n   x y ACCEPT 0 -- * * a b\n', 'not a rule'),
    ('Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n    5   300 ACCEPT     0    --  *\n', 'truncated rule'),
])
def test_bad_listing_is_named(text, why):
    with pytest.raises(_sosreport.SosreportError, match=why):
        _sosreport.listing_to_save({'filter': text})


def test_counters_with_units():
    assert [_sosreport._count(v) for v in ('12', '3K', '2M', '1G')] == [12, 3000, 2000000, 1000000000]


def test_ip_route_main_table_only():
    text = ('default via 203.0.113.1 dev eth0 \n10.0.0.0/22 dev br100 proto kernel scope link src 10.0.0.42 \n'
            'local 10.0.0.42 dev br100 table local proto kernel scope host src 10.0.0.42 \n'
            '10.9.0.0/16 via 10.0.0.1 dev br100 table 100 \nfe80::/64 dev eth0 proto kernel metric 256 pref medium\n')
    assert _sosreport.parse_ip_route(text) == [
        {'dst': 'default', 'gateway': '203.0.113.1', 'dev': 'eth0'},
        {'dst': '10.0.0.0/22', 'dev': 'br100', 'prefsrc': '10.0.0.42'}]


def test_sysctl_and_neighbours():
    assert _sosreport.sysctl_value('net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward_use_pmtu = 0\n', 'net.ipv4.ip_forward') == '0'
    assert _sosreport.sysctl_value('1\n', 'net.ipv4.ip_forward') == '1'
    neigh = _sosreport.neighbours('10.0.2.24 dev br100 lladdr fa:16:3e:56:0b:6f used 5/5/5 probes 1 STALE\n'
                                  'fe80::1 dev eth0 lladdr 02:00:00:00:00:01 router STALE\n10.0.0.9 dev br100  FAILED\n')
    assert neigh == {'fa:16:3e:56:0b:6f': [('10.0.2.24', 'br100')]}


def test_dnsmasq_of_another_host_is_left_out(tmp_path):
    (tmp_path / 'var/lib/nova/networks').mkdir(parents=True)
    (tmp_path / 'var/lib/nova/networks/nova-br100.conf').write_text('fa:16:3e:00:00:01,vm1.novalocal,10.0.0.3\n')
    head = 'USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND'
    mine = ('nobody 10 0.0 0.0 1 1 ? S 09:11 0:00 /usr/sbin/dnsmasq --listen-address=10.0.0.1 '
            '--pid-file=/var/lib/nova/networks/nova-br100.pid --dhcp-hostsfile=/var/lib/nova/networks/nova-br100.conf '
            '--addn-hosts=/var/lib/nova/networks/nova-br100.hosts')
    other = 'nobody 11 0.0 0.0 1 1 ? S 09:11 0:00 /usr/sbin/dnsmasq --listen-address=198.51.100.10'
    grep = 'root 12 0.0 0.0 1 1 pts/0 S 09:11 0:00 grep dnsmasq'
    # same address, but its nova-network files are another host's (not under this host's networks_path)
    twin = ('nobody 13 0.0 0.0 1 1 ? S 09:11 0:00 /usr/sbin/dnsmasq --listen-address=10.0.0.1 '
            '--dhcp-hostsfile=/srv/other/networks/nova-br100.conf')
    text, notes = _sosreport.local_dnsmasq_ps('\n'.join([head, mine, other, grep, twin]), str(tmp_path), {'10.0.0.1'}, {'br100'},
                                              networks_path='/var/lib/nova/networks/')
    lines = text.splitlines()
    assert lines[0] == head and len(lines) == 2
    assert '--dhcp-hostsfile=%s/var/lib/nova/networks/nova-br100.conf' % tmp_path in lines[1]
    assert 'pid-file' not in lines[1] and 'addn-hosts' not in lines[1]
    assert notes == ['addn-hosts of dnsmasq not in the report: /var/lib/nova/networks/nova-br100.hosts']
