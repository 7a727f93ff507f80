# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ping_probe, dns_probe and dhcp_probe against real namespaces, a real dnsmasq and real servers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time

import pytest


pytestmark = pytest.mark.lab
INSTANCE_MAC = 'fa:16:3e:00:00:24'  # the fixture's instance (conftest.py)
FLAVORS = ['busybox'] + (['iputils'] if shutil.which('ping') and 'iputils' in subprocess.run(
    ['ping', '-V'], capture_output=True, text=True, check=False).stdout else [])


# ---------------------------------------------------------------- ping_probe

@pytest.mark.parametrize('flavor', FLAVORS)
def test_ping_ladder_in_parallel(probe_net, flavor):
    res = probe_net.run_module('ping_probe', {'netns': probe_net.inst, 'flavor': flavor, 'count': 2, 'timeout': 1,
                                              'targets': ['10.0.2.1', '198.51.100.4', '192.0.2.99']})
    assert not res.get('failed'), res.get('msg')
    by = {p['target']: p for p in res['probes']}
    assert by['10.0.2.1']['reachable'] and by['10.0.2.1']['received'] == 2
    assert by['198.51.100.4']['reachable'] and by['198.51.100.4']['rtt_avg_ms'] is not None
    assert by['192.0.2.99']['reachable'] is False and by['192.0.2.99']['loss_percent'] == 100.0
    assert res['flavor'] == flavor and [p['object'] for p in res['problems']] == ['192.0.2.99']
    if flavor == 'iputils':
        # the compute node has no route there and says so (busybox ping does not print ICMP errors)
        assert by['192.0.2.99']['error'] == 'Destination Net Unreachable (from 10.0.2.1)'


@pytest.mark.parametrize('flavor', FLAVORS)
def test_ping_network_unreachable_without_route(probe_net, flavor):
    res = probe_net.run_module('ping_probe', {'netns': probe_net.ext, 'flavor': flavor, 'count': 1,
                                              'targets': ['192.0.2.10']})
    assert res['probes'][0]['error'] == 'Network is unreachable' and res['problems'][0]['code'] == 'target_unreachable'


def test_deadline_interrupts_and_keeps_stats(probe_net):
    # 20 probes at 0.5 s need 10 s; the 1.5 s deadline interrupts ping, which still reports what it saw
    res = probe_net.run_module('ping_probe', {'netns': probe_net.inst, 'flavor': 'busybox', 'count': 20, 'interval': 0.5,
                                              'deadline': 1.5, 'targets': ['198.51.100.4']})
    probe = res['probes'][0]
    assert probe['deadline_reached'] is True and 1 <= probe['sent'] < 20 and probe['reachable'] is True


@pytest.mark.parametrize('flavor,pattern', [(f, '6e') for f in FLAVORS])
def test_payload_marker_is_visible_to_a_capture_filter(probe_net, flavor, pattern):
    pinger = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1.0)'])
    pinger.wait()
    capture = subprocess.Popen(
        ['ip', 'netns', 'exec', probe_net.cmp, 'tcpdump', '-i', 'eth1', '-nn', '-c', '2', '--immediate-mode',
         '-l', 'icmp[24] = 0x%s' % pattern], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    res = probe_net.run_module('ping_probe', {'netns': probe_net.inst, 'flavor': flavor, 'count': 1,
                                              'payload_pattern': pattern, 'targets': ['198.51.100.4']})
    try:
        out, _err = capture.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        capture.kill()
        out, _err = capture.communicate()
    assert res['probes'][0]['reachable']
    assert 'echo request' in out and 'echo reply' in out


def test_ping_bad_input(probe_net):
    res = probe_net.run_module('ping_probe', {'netns': probe_net.prefix + '-gone', 'targets': ['10.0.2.1']})
    assert res['failed'] and 'does not exist' in res['msg']
    res = probe_net.run_module('ping_probe', {'targets': ['-f']})
    assert res['failed'] and "invalid ping target '-f'" in res['msg']
    res = probe_net.run_module('ping_probe', {'targets': ['10.0.2.1'], 'flavor': 'busybox', 'payload_pattern': '6e64'})
    assert res['failed'] and 'one-byte' in res['msg']


# ---------------------------------------------------------------- dns_probe

DNS_SERVER = textwrap.dedent('''
    # A tiny real DNS server for the failure classes dnsmasq does not give on demand:
    # slow.test. answers after 0.6 s, servfail.test. gets SERVFAIL, everything else is ignored.
    import socket, struct, sys, time
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], 53))
    end = time.time() + float(sys.argv[2])
    sock.settimeout(0.2)
    print('ready', flush=True)
    while time.time() < end:
        try:
            data, peer = sock.recvfrom(512)
        except socket.timeout:
            continue
        qid, flags = struct.unpack('!HH', data[:4])
        pos, labels = 12, []
        while data[pos]:
            labels.append(data[pos + 1:pos + 1 + data[pos]].decode()); pos += 1 + data[pos]
        question = data[12:pos + 5]
        name = '.'.join(labels) + '.'
        if name == 'slow.test.':
            time.sleep(0.6)
            answer = (struct.pack('!HHHHHH', qid, 0x8180, 1, 1, 0, 0) + question + b'\\xc0\\x0c'
                      + struct.pack('!HHIH', 1, 1, 60, 4) + socket.inet_aton('203.0.113.7'))
        elif name == 'servfail.test.':
            answer = struct.pack('!HHHHHH', qid, 0x8182, 1, 0, 0, 0) + question
        else:
            continue
        sock.sendto(answer, peer)
''')


@pytest.fixture(scope='module')
def slow_dns(probe_net, tmp_path_factory):
    script = tmp_path_factory.mktemp('dns') / 'server.py'
    script.write_text(DNS_SERVER)
    proc = subprocess.Popen(['ip', 'netns', 'exec', probe_net.ext, sys.executable, str(script), '198.51.100.4', '120'],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    yield '198.51.100.4'
    proc.kill()
    proc.wait()


def test_dns_against_dnsmasq(probe_net):
    res = probe_net.run_module('dns_probe', {'netns': probe_net.inst, 'server': '10.0.2.1', 'timeout': 2,
                                             'names': ['openstack.test', 'nothere.novalocal', 'other.example']})
    assert not res.get('failed'), res.get('msg')
    by = {q['query']: q for q in res['queries']}
    assert by['openstack.test']['status'] == 'ok' and by['openstack.test']['answers'][0]['data'] == '203.0.113.80'
    assert by['openstack.test']['latency_ms'] is not None
    assert by['nothere.novalocal']['status'] == 'nxdomain' and by['other.example']['status'] == 'refused'
    assert sorted(p['code'] for p in res['problems']) == ['dns_nxdomain', 'dns_refused']


def test_dns_slow_servfail_timeout(probe_net, slow_dns):
    res = probe_net.run_module('dns_probe', {'netns': probe_net.inst, 'server': slow_dns, 'timeout': 1.5,
                                             'slow_threshold': 300, 'names': ['slow.test', 'servfail.test', 'silent.test']})
    by = {q['query']: q for q in res['queries']}
    assert by['slow.test']['status'] == 'slow' and by['slow.test']['latency_ms'] > 300
    assert by['slow.test']['answers'][0]['data'] == '203.0.113.7'
    assert by['servfail.test']['status'] == 'servfail'
    assert by['silent.test']['status'] == 'timeout' and by['silent.test']['latency_ms'] is None


def test_dns_reverse_lookup_and_unreachable_port(probe_net):
    res = probe_net.run_module('dns_probe', {'netns': probe_net.inst, 'server': '203.0.113.1', 'timeout': 1,
                                             'addresses': ['10.0.2.24']})
    # nothing listens on 203.0.113.1:53: ICMP port unreachable comes back at once
    assert res['queries'][0]['status'] == 'unreachable' and res['queries'][0]['qname'] == '24.2.0.10.in-addr.arpa.'


def test_dns_bad_input(probe_net):
    res = probe_net.run_module('dns_probe', {'server': 'dns.example', 'names': ['a.test']})
    assert res['failed'] and 'server must be an IP address' in res['msg']
    res = probe_net.run_module('dns_probe', {'server': '10.0.2.1', 'names': ['bad name!']})
    assert res['failed'] and 'invalid DNS name' in res['msg']
    res = probe_net.run_module('dns_probe', {'server': '10.0.2.1', 'addresses': ['10.0.2']})
    assert res['failed'] and 'is not an IP address' in res['msg']
    res = probe_net.run_module('dns_probe', {'server': '10.0.2.1', 'names': ['a.test'], 'netns': probe_net.prefix + '-gone'})
    assert res['failed'] and 'does not exist' in res['msg']


# ---------------------------------------------------------------- dhcp_probe

def _log(net):
    with open(net.dnsmasq_log) as handle:
        return handle.read()


def test_dhcp_random_mac_gets_no_address_available(probe_net):
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'eth0', 'timeout': 1.5})
    assert not res.get('failed'), res.get('msg')
    assert res['offers'] == [] and res['problems'][0]['code'] == 'dhcp_no_offer'
    assert int(res['mac'][:2], 16) & 0x02
    # nova's static range: dnsmasq is alive and says why
    assert 'DHCPDISCOVER(br100) %s no address available' % res['mac'] in _log(probe_net)


@pytest.mark.parametrize('where', ['instance', 'compute'])
def test_dhcp_hosts_file_mac_gets_offer(probe_net, where):
    netns, iface = (probe_net.inst, 'eth0') if where == 'instance' else (probe_net.cmp, 'br100')
    res = probe_net.run_module('dhcp_probe', {'netns': netns, 'interface': iface, 'mac': INSTANCE_MAC, 'timeout': 1.5})
    assert not res.get('failed'), res.get('msg')
    assert len(res['offers']) == 1 and res['problems'] == [], _log(probe_net)
    offer = res['offers'][0]
    assert (offer['message_type'], offer['offered_address'], offer['server_id']) == ('OFFER', '10.0.2.24', '10.0.2.1')
    assert offer['router'] == ['10.0.2.1'] and offer['dns_servers'] == ['10.0.2.1'] and offer['lease_time'] == 120
    assert offer['hostname'] == 'inst-24' and offer['domain_name'] == 'novalocal'
    # never a REQUEST: no lease was bound
    assert 'DHCPREQUEST(br100) 10.0.2.24 %s' % INSTANCE_MAC not in _log(probe_net)


def test_dhcp_dynamic_range_offers_random_mac(probe_net):
    probe_net.stop_dnsmasq()
    try:
        probe_net.start_dnsmasq(extra=['--dhcp-range=set:dyn,10.0.2.100,10.0.2.150,120s'])
        # dnsmasq pings a dynamic address before offering it (up to about 3 s), hence the longer window
        res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'eth0', 'timeout': 5})
        assert len(res['offers']) == 1, _log(probe_net)
        offered = res['offers'][0]['offered_address']
        assert 100 <= int(offered.rsplit('.', 1)[1]) <= 150
    finally:
        probe_net.stop_dnsmasq()
        probe_net.start_dnsmasq()


def test_dhcp_bad_input(probe_net):
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'nosuch0'})
    assert res['failed'] and 'interface nosuch0 does not exist in namespace' in res['msg']
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.prefix + '-gone', 'interface': 'eth0'})
    assert res['failed'] and 'does not exist' in res['msg']
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'eth0', 'mac': '00:16:3e:00:00:01'})
    assert res['failed'] and 'not locally administered' in res['msg']
