# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""packet_capture on a real bridge path: the chapter's picture reproduced, bounds, clear errors."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

pytestmark = pytest.mark.lab


def ping_later(net, delay, *args):
    """Start a ping from the instance after ``delay`` seconds (the capture is listening by then)."""
    return subprocess.Popen(['sh', '-c', 'sleep %s; exec ip netns exec %s busybox ping -c 2 -i 0.2 %s 198.51.100.4'
                             % (delay, net.inst, ' '.join(args))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_request_and_reply_on_vnet_bridge_and_nic_with_snat(probe_net):
    pinger = ping_later(probe_net, 1.0)
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['vnet0', 'br100', 'eth1'],
                                                  'filter': 'icmp', 'duration': 3})
    pinger.wait()
    assert not res.get('failed'), res.get('msg')
    seen = {}
    for pkt in res['packets']:
        if pkt['icmp'] and pkt['icmp']['seq'] == 0:
            seen.setdefault(pkt['interface'], []).append((pkt['icmp']['type'], pkt['src'], pkt['dst'], pkt['direction']))
    assert seen['vnet0'] == [('echo-request', '10.0.2.24', '198.51.100.4', 'in'), ('echo-reply', '198.51.100.4', '10.0.2.24', 'out')]
    assert seen['br100'] == [('echo-request', '10.0.2.24', '198.51.100.4', 'in'), ('echo-reply', '198.51.100.4', '10.0.2.24', 'out')]
    # SNAT to the floating IP on the way out, as in the chapter
    assert seen['eth1'] == [('echo-request', '203.0.113.30', '198.51.100.4', 'out'),
                            ('echo-reply', '198.51.100.4', '203.0.113.30', 'in')]
    assert [c['stopped_by'] for c in res['captures']] == ['deadline'] * 3
    assert all(c['pcap'] is None for c in res['captures'])


def test_any_capture_explains_duplicates(probe_net):
    pinger = ping_later(probe_net, 1.0)
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['any'], 'duration': 3,
                                                  'filter': 'icmp[icmptype] = icmp-echoreply or icmp[icmptype] = icmp-echo'})
    pinger.wait()
    assert not res.get('failed'), res.get('msg')
    first = [p for p in res['packets'] if p['icmp']['seq'] == 0]
    # the chapter's compute node picture: request twice (vnet0 + br100), SNATed once; reply once + twice
    assert len(first) == 6
    dups = [(p['interface'], res['packets'][p['duplicate_of']]['interface']) for p in first if p['duplicate_of'] is not None]
    assert sorted(dups) in ([('br100', 'vnet0'), ('vnet0', 'br100')], [('br100', 'vnet0'), ('br100', 'vnet0')],
                            [('vnet0', 'br100'), ('vnet0', 'br100')])
    assert {p['interface'] for p in first} == {'vnet0', 'br100', 'eth1'}


def test_side_captures_close_with_the_main_ones(probe_net):
    """side_filter: a capture of its own on every interface (each packet keeps its interface), that does not hold the
    window open."""
    pinger = ping_later(probe_net, 1.0)
    lookup = subprocess.Popen(['sh', '-c', 'sleep 1.0; exec ip netns exec %s busybox nslookup openstack.test 10.0.2.1' % probe_net.inst],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.time()
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['vnet0', 'br100'], 'filter': 'icmp',
                                                  'count': 4, 'side_filter': 'udp port 53', 'duration': 8})
    took = time.time() - start
    pinger.wait()
    lookup.wait()
    assert not res.get('failed'), res.get('msg')
    main = [c for c in res['captures'] if not c.get('side')]
    side = [c for c in res['captures'] if c.get('side')]
    assert [c['stopped_by'] for c in main] == ['count', 'count']
    assert [(c['interface'], c['stopped_by']) for c in side] == [('any', 'main_closed')]
    assert res['side_filter'] == 'udp port 53' and took < 8
    dns = [p for p in res['packets'] if p['dns']]
    assert {p['interface'] for p in dns} == {'vnet0', 'br100'}
    assert any(p['dns']['qname'] == 'openstack.test.' and not p['dns']['response'] for p in dns)
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['vnet0'], 'side_filter': 'udp port nope'})
    assert res['failed'] and res['msg'].startswith("invalid BPF side filter 'udp port nope'")


def test_count_bound_start_at_and_kept_pcap(probe_net, tmp_path):
    start = time.time() + 2
    pinger = ping_later(probe_net, 2.5)
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['eth1'], 'filter': 'icmp',
                                                  'duration': 6, 'count': 2, 'start_at': '%.3f' % start,
                                                  'pcap_dir': str(tmp_path / 'pcaps')})
    pinger.wait()
    assert not res.get('failed'), res.get('msg')
    assert res['started_at'] >= start and res['start_lag'] >= 0
    capture = res['captures'][0]
    assert capture['stopped_by'] == 'count' and capture['packets'] == 2 and len(res['packets']) == 2
    assert os.path.getsize(capture['pcap']) == capture['file_size'] > 24
    assert oct(os.stat(str(tmp_path / 'pcaps')).st_mode & 0o777) == '0o700'


def test_file_cap_lowers_the_count(probe_net):
    pinger = subprocess.Popen(['ip', 'netns', 'exec', probe_net.inst, 'busybox', 'ping', '-c', '20', '-i', '0.05',
                               '-s', '400', '198.51.100.4'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cap = 24 + 3 * (16 + 500)
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['eth1'], 'filter': 'icmp',
                                                  'duration': 3, 'snaplen': 500, 'max_file_size': cap})
    pinger.wait()
    assert not res.get('failed'), res.get('msg')
    capture = res['captures'][0]
    assert capture['effective_count'] == 3 and capture['packets'] <= 3
    assert capture['file_size'] <= cap


def test_snaplen_cuts_every_packet(probe_net):
    # 400-byte payloads, 64-byte snap length: every record in the pcap is exactly 16 + 64 bytes
    pinger = subprocess.Popen(['sh', '-c', 'sleep 0.8; exec ip netns exec %s busybox ping -c 3 -i 0.1 -s 400 198.51.100.4'
                               % probe_net.inst], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['eth1'], 'filter': 'icmp',
                                                  'duration': 2.5, 'snaplen': 64})
    pinger.wait()
    assert not res.get('failed'), res.get('msg')
    capture = res['captures'][0]
    assert capture['packets'] == 6 and capture['file_size'] == 24 + 6 * (16 + 64), capture
    # the headers are still decoded; tcpdump sees the original length in the IP header
    assert all(p['icmp']['type'].startswith('echo') and p['length'] == 428 for p in res['packets'])


@pytest.mark.parametrize('args,message', [
    ({'interface': ['nosuch0']}, 'interface nosuch0 does not exist in namespace'),
    ({'filter': 'icmp and and'}, "invalid BPF filter 'icmp and and': tcpdump:"),
    ({'filter': 'port 99999'}, 'invalid BPF filter'),
    ({'interface': ['any', 'br100']}, 'do not combine it with br100'),
    ({'interface': ['-w']}, 'invalid interface name'),
    ({'start_at': 'soon'}, 'neither epoch seconds nor an ISO 8601 instant'),
    ({'duration': 0}, 'duration must be more than 0'),
])
def test_bad_input_fails_clearly(probe_net, args, message):
    res = probe_net.run_module('packet_capture', dict({'netns': probe_net.cmp, 'duration': 1}, **args))
    assert res['failed'] is True and message in res['msg'], res['msg']
    assert 'Traceback' not in res['msg']


def test_missing_namespace(probe_net):
    res = probe_net.run_module('packet_capture', {'netns': probe_net.prefix + '-gone', 'duration': 1})
    assert res['failed'] is True and 'network namespace %s-gone does not exist' % probe_net.prefix in res['msg']


def test_window_file_closes_the_capture_early(probe_net, tmp_path):
    window = str(tmp_path / 'cap.window')
    closer = subprocess.Popen(['sh', '-c', 'for i in $(seq 100); do [ -e %s ] && break; sleep 0.05; done; sleep 0.5; rm -f %s'
                               % (window, window)])
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['eth1'], 'duration': 60,
                                                  'window_file': window})
    closer.wait()
    assert not res.get('failed'), res.get('msg')
    assert res['captures'][0]['stopped_by'] == 'window_closed'
    assert res['ended_at'] - res['started_at'] < 60 and not os.path.exists(window)


def test_window_file_must_not_exist(probe_net, tmp_path):
    window = tmp_path / 'cap.window'
    window.write_text('')
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'duration': 1, 'window_file': str(window)})
    assert res['failed'] is True and 'already exists' in res['msg'] and window.exists()


def test_iptables_counters_name_the_drop_that_fired(probe_net):
    # a real DROP in the compute node's FORWARD chain; the capture reads the counters at its open and close
    rule = ['-s', '10.0.2.24/32', '-d', '198.51.100.4/32', '-p', 'icmp', '-j', 'DROP']
    subprocess.run(['ip', 'netns', 'exec', probe_net.cmp, 'iptables', '-I', 'FORWARD'] + rule, check=True)
    try:
        pinger = ping_later(probe_net, 1.0)
        res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['vnet0', 'eth1'], 'filter': 'icmp',
                                                      'duration': 3, 'iptables_counters': True})
        pinger.wait()
    finally:
        subprocess.run(['ip', 'netns', 'exec', probe_net.cmp, 'iptables', '-D', 'FORWARD'] + rule, check=True)
    assert not res.get('failed'), res.get('msg')
    assert res['iptables_error'] is None
    first = res['iptables_moved'][0]
    assert (first['table'], first['chain'], first['target'], first['drop']) == ('filter', 'FORWARD', 'DROP', True)
    assert first['packets'] == 2 and '-s 10.0.2.24/32 -d 198.51.100.4/32 -p icmp' in first['rule']
    # the requests reached vnet0 and never left by eth1
    assert {p['interface'] for p in res['packets']} == {'vnet0'}


def test_iptables_counters_off_and_on_a_quiet_path(probe_net):
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['eth1'], 'duration': 1})
    assert res['iptables_moved'] is None and res['iptables_error'] is None
    # legacy tables were never used in this namespace: read fine, nothing moved
    res = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['eth1'], 'duration': 1,
                                                  'iptables_counters': True, 'iptables_backend': 'legacy'})
    assert not res.get('failed'), res.get('msg')
    assert res['iptables_moved'] == [] and res['iptables_error'] is None


def test_ping_probe_fires_at_start_at(probe_net):
    # the capture sees the first echo request no earlier than the instant the probe was told to fire at
    fire_at = time.time() + 2.0
    box = {}
    capture = threading.Thread(target=lambda: box.update(probe_net.run_module(
        'packet_capture', {'netns': probe_net.cmp, 'interface': ['vnet0'], 'duration': 4,
                           'filter': 'icmp[icmptype] = icmp-echo'})))
    capture.start()
    res = probe_net.run_module('ping_probe', {'netns': probe_net.inst, 'flavor': 'busybox', 'count': 1,
                                              'targets': ['198.51.100.4'], 'start_at': '%.3f' % fire_at})
    capture.join()
    assert not res.get('failed') and res['probes'][0]['reachable'], res
    assert not box.get('failed'), box.get('msg')
    requests = [p['time'] for p in box['packets']]
    assert len(requests) == 1 and requests[0] >= fire_at


@pytest.mark.parametrize('module,args', [
    ('ping_probe', {'targets': ['10.0.2.1']}),
    ('dns_probe', {'server': '10.0.2.1', 'names': ['www.example.org']}),
    ('dhcp_probe', {'interface': 'eth0'}),
])
def test_probe_start_at_bad_input(probe_net, module, args):
    res = probe_net.run_module(module, dict(args, netns=probe_net.inst, start_at='tomorrow'))
    assert res['failed'] and "start_at 'tomorrow' is neither epoch seconds nor an ISO 8601 instant" in res['msg']
    res = probe_net.run_module(module, dict(args, netns=probe_net.inst, start_at='%.0f' % (time.time() + 3600)))
    assert res['failed'] and 'is more than 600 seconds in the future' in res['msg']
