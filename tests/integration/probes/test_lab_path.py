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

from ansible_collections.cloudops.netdiag.plugins.module_utils._capture import annotate_duplicates, parse_tcpdump
from probe_procs import reap_ansible_workers, tcpdumps_with


pytestmark = pytest.mark.lab
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable
CHAPTER = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'capture')
CHAPTER_FILTER = 'icmp[icmptype] = icmp-echoreply or icmp[icmptype] = icmp-echo'


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
    # one window on every host: each hop saw the probe inside it, the request in path order, the reply back
    window = res['window']
    for hop in hops:
        assert window['opened'] <= rows[hop]['first_time'] <= rows[hop]['last_time'] <= window['closed'], (hop, rows[hop])
    firsts = [rows[hop]['first_time'] for hop in hops]
    lasts = [rows[hop]['last_time'] for hop in hops]
    assert firsts == sorted(firsts) and lasts == sorted(lasts, reverse=True), (firsts, lasts)
    # the role closed every window once the probe was done (none ran to its deadline); every host read its counters
    assert {rows[hop]['stopped_by'] for hop in hops} == {'window_closed'}
    assert res['counter_errors'] == []


def _module_on(lab, host, module, args, tmp_path):
    """Start a module in a lab host's namespace as Ansible runs it there (own process, JSON args file)."""
    path = tmp_path / ('args-%s-%s.json' % (module, uuid.uuid4().hex[:6]))
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.venv', 'collections'))
    return subprocess.Popen(['ip', 'netns', 'exec', lab.ns(host), PYTHON, '-m',
                             'ansible_collections.cloudops.netdiag.plugins.modules.%s' % module, str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _shape(packets, names):
    """The transcript's shape: (from, to, ICMP type, TTL relative to the first packet of that type, duplicate?)."""
    first_ttl = {}
    out = []
    for pkt in packets:
        kind = pkt['icmp']['type']
        first_ttl.setdefault(kind, pkt['ttl'])
        out.append((names.get(pkt['src'], pkt['src']), names.get(pkt['dst'], pkt['dst']), kind,
                    pkt['ttl'] - first_ttl[kind], pkt['duplicate_of'] is not None))
    return out


def _chapter(name):
    with open(os.path.join(CHAPTER, name), encoding='utf-8') as handle:
        packets = annotate_duplicates(parse_tcpdump(handle.read()))
    return _shape(packets, {'10.0.2.24': 'fixed', '203.0.113.30': 'floating', '1.2.3.4': 'external'})


def test_chapter_transcripts_reproduced_with_any_captures_opened_at_one_instant(seed_lab, tmp_path):
    """The chapter's step 4 as it typed it: tcpdump -i any with its filter on the external server, the
    compute node and the instance at the same time while the instance pings out once."""
    name, inst, hops, target = lab_path(seed_lab)
    external = hops[-1][0]
    hosts = [('instance', name), ('compute', inst['host']), ('external', external)]
    start = time.time() + 4
    duration = 4
    procs = {role: _module_on(seed_lab, host, 'packet_capture', {
        'interface': ['any'], 'filter': CHAPTER_FILTER, 'start_at': '%.3f' % start, 'duration': duration}, tmp_path)
        for role, host in hosts}
    while time.time() < start + 1:
        time.sleep(0.05)
    ping = _module_on(seed_lab, name, 'ping_probe', {'targets': [target], 'count': 1}, tmp_path)
    ping_res = json.loads(ping.communicate(timeout=60)[0])
    assert ping_res['probes'][0]['reachable'], ping_res
    res = {}
    for role, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        res[role] = json.loads(out)
        assert not res[role].get('failed'), (role, res[role].get('msg'), err)
    # one window on three hosts: none listened before the instant, all closed at instant + duration
    for role, cap in res.items():
        assert cap['started_at'] >= start and cap['start_lag'] >= 0, (role, cap['started_at'], start)
        assert cap['ended_at'] >= start + duration and cap['captures'][0]['stopped_by'] == 'deadline', role
    # our probe's echo id, from the instance (the lab's own traffic is filtered out by it)
    echo_id = [p['icmp']['id'] for p in res['instance']['packets']
               if p['icmp']['type'] == 'echo-request' and p['src'] == inst['fixed_ip']][0]
    names = {inst['fixed_ip']: 'fixed', inst['floating_ip']: 'floating', target: 'external'}
    ours = {role: [p for p in cap['packets'] if p['icmp']['id'] == echo_id] for role, cap in res.items()}
    got = {role: _shape(pkts, names) for role, pkts in ours.items()}
    # compute node: request on the bridge port and on the bridge (a duplicate), SNATed to the floating
    # IP with one hop less TTL on the way out; the reply in, then twice (bridge, port) to the fixed IP
    assert got['compute'] == _chapter('chapter_compute_node.txt')
    assert [p['interface'] for p in ours['compute']] == [inst['vnet'], inst['bridge'], hops[3][1], hops[3][1],
                                                         inst['bridge'], inst['vnet']]
    assert got['external'] == _chapter('chapter_external_server.txt')
    # the chapter's instance capture shows only the reply (it was started late); here the window was
    # open before the probe, so the request is there too
    assert got['instance'] == [('fixed', 'external', 'echo-request', 0, False)] + _chapter('chapter_instance.txt')


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


def test_missing_floating_nat_shows_in_the_addresses_on_the_public_nic(seed_lab, tmp_path):
    """nat_missing: the ping still gets out (the compute node's own SNAT for the fixed range), so the ladder is
    blind to it; the capture is not: on the public NIC the request leaves from the compute node's address,
    not from the floating IP."""
    name, inst, hops, target = lab_path(seed_lab)
    compute, public = hops[3]
    own = [a.split('/')[0] for a in seed_lab.state['hosts'][compute]['interfaces'][public]['addresses']
           if a.split('/')[0] != inst['floating_ip']]
    seed_lab.fault('nat_missing', name)
    try:
        res = run_role(seed_lab, tmp_path, {'type': 'icmp', 'host': name, 'target': target}, hops)
    finally:
        seed_lab.heal()
    rows = {(h['host'], h['interface']): h for h in res['hops']}
    assert res['healthy'] is True, res['verdict']
    assert rows[(compute, inst['vnet'])]['request_addresses'] == ['%s > %s' % (inst['fixed_ip'], target)]
    assert rows[hops[3]]['request_addresses'] in [['%s > %s' % (a, target)] for a in own], (rows[hops[3]], own)


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
        while time.time() < end and (len(tcpdumps_with(marker)) < 2 or len(_pcaps(pcap_dir)) < 2):
            time.sleep(0.05)
        assert len(tcpdumps_with(marker)) == 2 and len(_pcaps(pcap_dir)) == 2
        os.killpg(proc.pid, signal.SIGINT)       # Ctrl-C of the play: the controller and its workers go
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        end = time.time() + 5 + 2 + 10
        while time.time() < end and tcpdumps_with(marker):
            sizes += [os.path.getsize(f) for f in _pcaps(pcap_dir)]
            time.sleep(0.05)
        assert not tcpdumps_with(marker)
    finally:
        traffic.wait()
        for pid in tcpdumps_with(marker):
            os.kill(pid, signal.SIGKILL)
        proc.wait()
        reap_ansible_workers(marker)
    sizes += [os.path.getsize(f) for f in _pcaps(pcap_dir)]
    assert sizes and max(sizes) <= cap
