# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ping_probe, dns_probe and dhcp_probe against real namespaces, a real dnsmasq and real servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest


pytestmark = pytest.mark.lab
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable
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


@pytest.mark.parametrize('layout', ['ping_is_busybox', 'busybox_only'])
def test_ping_auto_where_only_busybox_is_present(probe_net, tmp_path, layout):
    """A Cirros-like host: the only tool on PATH is busybox (as ``ping`` applet link, or bare), flavor auto.

    The module runs inside the instance's namespace the way Ansible runs it on such a host (interpreter
    started there, no ``netns`` option, so no ``ip`` needed); iputils ping exists on this machine but
    is not on the PATH given.
    """
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    busybox = shutil.which('busybox')
    os.symlink(busybox, str(bindir / 'busybox'))
    if layout == 'ping_is_busybox':
        os.symlink(busybox, str(bindir / 'ping'))
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'targets': ['10.0.2.1', '192.0.2.99'], 'count': 2, 'timeout': 1}}))
    env = {'PATH': str(bindir), 'PYTHONPATH': os.path.join(REPO, '.venv', 'collections')}
    res = subprocess.run([shutil.which('ip'), 'netns', 'exec', probe_net.inst, PYTHON, '-m',
                          'ansible_collections.cloudops.netdiag.plugins.modules.ping_probe', str(args)],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    out = json.loads(res.stdout)
    assert not out.get('failed'), out.get('msg')
    assert out['flavor'] == 'busybox'
    by = {p['target']: p for p in out['probes']}
    assert by['10.0.2.1']['flavor'] == 'busybox' and by['10.0.2.1']['sent'] == 2 and by['10.0.2.1']['received'] == 2
    assert by['10.0.2.1']['rtt_min_ms'] is not None and by['10.0.2.1']['rtt_max_ms'] >= by['10.0.2.1']['rtt_min_ms']
    assert by['192.0.2.99']['reachable'] is False and by['192.0.2.99']['loss_percent'] == 100.0


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


def test_ping_probe_asks_dns_lookups_with_its_pings(probe_net, slow_dns):
    """The lookups of ping_probe's dns fire with the pings, from the probe's namespace; each set has its own timeout."""
    res = probe_net.run_module('ping_probe', {
        'netns': probe_net.inst, 'targets': ['10.0.2.1'], 'count': 2, 'interval': 0.2, 'timeout': 1,
        'dns': [{'server': '10.0.2.1', 'names': ['openstack.test', 'nothere.novalocal'], 'timeout': 2},
                {'server': slow_dns, 'names': ['silent.test'], 'timeout': 1}]})
    assert not res.get('failed'), res.get('msg')
    assert res['probes'][0]['reachable']
    assert [(d['server'], [q['status'] for q in d['queries']]) for d in res['dns']] == [
        ('10.0.2.1', ['ok', 'nxdomain']), (slow_dns, ['timeout'])]
    assert res['dns'][0]['queries'][0]['answers'][0]['data'] == '203.0.113.80'
    # the silent server's timeout (1 s) bounds the run, the pings (0.2 s apart) do not wait for it longer
    assert 1.0 <= res['elapsed'] < 3
    assert sorted(p['code'] for p in res['problems']) == ['dns_nxdomain', 'dns_timeout']
    res = probe_net.run_module('ping_probe', {'netns': probe_net.inst, 'targets': ['10.0.2.1'],
                                              'dns': [{'server': '10.0.2.1', 'names': ['bad name!']}]})
    assert res['failed'] and res['msg'] == "dns[0]: invalid DNS name 'bad name!'"
    res = probe_net.run_module('ping_probe', {'netns': probe_net.inst, 'targets': ['10.0.2.1'], 'dns': [{'names': ['a.test']}]})
    assert res['failed'] and 'server' in res['msg']


# ---------------------------------------------------------------- dhcp_probe

def _log(net):
    with open(net.dnsmasq_log) as handle:
        return handle.read()


def _leases(net, path=None):
    """dnsmasq's lease database (it writes it when it binds a lease; it may not exist before)."""
    try:
        with open(path or os.path.join(net.workdir, 'leases')) as handle:
            return handle.read()
    except FileNotFoundError:
        return ''


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
    assert INSTANCE_MAC not in _leases(probe_net)


def test_dhcp_dynamic_range_offers_random_mac(probe_net):
    probe_net.stop_dnsmasq()
    try:
        probe_net.start_dnsmasq(extra=['--dhcp-range=set:dyn,10.0.2.100,10.0.2.150,120s'])
        # dnsmasq pings a dynamic address before offering it (up to about 3 s), hence the longer window
        res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'eth0', 'timeout': 5})
        assert len(res['offers']) == 1, _log(probe_net)
        offered = res['offers'][0]['offered_address']
        assert 100 <= int(offered.rsplit('.', 1)[1]) <= 150
        # an OFFER from a dynamic range, and still no lease: the probe never sent a REQUEST
        assert 'DHCPOFFER(br100) %s %s' % (offered, res['mac']) in _log(probe_net)
        assert 'DHCPREQUEST(br100) %s %s' % (offered, res['mac']) not in _log(probe_net)
        assert res['mac'] not in _leases(probe_net) and offered not in _leases(probe_net)
    finally:
        probe_net.stop_dnsmasq()
        probe_net.start_dnsmasq()


def test_dhcp_every_offer_reported_with_a_second_server_on_the_bridge(probe_net, tmp_path):
    """A second (rogue) DHCP server plugged into br100: the probe reports both OFFERs, each with its server."""
    rogue = probe_net.prefix + '-rogue'
    os.chmod(str(tmp_path), 0o755)
    pid_file = str(tmp_path / 'rogue.pid')
    pid = None
    try:
        subprocess.run(['ip', 'netns', 'add', rogue], check=True)
        subprocess.run(['ip', '-n', probe_net.cmp, 'link', 'add', 'vnet9', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', rogue],
                       check=True)
        subprocess.run(['ip', '-n', probe_net.cmp, 'link', 'set', 'vnet9', 'master', 'br100', 'up'], check=True)
        subprocess.run(['ip', '-n', rogue, 'addr', 'add', '10.0.2.250/24', 'dev', 'eth0'], check=True)
        subprocess.run(['ip', '-n', rogue, 'link', 'set', 'eth0', 'up'], check=True)
        probe_net.ns(rogue, 'dnsmasq', '--conf-file=', '--port=0', '--bind-interfaces', '--listen-address=10.0.2.250',
                     '--except-interface=lo', '--pid-file=' + pid_file, '--dhcp-range=10.0.2.200,10.0.2.210,120s', '--no-ping',
                     '--dhcp-leasefile=' + str(tmp_path / 'rogue.leases'))
        for _i in range(50):
            if os.path.exists(pid_file) and open(pid_file).read().strip():
                break
            time.sleep(0.05)
        pid = int(open(pid_file).read().strip())
        res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'eth0', 'mac': INSTANCE_MAC,
                                                  'timeout': 2})
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
        subprocess.run(['ip', 'netns', 'del', rogue], check=False)
        subprocess.run(['ip', '-n', probe_net.cmp, 'link', 'del', 'vnet9'], check=False)
    assert not res.get('failed'), res.get('msg')
    got = sorted((o['server_id'], o['offered_address']) for o in res['offers'])
    assert len(got) == 2 and got[0] == ('10.0.2.1', '10.0.2.24'), got
    assert got[1][0] == '10.0.2.250' and 200 <= int(got[1][1].rsplit('.', 1)[1]) <= 210, got
    # neither server bound a lease
    assert INSTANCE_MAC not in _leases(probe_net) and INSTANCE_MAC not in _leases(probe_net, str(tmp_path / 'rogue.leases'))


def test_dhcp_bad_input(probe_net):
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'nosuch0'})
    assert res['failed'] and 'interface nosuch0 does not exist in namespace' in res['msg']
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.prefix + '-gone', 'interface': 'eth0'})
    assert res['failed'] and 'does not exist' in res['msg']
    res = probe_net.run_module('dhcp_probe', {'netns': probe_net.inst, 'interface': 'eth0', 'mac': '00:16:3e:00:00:01'})
    assert res['failed'] and 'not locally administered' in res['msg']
