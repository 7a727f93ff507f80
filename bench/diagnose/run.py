#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: one diagnosis of one instance on the seed lab, healthy and faulted, time per phase.

Brings up its own seed lab (prefix ``bdg`` + random), runs ``playbooks/diagnose_instance.yml`` on the
healthy lab and with a fault injected (default ``vnet_down``, which also triggers the synchronized
capture), prints the wall time and the time per phase (from the report's ``timings``), and, as a
baseline measured in the same run, the cost of one trivial module run on a lab host
(``ansible -m ansible.builtin.ping``): the machine is shared and noisy, so the ratio says more than
the seconds. Target: a diagnosis under 30 s. Usage: run.py [--fault NAME] [--runs N] [--keep].
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
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
PHASES = ('resolve', 'facts', 'ladder', 'capture', 'triage', 'verdict')


def timed(argv):
    start = time.monotonic()
    res = subprocess.run(argv, cwd=REPO, env=ENV, capture_output=True, text=True, check=False)
    return time.monotonic() - start, res


def diagnose(lab, instance, report_dir):
    took, res = timed([os.path.join(VENV_BIN, 'ansible-playbook'), 'playbooks/diagnose_instance.yml', '-i', lab.inventory_path,
                       '-e', json.dumps({'instance': instance, 'netdiag_report_dir': report_dir})])
    if res.returncode != 0:
        raise SystemExit('diagnosis failed:\n%s' % (res.stdout + res.stderr)[-3000:])
    with open(os.path.join(report_dir, instance + '.json'), encoding='utf-8') as f:
        report = json.load(f)
    return took, report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fault', default='vnet_down')
    parser.add_argument('--instance', default=None)
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--keep', action='store_true', help='leave the lab up')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('needs root (the lab)')
    lab = Lab('bdg' + secrets.token_hex(3))
    out_dir = tempfile.mkdtemp(prefix='bench-diagnose-')
    try:
        t0 = time.monotonic()
        lab.up('seed')
        print('lab %s up in %.1f s' % (lab.name, time.monotonic() - t0))
        inst = args.instance or sorted(n for n, i in lab.state['model']['instances'].items() if i['state'] == 'active')[0]
        compute = sorted(h for h, i in lab.state['hosts'].items() if i.get('role') == 'compute')[0]
        base = []
        for dummy in range(3):
            took, res = timed([os.path.join(VENV_BIN, 'ansible'), compute, '-i', lab.inventory_path, '-m', 'ansible.builtin.ping'])
            base.append(took)
        baseline = statistics.median(base)
        print('baseline: one trivial module run on %s (ansible -m ping, median of 3): %.2f s' % (compute, baseline))
        with open('/proc/loadavg', encoding='utf-8') as f:
            print('load average: %s' % ' '.join(f.read().split()[:3]))
        rows = []
        for label in ('healthy', args.fault):
            if label != 'healthy':
                lab.fault(args.fault, inst)
            try:
                for n in range(args.runs):
                    took, rep = diagnose(lab, inst, os.path.join(out_dir, '%s-%d' % (label, n)))
                    rows.append((label, took, rep))
            finally:
                if label != 'healthy':
                    lab.heal()
        print()
        print('%-12s %7s %7s  %s  %-22s %s' % ('case', 'wall s', 'x base', ' '.join('%8s' % p for p in PHASES), 'verdict', '< 30 s'))
        for label, took, rep in rows:
            t = rep['timings']
            v = rep['verdict']
            print('%-12s %7.1f %7.1f  %s  %-22s %s' % (label, took, took / baseline, ' '.join('%8.2f' % t.get(p, 0) for p in PHASES),
                                                       '%s/%s' % (v['status'], v['cause']), 'yes' if took < 30 else 'NO'))
        print('\n(x base = wall time / one trivial module run; phases from the report, seconds; wall includes ansible-playbook start-up)')
    finally:
        if not args.keep:
            lab.down()
        subprocess.run(['rm', '-rf', out_dir], check=False)


if __name__ == '__main__':
    main()
