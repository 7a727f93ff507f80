# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""path_capture and packet_capture on the seed lab (the chapter's cloud): the chapter's capture
reproduced hop by hop, a firewall fault located, and an interrupted capture that leaves nothing.

Hops are derived from the lab's state (its recorded truth), never from names written here.
"""

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


pytestmark = pytest.mark.lab
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable


def lab_path(lab):
    """(instance host, hops in request order, external target) from the lab's state."""
    state = lab.state
    model = state['model']
    name = sorted(n for n, i in model['instances'].items() if i.get('state', 'active') == 'active')[0]
    inst = model['instances'][name]
    compute = model['computes'][inst['host']]
    server = model['external']['servers'][0]
    hosts = state['hosts']

    def iface_with(host, address):
        for ifname, info in hosts[host]['interfaces'].items():
            if any(a.split('/')[0] == address for a in info.get('addresses', [])):
                return ifname
        raise AssertionError('no interface of %s holds %s' % (host, address))

    gateway = [h for h, v in hosts.items() if v.get('role') == 'gateway'][0]
    hops = [(name, iface_with(name, inst['fixed_ip'])), (inst['host'], inst['vnet']), (inst['host'], inst['bridge']),
            (inst['host'], compute['public_interface']), (gateway, iface_with(gateway, compute['public_gateway'])),
            (gateway, iface_with(gateway, server['gateway'])), (server['name'], iface_with(server['name'], server['address']))]
    return name, inst, hops, server['address']


def run_role(lab, tmp_path, probe, hops):
    out = tmp_path / 'result.json'
    local_inv = tmp_path / 'local.yml'
    local_inv.write_text(yaml.safe_dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                                         'ansible_python_interpreter': PYTHON}}}}))
    play = [{'name': 'path capture on the lab', 'hosts': 'localhost', 'gather_facts': False,
             'roles': [{'role': 'cloudops.netdiag.path_capture',
                        'vars': {'path_capture_hops': [{'host': h, 'interface': i} for h, i in hops],
                                 'path_capture_probe': probe}}],
             'post_tasks': [{'name': 'Save', 'ansible.builtin.copy': {'content': '{{ path_capture_result | to_json }}',
                                                                      'dest': str(out), 'mode': '0644'}}]}]
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    started = time.time()
    res = subprocess.run([os.path.join(os.path.dirname(PYTHON), 'ansible-playbook'), '-i', lab.inventory_path,
                          '-i', str(local_inv), str(playbook)], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    print('path_capture play took %.1f s' % (time.time() - started))
    return json.loads(out.read_text())


def test_chapter_capture_on_the_seed_lab(seed_lab, tmp_path):
    name, inst, hops, target = lab_path(seed_lab)
    res = run_role(seed_lab, tmp_path, {'type': 'icmp', 'host': name, 'target': target}, hops)
    assert res['healthy'] is True, res['verdict']
    rows = {(h['host'], h['interface']): h for h in res['hops']}
    for hop in hops:
        assert rows[hop]['request_seen'] >= 1 and rows[hop]['reply_seen'] >= 1, (hop, rows[hop])
    compute = inst['host']
    public = hops[3]
    # SNAT to the floating IP on the way out, the fixed IP inside
    assert rows[public]['request_addresses'] == ['%s > %s' % (inst['floating_ip'], target)]
    assert rows[(compute, inst['vnet'])]['request_addresses'] == ['%s > %s' % (inst['fixed_ip'], target)]
    # duplicates explained: the same packet on the bridge port and on the bridge
    assert rows[(compute, inst['bridge'])]['duplicates'] + rows[(compute, inst['vnet'])]['duplicates'] >= 2


def test_forward_drop_is_located_with_the_rule_that_moved(seed_lab, tmp_path):
    name, inst, hops, target = lab_path(seed_lab)
    seed_lab.fault('forward_drop', name)
    try:
        res = run_role(seed_lab, tmp_path, {'type': 'icmp', 'host': name, 'target': target}, hops)
    finally:
        seed_lab.heal()
    assert res['healthy'] is False
    assert res['request']['vanished_between'] == ['%s:%s' % hops[2], '%s:%s' % hops[3]], res['verdict']
    moved = [r for e in res['moved_rules'] if e['host'] == inst['host'] for r in e['moved']]
    assert any(r['drop'] and r['target'] == 'DROP' and inst['fixed_ip'] in r['rule'] for r in moved), moved


def _tcpdumps_with(marker):
    pids = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                cmd = handle.read()
        except OSError:
            continue
        if marker.encode() in cmd and b'tcpdump' in cmd:
            pids.append(int(pid))
    return pids


def _pcaps(pcap_dir):
    try:
        return [os.path.join(pcap_dir, f) for f in os.listdir(pcap_dir) if f.endswith('.pcap')]
    except OSError:
        return []


def test_interrupted_capture_on_the_lab_leaves_nothing(seed_lab, tmp_path):
    name, inst, hops, target = lab_path(seed_lab)
    marker = 'ndlab-%s' % uuid.uuid4().hex[:8]
    pcap_dir = str(tmp_path / marker)
    cap = 24 + 30 * (16 + 300)
    args = json.dumps({'interface': [inst['vnet'], inst['bridge']], 'duration': 5, 'snaplen': 300,
                       'max_file_size': cap, 'pcap_dir': pcap_dir})
    # the test kills Ansible: its temporary files stay in the test's directory, not in ~/.ansible/tmp
    tmp = str(tmp_path / 'ansible-tmp')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_LOCAL_TEMP=tmp, ANSIBLE_REMOTE_TEMP=tmp)
    traffic = subprocess.Popen(['ip', 'netns', 'exec', seed_lab.ns(name), 'busybox', 'ping', '-q', '-c', '150', '-i', '0.03',
                                target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.Popen([os.path.join(os.path.dirname(PYTHON), 'ansible'), '-i', seed_lab.inventory_path, inst['host'],
                             '-m', 'cloudops.netdiag.packet_capture', '-a', args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    sizes = []
    try:
        end = time.time() + 20
        # The marker is also in the cmdline of `ip netns exec ... tcpdump` before tcpdump has opened its
        # file: wait for both pcap files, so the interruption hits captures that are really writing.
        while time.time() < end and (len(_tcpdumps_with(marker)) < 2 or len(_pcaps(pcap_dir)) < 2):
            time.sleep(0.05)
        assert len(_tcpdumps_with(marker)) == 2 and len(_pcaps(pcap_dir)) == 2
        os.killpg(proc.pid, signal.SIGINT)       # Ctrl-C of the play: the controller and its workers go
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        end = time.time() + 5 + 2 + 10
        while time.time() < end and _tcpdumps_with(marker):
            sizes += [os.path.getsize(f) for f in _pcaps(pcap_dir)]
            time.sleep(0.05)
        assert not _tcpdumps_with(marker)
    finally:
        traffic.wait()
        for pid in _tcpdumps_with(marker):
            os.kill(pid, signal.SIGKILL)
        proc.wait()
    sizes += [os.path.getsize(f) for f in _pcaps(pcap_dir)]
    assert sizes and max(sizes) <= cap
