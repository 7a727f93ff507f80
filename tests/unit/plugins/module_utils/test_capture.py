# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tcpdump text parser on the chapter's transcripts and on real captures made here."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _capture as cap

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'capture')


def load(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as handle:
        return cap.annotate_duplicates(cap.parse_tcpdump(handle.read()))


def brief(pkt):
    icmp = pkt['icmp'] or {}
    return (pkt['src'], pkt['dst'], icmp.get('type'), icmp.get('id'), icmp.get('seq'), pkt['ttl'])


def test_chapter_external_server():
    pkts = load('chapter_external_server.txt')
    assert [brief(p) for p in pkts] == [
        ('203.0.113.30', '1.2.3.4', 'echo-request', 24895, 1, 61),
        ('1.2.3.4', '203.0.113.30', 'echo-reply', 24895, 1, 64),
    ]
    assert pkts[0]['time_text'] == '12:51:42.020227'
    assert pkts[0]['time'] == pytest.approx(12 * 3600 + 51 * 60 + 42.020227)
    assert pkts[1]['ip_id'] == 8137 and pkts[0]['length'] == 84 and pkts[0]['proto'] == 'icmp'


def test_chapter_compute_node_duplicates_and_snat():
    pkts = load('chapter_compute_node.txt')
    assert [brief(p) for p in pkts] == [
        ('10.0.2.24', '1.2.3.4', 'echo-request', 24895, 1, 64),
        ('10.0.2.24', '1.2.3.4', 'echo-request', 24895, 1, 64),
        ('203.0.113.30', '1.2.3.4', 'echo-request', 24895, 1, 63),
        ('1.2.3.4', '203.0.113.30', 'echo-reply', 24895, 1, 62),
        ('1.2.3.4', '10.0.2.24', 'echo-reply', 24895, 1, 61),
        ('1.2.3.4', '10.0.2.24', 'echo-reply', 24895, 1, 61),
    ]
    # bridge port + bridge: the same packet twice; the SNATed copy (ttl 63) is a new hop, not a duplicate
    assert [p['duplicate_of'] for p in pkts] == [None, 0, None, None, None, 4]


def test_chapter_instance_single_space_indent():
    pkts = load('chapter_instance.txt')
    assert [brief(p) for p in pkts] == [('1.2.3.4', '10.0.2.24', 'echo-reply', 24895, 1, 61)]


def test_chapter_dns_query_and_answer():
    pkts = load('chapter_dns.txt')
    assert len(pkts) == 2
    query, answer = pkts
    assert (query['src'], query['sport'], query['dst'], query['dport']) == ('192.168.100.4', 54244, '192.168.100.1', 53)
    assert query['dns'] == {'id': 2, 'response': False, 'qtype': 'A', 'qname': 'openstack.org.', 'rcode': None, 'answers': []}
    assert answer['dns']['response'] is True and answer['dns']['rcode'] == 'NOERROR'
    assert answer['dns']['answers'] == [{'name': 'openstack.org.', 'type': 'A', 'data': '174.143.194.225'}]


def test_real_any_capture_interfaces_directions_dhcp_dns():
    pkts = load('lab_compute_any_dhcp_icmp_dns.txt')
    assert len(pkts) == 30
    assert {p['interface'] for p in pkts} == {'vnet0', 'br100', 'eth1'}
    dhcp = [(p['interface'], p['direction'], p['dhcp']['message_type'], p['dhcp']['client_mac']) for p in pkts if p['dhcp']]
    assert dhcp[:4] == [('vnet0', 'broadcast', 'DISCOVER', 'fa:16:3e:00:00:24'),
                        ('br100', 'broadcast', 'DISCOVER', 'fa:16:3e:00:00:24'),
                        ('br100', 'out', 'OFFER', 'fa:16:3e:00:00:24'),
                        ('vnet0', 'out', 'OFFER', 'fa:16:3e:00:00:24')]
    offer = [p for p in pkts if p['dhcp'] and p['dhcp']['message_type'] == 'OFFER'][0]
    assert offer['dhcp']['your_ip'] == '10.0.2.24' and offer['dhcp']['server_id'] == '10.0.2.1'
    assert offer['dhcp']['options']['Lease-Time'] == '120' and offer['dhcp']['options']['Hostname'] == 'inst-24'
    # the REQUEST shares ip id 0 with the DISCOVER but is another packet
    request = [i for i, p in enumerate(pkts) if p['dhcp'] and p['dhcp']['message_type'] == 'REQUEST']
    assert pkts[request[0]]['duplicate_of'] is None and pkts[request[1]]['duplicate_of'] == request[0]
    # ICMP port unreachable quoting the OFFER: one packet, the quoted header is not a second record
    unreach = [p for p in pkts if p['icmp'] and p['icmp']['type'] == 'unreachable']
    assert len(unreach) == 4 and unreach[0]['dhcp'] is None
    echo = [(p['interface'], p['direction'], p['src'], p['dst'], p['icmp']['type']) for p in pkts
            if p['icmp'] and p['icmp']['type'].startswith('echo')]
    assert echo == [('vnet0', 'in', '10.0.2.24', '198.51.100.4', 'echo-request'),
                    ('br100', 'in', '10.0.2.24', '198.51.100.4', 'echo-request'),
                    ('eth1', 'out', '203.0.113.30', '198.51.100.4', 'echo-request'),
                    ('eth1', 'in', '198.51.100.4', '203.0.113.30', 'echo-reply'),
                    ('br100', 'out', '198.51.100.4', '10.0.2.24', 'echo-reply'),
                    ('vnet0', 'out', '198.51.100.4', '10.0.2.24', 'echo-reply')]
    dns = [(p['dns']['qtype'], p['dns']['rcode'], [a['data'] for a in p['dns']['answers']]) for p in pkts
           if p['dns'] and p['dns']['response'] and p['duplicate_of'] is None]
    assert dns == [(None, 'NOERROR', ['203.0.113.80']), (None, 'REFUSED', []), (None, 'NOERROR', ['inst-24.novalocal.'])]


def test_ethernet_header_direction_from_local_mac():
    text = ('1795637960.1 fa:16:3e:00:00:24 > fa:63:d4:a6:a8:60, ethertype IPv4 (0x0800), length 98: (tos 0x0, ttl 64, id 1, '
            'offset 0, flags [DF], proto ICMP (1), length 84)\n    10.0.2.24 > 198.51.100.4: ICMP echo request, id 7, seq 1, length 64\n'
            '1795637960.2 fa:63:d4:a6:a8:60 > fa:16:3e:00:00:24, ethertype 802.1Q (0x8100), length 102: vlan 100, p 0, ethertype IPv4 '
            '(0x0800), (tos 0x0, ttl 63, id 2, offset 0, flags [none], proto ICMP (1), length 84)\n'
            '    198.51.100.4 > 10.0.2.24: ICMP echo reply, id 7, seq 1, length 64\n')
    pkts = cap.parse_tcpdump(text, interface='vnet0', local_macs=['FA:63:D4:A6:A8:60'])
    assert [(p['interface'], p['direction'], p['vlan'], p['link_src']) for p in pkts] == [
        ('vnet0', 'in', None, 'fa:16:3e:00:00:24'), ('vnet0', 'out', 100, 'fa:63:d4:a6:a8:60')]


def test_noise_lines_are_ignored_and_garbage_gives_nothing():
    assert cap.parse_tcpdump('reading from file x.pcap, link-type EN10MB\n\n3 packets captured\n') == []
    assert cap.parse_tcpdump('\x00\x01 binary garbage\n   indented garbage\n') == []


def test_stats_and_error_lines():
    err = ('tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n'
           '30 packets captured\n30 packets received by filter\n0 packets dropped by kernel\n')
    assert cap.parse_tcpdump_stats(err) == {'captured': 30, 'received_by_filter': 30, 'dropped_by_kernel': 0}
    assert cap.tcpdump_error('tcpdump: nosuch0: No such device exists\n(SIOCGIFHWADDR: No such device)\n') == \
        'tcpdump: nosuch0: No such device exists'


def test_effective_count_never_lets_the_file_pass_the_cap():
    assert cap.effective_count(1000, 1600, 10485760) == 1000
    assert cap.effective_count(1000, 1600, 1616 * 10 + 24) == 10
    assert cap.effective_count(1000, 1600, 1616 * 10 + 23) == 9
    assert cap.effective_count(5, 1600, 100) == 0


def test_start_at_forms():
    assert cap.parse_start_at(None) is None
    assert cap.parse_start_at('1795637674.5') == 1795637674.5
    assert cap.parse_start_at('2026-11-25T21:00:00Z') == cap.parse_start_at('2026-11-25T22:00:00+01:00')
    assert cap.parse_start_at('2026-11-25T21:00:00') == cap.parse_start_at('2026-11-25T21:00:00Z')
    with pytest.raises(cap.CaptureError, match='neither epoch'):
        cap.parse_start_at('tomorrow')


def test_tcpdump_argv_bounds():
    argv = cap.tcpdump_argv('/usr/bin/tcpdump', 'br100', '/tmp/x.pcap', 1600, 10, 'icmp')
    assert argv[argv.index('-c') + 1] == '10' and argv[argv.index('-s') + 1] == '1600'
    assert argv[-1] == 'icmp' and '-U' in argv and '--immediate-mode' in argv


def test_real_seed_lab_bridge_capture_with_ethernet_headers():
    # tcpdump -i br100 on the seed lab's compute node: dhcp_probe from the instance (DISCOVER/OFFER),
    # a marked busybox ping, then the instance's own udhcpc renewing (unicast REQUEST/ACK)
    with open(os.path.join(FIX, 'lab_seed_br100_ether_dhcp_icmp.txt'), encoding='utf-8') as handle:
        pkts = cap.parse_tcpdump(handle.read(), interface='br100', local_macs=['02:b5:a3:87:b4:6c'])
    got = [(p['direction'], p['link_src'], p['link_dst'], p['proto'], (p['dhcp'] or {}).get('message_type'),
            (p['icmp'] or {}).get('type')) for p in pkts]
    assert got == [('in', 'fa:16:3e:56:0b:6f', 'ff:ff:ff:ff:ff:ff', 'udp', 'DISCOVER', None),
                   ('out', '02:b5:a3:87:b4:6c', 'ff:ff:ff:ff:ff:ff', 'udp', 'OFFER', None),
                   ('in', 'fa:16:3e:56:0b:6f', '02:b5:a3:87:b4:6c', 'icmp', None, 'echo-request'),
                   ('out', '02:b5:a3:87:b4:6c', 'fa:16:3e:56:0b:6f', 'icmp', None, 'echo-reply'),
                   ('in', 'fa:16:3e:56:0b:6f', '02:b5:a3:87:b4:6c', 'udp', 'REQUEST', None),
                   ('out', '02:b5:a3:87:b4:6c', 'fa:16:3e:56:0b:6f', 'udp', 'ACK', None)]
    assert all(p['interface'] == 'br100' for p in pkts)
    assert pkts[0]['dhcp']['xid'] == '0xb233a837' and pkts[1]['dhcp']['your_ip'] == '10.0.2.24'
    assert pkts[4]['dhcp']['requested_ip'] is None and pkts[5]['dhcp']['server_id'] == '10.0.0.42'


def test_real_seed_lab_public_nic_shows_the_snat():
    with open(os.path.join(FIX, 'lab_seed_eth0_ether_icmp_snat.txt'), encoding='utf-8') as handle:
        pkts = cap.parse_tcpdump(handle.read(), interface='eth0', local_macs=['02:76:45:1f:c3:6e'])
    assert [(p['direction'], p['src'], p['dst'], p['icmp']['type'], p['icmp']['id'], p['ttl']) for p in pkts] == [
        ('out', '203.0.113.30', '198.51.100.10', 'echo-request', 7876, 63),
        ('in', '198.51.100.10', '203.0.113.30', 'echo-reply', 7876, 63)]


def test_real_tcp_ports_and_flags():
    with open(os.path.join(FIX, 'lab_tcp_connect_port53_ether.txt'), encoding='utf-8') as handle:
        pkts = cap.annotate_duplicates(cap.parse_tcpdump(handle.read(), interface='eth0', local_macs=['fe:73:3e:65:8b:e8']))
    got = [(p['direction'], p['proto'], p['src'], p['sport'], p['dst'], p['dport'], p['tcp_flags']) for p in pkts]
    client = ('10.0.2.24', 39290, '10.0.2.1', 53)
    server = ('10.0.2.1', 53, '10.0.2.24', 39290)
    assert got == [('in', 'tcp') + client + ('S',), ('out', 'tcp') + server + ('S.',), ('in', 'tcp') + client + ('.',),
                   ('in', 'tcp') + client + ('P.',), ('out', 'tcp') + server + ('.',), ('out', 'tcp') + server + ('P.',),
                   ('in', 'tcp') + client + ('.',), ('in', 'tcp') + client + ('F.',), ('out', 'tcp') + server + ('.',),
                   ('out', 'tcp') + server + ('F.',), ('in', 'tcp') + client + ('.',)]
    assert all(p['dns'] is None and p['icmp'] is None and p['duplicate_of'] is None for p in pkts)
    assert [p['length'] for p in pkts[:4]] == [60, 60, 52, 56] and pkts[0]['ip_id'] == 38074


def test_tcp_segments_with_ip_id_zero_are_not_duplicates():
    # Linux sends some segments with IP id 0 (the SYN-ACK and the last ACK of the real capture): a RST of the same
    # connection from the same side 0.1 s later has id 0 too and is a different packet; a copy of the SYN-ACK
    # (the same segment seen on a second interface) is a duplicate
    with open(os.path.join(FIX, 'lab_tcp_connect_port53_ether.txt'), encoding='utf-8') as handle:
        pkts = cap.parse_tcpdump(handle.read())
    synack = [p for p in pkts if p['tcp_flags'] == 'S.' and p['ip_id'] == 0][0]
    rst = dict(synack, time=synack['time'] + 0.1, tcp_flags='R.', length=40)
    copy = dict(synack, time=synack['time'] + 0.0001, interface='br100')
    marked = cap.annotate_duplicates([dict(synack), rst, copy])
    assert [p['duplicate_of'] for p in marked] == [None, None, 0]
