#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: one diagnosis of one instance on a lab, healthy and faulted, against the floor measured in the same run.

Brings up its own lab (prefix ``bdg`` + random; ``--topology seed|vlan|ovn|ml2ovs``), runs
``playbooks/diagnose_instance.yml`` on the healthy lab and with each fault of ``--fault`` injected (default per topology:
``vnet_down,forward_drop`` on nova-network, where the ladder fails and the capture runs; ``ovn_acl_drop,ovn_tap_down``
on OVN; ``ovs_sg_drop,ovs_dead_vlan`` on ML2/OVS; on Neutron the second instance is given, as an operator would), and
prints for each run the wall time, the time per phase (from the report's ``timings``), the floor and the ratio to it,
and the slowest tasks (a callback of this directory records every task).

The floor, measured in the same run because the machine is shared and noisy: ``ansible-playbook`` of one play with
one no-op task (``ansible.builtin.ping``) on the hosts the diagnosis reaches (the controller, the compute node, the
guest, the external host; on Neutron also the network node and the second instance), median of 3; for a faulty
instance plus the capture window (the ladder's, the time the failing probes are waited for). Targets (issue 13):
healthy <= 5 s, any fault <= 8 s, within 2x the floor.
Usage: run.py [--fault A,B] [--runs N] [--topology T] [--tasks K] [--keep].
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from lab import Lab  # noqa: E402  pylint: disable=wrong-import-position

VENV_BIN = os.path.join(REPO, '.venv', 'bin')
HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
           ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'), ANSIBLE_CALLBACKS_ENABLED='task_times')
PHASES = ('resolve', 'facts', 'ladder', 'capture', 'triage', 'verdict')
TARGET = {'healthy': 5.0, 'fault': 8.0}


def timed(argv, times_file=None):
    env = dict(ENV, NETDIAG_TASK_TIMES=times_file) if times_file else ENV
    start = time.monotonic()
    res = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    return time.monotonic() - start, res


def diagnose(lab, instance, report_dir, second=None):
    os.makedirs(report_dir, exist_ok=True)
    times_file = os.path.join(report_dir, 'tasks.json')
    extra = {'instance': instance, 'netdiag_report_dir': report_dir}
    if second:
        extra['second_instance'] = second
    took, res = timed([os.path.join(VENV_BIN, 'ansible-playbook'), 'playbooks/diagnose_instance.yml', '-i', lab.inventory_path,
                       '-e', json.dumps(extra)], times_file)
    if res.returncode != 0:
        raise SystemExit('diagnosis failed:\n%s' % (res.stdout + res.stderr)[-3000:])
    with open(os.path.join(report_dir, instance + '.json'), encoding='utf-8') as f:
        report = json.load(f)
    with open(times_file, encoding='utf-8') as f:
        tasks = json.load(f)['tasks']
    return took, report, tasks


def floor_playbook(lab, hosts, path):
    """One play, one no-op task, on the hosts the diagnosis reaches."""
    with open(path, 'w', encoding='utf-8') as f:
        f.write('- name: Floor\n  hosts: %s\n  gather_facts: false\n  tasks:\n    - name: No-op\n      ansible.builtin.ping:\n'
                % ','.join(hosts))
    return [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', lab.inventory_path, path]


def capture_window(ping_count=2, interval=0.2, timeout=1.0):
    """Seconds a failing ladder step is waited for: the ladder's capture window (the role's defaults: 2 pings 0.2 s
    apart, 1 s timeout, 0.2 s margin), which no diagnosis of a fault can skip."""
    return (ping_count - 1) * interval + timeout + 0.2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fault', default=None, help='comma-separated lab faults (default: two per backend)')
    parser.add_argument('--instance', default=None)
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--topology', default='seed', choices=['seed', 'vlan', 'ovn', 'ml2ovs'])
    parser.add_argument('--tasks', type=int, default=6, help='slowest tasks shown per run')
    parser.add_argument('--keep', action='store_true', help='leave the lab up')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('needs root (the lab)')
    lab = Lab('bdg' + secrets.token_hex(3))
    out_dir = tempfile.mkdtemp(prefix='bench-diagnose-')
    try:
        t0 = time.monotonic()
        lab.up(args.topology)
        print('lab %s (%s) up in %.1f s' % (lab.name, args.topology, time.monotonic() - t0))
        active = sorted(n for n, i in lab.state['model']['instances'].items() if i['state'] == 'active')
        inst = args.instance or active[0]
        neutron = lab.state.get('backend') in ('ovn', 'ml2ovs')
        faults = args.fault if args.fault is not None else {'ovn': 'ovn_acl_drop,ovn_tap_down', 'ml2ovs': 'ovs_sg_drop,ovs_dead_vlan'}.get(
            lab.state.get('backend'), 'vnet_down,forward_drop')
        second = next((n for n in active if n != inst), None) if neutron else None
        roles = ('compute', 'external', 'controller') if neutron else ('compute', 'external')
        hosts = ['localhost'] + sorted(h for h, i in lab.state['hosts'].items() if i.get('role') in roles) + [inst] + (
            [second] if second else [])
        argv = floor_playbook(lab, hosts, os.path.join(out_dir, 'floor.yml'))
        floors = []
        for dummy in range(3):
            took, res = timed(argv)
            if res.returncode != 0:
                raise SystemExit('floor playbook failed:\n%s' % (res.stdout + res.stderr)[-2000:])
            floors.append(took)
        floor = statistics.median(floors)
        print('floor: ansible-playbook, one no-op task on %s: %.2f s (median of 3: %s)'
              % (', '.join(hosts), floor, ', '.join('%.2f' % f for f in floors)))
        with open('/proc/loadavg', encoding='utf-8') as f:
            print('load average: %s' % ' '.join(f.read().split()[:3]))
        rows = []
        for label in ['healthy'] + [f for f in faults.split(',') if f]:
            if label != 'healthy':
                lab.fault(label, inst)
            try:
                for n in range(args.runs):
                    took, rep, tasks = diagnose(lab, inst, os.path.join(out_dir, '%s-%d' % (label, n)), second)
                    rows.append((label, took, rep, tasks))
            finally:
                if label != 'healthy':
                    lab.heal()
        print()
        phases = ' '.join('%7s' % p for p in PHASES)
        print('%-14s %6s %6s %6s %6s  %s  %-26s %s' % ('case', 'wall', 'floor', 'x flr', 'target', phases, 'verdict', 'met'))
        for label, took, rep, tasks in rows:
            kind = 'healthy' if label == 'healthy' else 'fault'
            own_floor = floor + (capture_window() if kind == 'fault' else 0.0)
            ok = took <= TARGET[kind] and took <= 2 * own_floor
            t = rep['timings']
            v = rep['verdict']
            print('%-14s %6.2f %6.2f %6.2f %6.1f  %s  %-26s %s' % (
                label, took, own_floor, took / own_floor, TARGET[kind], ' '.join('%7.2f' % t.get(p, 0) for p in PHASES),
                '%s/%s' % (v['status'], v['cause']), 'yes' if ok else 'NO (%s)' % ', '.join(
                    w for w, bad in (('target', took > TARGET[kind]), ('2x floor', took > 2 * own_floor)) if bad)))
        print('\n(wall: the whole ansible-playbook run; floor: the no-op playbook, plus the capture window for a fault;'
              ' phases from the report, seconds)')
        for label, took, rep, tasks in rows:
            modules = sum(r['seconds'] for r in tasks if r['seconds'] > 0.15)
            small = [r for r in tasks if r['seconds'] <= 0.15]
            print('\n%s %.2f s: %d tasks; %.2f s in the %d slower than 0.15 s, %.2f s in the %d others; start-up and play'
                  ' switches %.2f s' % (label, took, len(tasks), modules, len(tasks) - len(small),
                                        sum(r['seconds'] for r in small), len(small), took - sum(r['seconds'] for r in tasks)))
            for r in sorted(tasks, key=lambda r: -r['seconds'])[:args.tasks]:
                print('  %6.2f  %s' % (r['seconds'], r['task'][:110]))
    finally:
        if not args.keep:
            lab.down()
        subprocess.run(['rm', '-rf', out_dir], check=False)


if __name__ == '__main__':
    main()
