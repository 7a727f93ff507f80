# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No capture survives its deadline: controller killed, module killed, module hung.

Each capture writes under a directory with a unique marker in its path, which appears in the
tcpdump command line; the tests look for processes by that marker (never by name) and only
signal processes they started themselves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from probe_procs import reap_ansible_workers, sample_pcap_sizes, tcpdumps_with


pytestmark = pytest.mark.lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable


def wait_for(predicate, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def traffic(net, seconds):
    """Steady, bounded ICMP traffic through the compute node for about ``seconds``."""
    count = int(seconds / 0.02)
    return subprocess.Popen(['ip', 'netns', 'exec', net.inst, 'busybox', 'ping', '-q', '-c', str(count), '-i', '0.02',
                             '-s', '300', '198.51.100.4'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_ansible(net, pcap_dir, duration, max_file_size, snaplen=400):
    args = json.dumps({'netns': net.cmp, 'interface': ['vnet0', 'eth1'], 'filter': 'icmp', 'duration': duration,
                       'snaplen': snaplen, 'max_file_size': max_file_size, 'pcap_dir': pcap_dir})
    # the test kills Ansible: its temporary files stay in the test's directory, not in ~/.ansible/tmp
    tmp = os.path.join(os.path.dirname(pcap_dir), 'ansible-tmp')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_LOCAL_TEMP=tmp, ANSIBLE_REMOTE_TEMP=tmp)
    ansible = os.path.join(os.path.dirname(PYTHON), 'ansible')
    return subprocess.Popen([ansible, 'localhost', '-m', 'cloudops.netdiag.packet_capture', '-a', args],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def max_sizes(pcap_dir, until, sizes):
    while time.time() < until:
        sample_pcap_sizes(pcap_dir, sizes)
        time.sleep(0.02)


def pcap_span(path):
    """Seconds between the first and the last packet of a pcap (tcpdump -tt), None when empty."""
    out = subprocess.run(['tcpdump', '-r', path, '-nn', '-tt'], capture_output=True, text=True, check=False).stdout
    stamps = [float(line.split()[0]) for line in out.splitlines() if line[:1].isdigit()]
    return stamps[-1] - stamps[0] if stamps else None


def test_controller_sigkill_leaves_nothing_past_deadline(probe_net, tmp_path):
    marker = 'ndwd-%s' % uuid.uuid4().hex[:8]
    pcap_dir = str(tmp_path / marker)
    # room for far more packets than the 4 s window sees (~100 per second per interface): the deadline,
    # not the packet count, has to end these captures
    cap = 24 + 2000 * (16 + 400)
    pinger = traffic(probe_net, 12)
    proc = start_ansible(probe_net, pcap_dir, duration=4, max_file_size=cap)
    try:
        assert wait_for(lambda: len(tcpdumps_with(marker)) == 2, 20), 'captures never started'
        started = time.time()
        os.kill(proc.pid, signal.SIGKILL)          # the controller dies mid-capture
        proc.wait()
        sizes = {}
        max_sizes(pcap_dir, started + 1.0, sizes)
        # deadline 4 s after listening + 2 s kill grace; give the machine some slack, then insist
        assert wait_for(lambda: not tcpdumps_with(marker), 4 + 2 + 10), 'tcpdump outlived its deadline: %s' % tcpdumps_with(marker)
        max_sizes(pcap_dir, time.time() + 0.1, sizes)
    finally:
        pinger.wait()
        for pid in tcpdumps_with(marker):
            os.kill(pid, signal.SIGKILL)
        reap_ansible_workers(marker)
    assert sizes and all(size <= cap for size in sizes.values()), sizes
    assert all(os.path.getsize(os.path.join(pcap_dir, n)) <= cap for n in os.listdir(pcap_dir) if n.endswith('.pcap'))
    # the traffic ran on for 12 s: the packets in each file stop at the 4 s deadline (+ the 2 s kill grace at most;
    # the alarm backstop alone would let them run to 4 + 7 s)
    spans = {n: pcap_span(os.path.join(pcap_dir, n)) for n in os.listdir(pcap_dir) if n.endswith('.pcap')}
    assert len(spans) == 2 and all(span is not None and 3 < span <= 4 + 2 for span in spans.values()), spans


def _module_process(marker):
    """The python process running the module (parent of our tcpdumps)."""
    pids = tcpdumps_with(marker)
    if not pids:
        return None
    with open('/proc/%d/stat' % pids[0]) as handle:
        return int(handle.read().rsplit(')', 1)[1].split()[1])


def test_module_sigkill_takes_tcpdump_down_at_once(probe_net, tmp_path):
    marker = 'ndwd-%s' % uuid.uuid4().hex[:8]
    pcap_dir = str(tmp_path / marker)
    proc = start_ansible(probe_net, pcap_dir, duration=60, max_file_size=1 << 20)
    try:
        assert wait_for(lambda: len(tcpdumps_with(marker)) == 2, 20), 'captures never started'
        module_pid = _module_process(marker)
        with open('/proc/%d/cmdline' % module_pid, 'rb') as handle:
            assert b'AnsiballZ_packet_capture' in handle.read()
        os.kill(module_pid, signal.SIGKILL)        # the module itself dies (connection drop, OOM, kill)
        # PR_SET_PDEATHSIG: gone long before the 60 s deadline or the alarm backstop
        assert wait_for(lambda: not tcpdumps_with(marker), 10), 'tcpdump survived its parent: %s' % tcpdumps_with(marker)
    finally:
        for pid in tcpdumps_with(marker):
            os.kill(pid, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        reap_ansible_workers(marker)


HUNG = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _capture as cap
    argv = ['ip', 'netns', 'exec', sys.argv[2]] + cap.tcpdump_argv('tcpdump', 'eth1', sys.argv[3], 400, 1000, 'icmp')
    caps = cap.start_captures([{'interface': 'eth1', 'argv': argv, 'pcap_path': sys.argv[3], 'err_path': sys.argv[3] + '.log'}],
                              hard_seconds=2)
    print(caps[0].proc.pid, flush=True)
    time.sleep(60)   # hung: never supervises, never stops the capture
''')


def test_hung_caller_alarm_backstop(probe_net, tmp_path):
    marker = 'ndwd-%s' % uuid.uuid4().hex[:8]
    pcap = str(tmp_path / ('%s.pcap' % marker))
    script = tmp_path / 'hung.py'
    script.write_text(HUNG)
    parent = subprocess.Popen([PYTHON, str(script), os.path.join(REPO, '.venv', 'collections'), probe_net.cmp, pcap],
                              stdout=subprocess.PIPE, text=True)
    try:
        tcpdump_pid = int(parent.stdout.readline())
        assert wait_for(lambda: tcpdumps_with(marker) == [tcpdump_pid], 10)
        assert wait_for(lambda: not tcpdumps_with(marker), 15), 'alarm did not end the capture'
        assert parent.poll() is None, 'the caller must still be alive: the alarm alone ended tcpdump'
    finally:
        parent.kill()
        parent.wait()
        for pid in tcpdumps_with(marker):
            os.kill(pid, signal.SIGKILL)
