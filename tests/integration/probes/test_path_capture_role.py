# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The path_capture role end to end: namespaces as inventory hosts (interpreter wrappers, as the lab
does), synchronized captures, a marked probe, the per-hop verdict, a real fault and the counters it moved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from probe_procs import pids_with, sample_pcap_sizes


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


def write_play(net, probe, hops=None, extra=None):
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
    return playbook, out


def run_role(net, probe, hops=None, extra=None):
    playbook, out = write_play(net, probe, hops, extra)
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
    assert_one_window(res)


def assert_one_window(res):
    """Every hop saw the probe inside the window all captures shared; first and last times follow the path
    (the request reaches the hops in path order, the reply comes back in reverse; one kernel clock here)."""
    window = res['window']
    assert window['opened'] is not None and window['opened'] < window['closed'], window
    for hop in res['hops']:
        assert window['opened'] <= hop['first_time'] <= hop['last_time'] <= window['closed'], (hop, window)
    firsts = [hop['first_time'] for hop in res['hops']]
    lasts = [hop['last_time'] for hop in res['hops']]
    assert firsts == sorted(firsts) and lasts == sorted(lasts, reverse=True), (firsts, lasts)


def icmp_with_forward_rule(probe_net, rule):
    """The role's ICMP probe from the instance while ``rule`` sits first in the compute node's FORWARD chain."""
    probe_net.ns(probe_net.cmp, 'iptables', '-I', 'FORWARD', *rule)
    try:
        return run_role(probe_net, {'type': 'icmp', 'host': 'inst', 'target': '198.51.100.4'})
    finally:
        probe_net.ns(probe_net.cmp, 'iptables', '-D', 'FORWARD', *rule)


def test_icmp_reply_dropped_on_compute_forward(probe_net):
    res = icmp_with_forward_rule(probe_net, ['-p', 'icmp', '--icmp-type', 'echo-reply', '-j', 'DROP'])
    assert res['healthy'] is False
    assert table(res) == {'inst:eth0': (True, False), 'cmp:vnet0': (True, False), 'cmp:br100': (True, False),
                          'cmp:eth1': (True, True), 'ext:eth0': (True, True)}
    assert res['reply']['vanished_between'] == ['cmp:eth1', 'cmp:br100']
    assert res['verdict'].startswith('reply vanished between cmp:eth1 and cmp:br100')
    moved = [r for entry in res['moved_rules'] if entry['host'] == 'cmp' for r in entry['moved']]
    assert any(r['target'] == 'DROP' and r['chain'] == 'FORWARD' and r['drop'] for r in moved)


def test_icmp_request_rejected_on_compute_forward(probe_net):
    """A REJECT (not a DROP) on the way out: the request vanishes after the bridge, the REJECT rule is named."""
    res = icmp_with_forward_rule(probe_net, ['-p', 'icmp', '--icmp-type', 'echo-request', '-j', 'REJECT', '--reject-with',
                                             'icmp-host-prohibited'])
    assert res['healthy'] is False
    assert table(res) == {'inst:eth0': (True, False), 'cmp:vnet0': (True, False), 'cmp:br100': (True, False),
                          'cmp:eth1': (False, False), 'ext:eth0': (False, False)}
    assert res['request']['vanished_between'] == ['cmp:br100', 'cmp:eth1']
    assert res['verdict'].startswith('request vanished between cmp:br100 and cmp:eth1')
    moved = [r for entry in res['moved_rules'] if entry['host'] == 'cmp' for r in entry['moved']]
    assert moved[0]['target'] == 'REJECT' and moved[0]['chain'] == 'FORWARD' and moved[0]['drop'], moved
    # the probe itself saw why (iputils names the ICMP error; busybox only reports the loss)
    assert res['probe_result']['probes'][0]['reachable'] is False


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


def test_bad_hops_end_in_a_clear_verdict(probe_net):
    """An unknown interface and a missing namespace on the path: those hops are named with the module's
    message, left out of the vanished-between reasoning, and the result is not healthy."""
    hops = [{'host': 'localhost', 'netns': probe_net.inst, 'interface': 'eth0'},
            {'host': 'localhost', 'netns': probe_net.cmp, 'interface': 'nosuch0'},
            {'host': 'localhost', 'netns': probe_net.prefix + '-gone', 'interface': 'eth0'},
            {'host': 'localhost', 'netns': probe_net.ext, 'interface': 'eth0'}]
    res = run_role(probe_net, {'type': 'icmp', 'host': 'localhost', 'netns': probe_net.inst, 'target': '198.51.100.4'},
                   hops=hops, extra={'path_capture_iptables': False})
    assert res['healthy'] is False
    assert res['failed_captures'] == ['localhost:nosuch0@%s' % probe_net.cmp, 'localhost:eth0@%s-gone' % probe_net.prefix]
    assert 'interface nosuch0 does not exist in namespace %s' % probe_net.cmp in res['verdict']
    assert 'network namespace %s-gone does not exist' % probe_net.prefix in res['verdict']
    assert 'Traceback' not in res['verdict']
    # the hops that did capture still tell their story: the probe went end to end between them
    assert res['request']['complete'] and res['reply']['complete']


def test_dns_with_kept_and_fetched_pcaps(probe_net, tmp_path):
    res = run_role(probe_net, {'type': 'dns', 'host': 'inst', 'server': '10.0.2.1', 'address': '10.0.2.24'},
                   hops=HOPS[:3], extra={'path_capture_iptables': False, 'path_capture_pcap_dir': str(tmp_path / 'kept'),
                                         'path_capture_fetch_dir': str(tmp_path / 'fetched')})
    assert res['probe']['qname'] == '24.2.0.10.in-addr.arpa.' and res['request']['complete']
    fetched = sorted(os.listdir(str(tmp_path / 'fetched')))
    assert fetched == ['cmp-capture-br100.pcap', 'cmp-capture-vnet0.pcap', 'inst-capture-eth0.pcap']
    for name in fetched:
        # a real pcap of that hop: tcpdump reads the PTR query of the probe back from the controller's copy
        text = subprocess.run(['tcpdump', '-r', str(tmp_path / 'fetched' / name), '-nn'], capture_output=True, text=True,
                              check=True).stdout
        assert '10.0.2.24.' in text and 'PTR? 24.2.0.10.in-addr.arpa.' in text, (name, text)
    assert sorted(os.listdir(str(tmp_path / 'kept'))) == ['cmp', 'inst']


def test_interrupted_play_leaves_no_capture_and_no_file_beyond_the_cap(probe_net, tmp_path):
    """Ctrl-C of ansible-playbook while the role's asynchronous captures are open on three hosts."""
    marker = 'ndpc-%s' % uuid.uuid4().hex[:8]
    work = tmp_path / marker
    pcap_dir, window_dir, tmp = work / 'pcaps', work / 'windows', work / 'ansible-tmp'
    window_dir.mkdir(parents=True)
    # 150 packets of the ~50 per second below: the budget runs out a few seconds after the interruption
    cap = 24 + 150 * (16 + 300)
    playbook, out = write_play(probe_net, {'type': 'dns', 'host': 'inst', 'server': '10.0.2.1', 'name': 'openstack.test'},
                               extra={'path_capture_pcap_dir': str(pcap_dir), 'path_capture_window_dir': str(window_dir),
                                      'path_capture_snaplen': 300, 'path_capture_max_file_size': cap,
                                      'path_capture_iptables': False})
    # steady DNS traffic through every hop (the captures filter on udp port 53), bounded to 60 s
    traffic = subprocess.Popen(['ip', 'netns', 'exec', probe_net.inst, sys.executable, '-c',
                                'import socket, time\n'
                                's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
                                'for i in range(3000):\n'
                                '    s.sendto(b"\\x12\\x34\\x01\\x00" + b"\\x00" * 200, ("198.51.100.4", 53)); time.sleep(0.02)\n'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # the test kills Ansible: its temporary and async job files stay in the test's directory
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_LOCAL_TEMP=str(tmp),
               ANSIBLE_REMOTE_TEMP=str(tmp), ANSIBLE_ASYNC_DIR=str(tmp / 'async'))
    play = subprocess.Popen([os.path.join(os.path.dirname(PYTHON), 'ansible-playbook'), '-i', inventory(probe_net), playbook],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sizes = {}

    def sample():
        sample_pcap_sizes(pcap_dir, sizes)

    def tcpdumps():
        return [pid for pid, cmd in pids_with(marker) if 'tcpdump' in cmd]

    try:
        end = time.time() + 90
        # all five captures (inst eth0; cmp vnet0, br100, eth1; ext eth0) listening, all five files written
        while time.time() < end and (len(tcpdumps()) < 5 or len(sizes) < 5):
            sample()
            time.sleep(0.05)
        assert len(tcpdumps()) == 5 and len(sizes) == 5, (tcpdumps(), sizes)  # five files: no two hops share one
        os.killpg(play.pid, signal.SIGINT)       # Ctrl-C: the controller and its workers get SIGINT
        time.sleep(0.3)
        os.kill(play.pid, signal.SIGKILL)
        play.wait()
        interrupted = time.time()
        # the captures run detached (async): each ends at its own deadline, the window the role
        # planned (a few seconds plus launch allowances); nothing of ours may remain after that
        end = interrupted + 60
        while time.time() < end and pids_with(marker):
            sample()
            time.sleep(0.05)
        left = pids_with(marker)
        print('captures ended %.1f s after the interruption' % (time.time() - interrupted))
        assert not left, left
    finally:
        for pid, _cmd in pids_with(marker):
            os.kill(pid, signal.SIGKILL)
        traffic.kill()
        traffic.wait()
        if play.poll() is None:
            os.killpg(play.pid, signal.SIGKILL)
            play.wait()
    sample()
    assert not os.path.exists(out)               # the play really was interrupted before its end
    assert sizes and max(sizes.values()) <= cap, sizes
    assert max(sizes.values()) > cap // 2, sizes  # the traffic reached the budget: the cap was what held
    assert os.listdir(str(window_dir)) == []     # every capture removed its window file when it ended
