#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark and comparison: analyze_offline against hotsos on the same real sosreports of the lab.

A seed lab is brought up; for the healthy lab and each fault, a real sosreport of the instance's compute node is
taken (lab/sosreport.py, Debian's sos 4.0) and the fault healed. Then, in the same run, on each report:

* hotsos (PyPI; installed on first use into ``.venv-hotsos``, apart from the collection's virtualenv): the baseline,
  what support engineers run on sosreports today; its wall time and what it reports (its sections, and the
  ``potential-issues`` / ``known-bugs`` it raises);
* the collection's offline verdict (``_offline.load`` + ``evidence`` + the engine: what ``offline_verdict`` does),
  median of 3 (in process: without ansible-playbook's start-up, about 1 s); its cause, and the ratio of its time to
  hotsos's.

Needs root. Usage: ``python bench/offline/run.py [--faults vnet_down,forwarding_disabled,...] [--keep]``.
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
sys.path.insert(0, os.path.join(REPO, '.venv', 'collections'))
HOTSOS_VENV = os.path.join(REPO, '.venv-hotsos')
FAULTS = ('vnet_down', 'vnet_detached', 'bridge_down', 'physical_interface_down', 'forwarding_disabled',
          'instance_interface_down', 'dnsmasq_killed', 'dhcp_hostsfile_missing_mac', 'forward_drop')


def hotsos_bin():
    exe = os.path.join(HOTSOS_VENV, 'bin', 'hotsos')
    if not os.path.exists(exe):
        subprocess.run([sys.executable, '-m', 'venv', HOTSOS_VENV], check=True)
        subprocess.run([os.path.join(HOTSOS_VENV, 'bin', 'pip'), 'install', '-q', 'hotsos'], check=True)
    return exe


def run_hotsos(exe, report):
    start = time.monotonic()
    res = subprocess.run([exe, '--format', 'json', report], capture_output=True, text=True, timeout=600, check=False)
    took = time.monotonic() - start
    text = res.stdout[res.stdout.find('{'):] if '{' in res.stdout else ''
    try:
        doc = json.loads(text)
    except ValueError:
        return took, None, 'no JSON (rc %s): %s' % (res.returncode, (res.stderr or res.stdout).strip()[-200:])
    issues = sum(len(v) for k, v in _walk(doc) if k in ('potential-issues', 'known-bugs') and isinstance(v, (list, dict)))
    return took, doc, 'sections: %s; issues: %d' % (', '.join(sorted(doc)), issues)


def _walk(doc):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _walk(v)


def run_ours(report, instance, symptom=None):
    from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _offline
    times, verdict = [], None
    for dummy in range(3):
        work = _offline.workdir()
        start = time.monotonic()
        try:
            hosts, dummy2 = _offline.load(report, work)
            verdict = _engine.evaluate(_offline.evidence(hosts, instance, symptom=symptom))
        finally:
            times.append(time.monotonic() - start)
            _offline.cleanup(work)
    return statistics.median(times), verdict


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    p.add_argument('--faults', default=','.join(FAULTS))
    p.add_argument('--keep', action='store_true', help='leave the lab and the reports')
    args = p.parse_args(argv)
    from lab import Lab
    from lab.sosreport import sosreport
    exe = hotsos_bin()
    lab = Lab('bo' + secrets.token_hex(3))
    out = tempfile.mkdtemp(prefix='bench-offline-')
    rows = []
    try:
        lab.up('seed')
        inst = sorted(n for n, i in lab.state['model']['instances'].items() if i['state'] == 'active')[0]
        host = lab.state['model']['instances'][inst]['host']
        cases = [('healthy', None)] + [(f, f) for f in args.faults.split(',') if f]
        reports = []
        for name, fault in cases:
            target = inst
            if fault:
                target = lab.fault(fault, inst)['target']
            try:
                reports.append((name, target, sosreport(lab, host, os.path.join(out, name))))
            finally:
                if fault:
                    lab.heal()
        for name, target, report in reports:
            h_t, dummy, h_says = run_hotsos(exe, report)
            o_t, verdict = run_ours(report, target)
            rows.append((name, '%s/%s' % (verdict['status'], verdict['cause']), o_t, h_t, h_says))
    finally:
        if not args.keep:
            lab.down()
            subprocess.run(['rm', '-rf', out], check=False)
    print('%-28s %-34s %9s %9s %12s  %s' % ('case', 'analyze_offline verdict', 'ours ms', 'hotsos s', 'ours/hotsos', 'hotsos says'))
    for name, verdict, o_t, h_t, says in rows:
        print('%-28s %-34s %9.1f %9.2f %12.4f  %s' % (name, verdict, o_t * 1000, h_t, o_t / h_t if h_t else 0, says))
    return 0


if __name__ == '__main__':
    sys.exit(main())
