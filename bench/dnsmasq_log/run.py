#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: DHCP events per MAC from a 1,000,000-line syslog (dnsmasq_info's log analysis).

Writes a synthetic syslog (default 1,000,000 lines; a quarter are dnsmasq-dhcp events of 5,000 MACs in
the chapter's line format, the rest kernel/cron/sshd/dnsmasq noise), then measures in the same run:

* baseline ``grep -c dnsmasq-dhcp`` (one C process scanning the file),
* baseline plain Python line iteration (``for line in f``, binary),
* ``scan_log`` (what the module runs), whole file, each in a fresh Python process so its peak RSS
  (``ru_maxrss``) and tracemalloc peak are its own,
* ``scan_log`` with ``max_lines`` = 100,000 and with ``since`` (the last minutes only).

Targets (issue 3): under 2 s and peak memory under 100 MB for the whole file. Prints ratios, asserts
nothing. Usage: ``python bench/dnsmasq_log/run.py [--lines N] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VPY = sys.executable

CHILD = r'''
import datetime, json, resource, sys, time, tracemalloc
sys.path.insert(0, %(coll)r)
t0 = time.perf_counter()
from ansible_collections.cloudops.netdiag.plugins.module_utils._dnsmasq import scan_log, parse_since
mode, path = sys.argv[1], sys.argv[2]
trace = sys.argv[-1] == 'trace'
if trace:
    tracemalloc.start()
t1 = time.perf_counter()
c0 = time.process_time()
if mode == 'full':
    res = scan_log(path)
elif mode == 'lines':
    res = scan_log(path, max_lines=100000)
elif mode == 'since':
    res = scan_log(path, since=parse_since(sys.argv[3]))
elif mode == 'iterate':
    n = 0
    with open(path, 'rb') as f:
        for line in f:
            n += 1
    res = {'lines_scanned': n, 'events': 0, 'macs': {}}
t2 = time.perf_counter()
peak = tracemalloc.get_traced_memory()[1] if trace else None
results = {}
for m in res.get('macs', {}).values():
    results[m['result']] = results.get(m['result'], 0) + 1
print(json.dumps({'wall': t2 - t1, 'cpu': time.process_time() - c0, 'import': t1 - t0,
                  'maxrss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                  'tracemalloc_peak_mb': peak / 1048576.0 if peak is not None else None,
                  'lines': res['lines_scanned'], 'events': res['events'], 'macs': len(res.get('macs', {})),
                  'results': results}))
'''

MONTHS = ('Nov',)
NOISE = (
    'kernel: [%d.000042] br100: port 2(vnet%d) entered forwarding state',
    'CRON[%d]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly) %d',
    'sshd[%d]: Accepted publickey for ubuntu from 198.51.100.%d port 51234 ssh2',
    'nova-network[%d]: 2026-11-25 20:00:00.123 INFO nova.network.manager [-] Setting up network %d',
    'dnsmasq[%d]: query[A] openstack.org from 10.0.0.%d',
    'dnsmasq[%d]: forwarded openstack.org to 198.51.100.53 (%d)',
    'systemd[1]: Started Session %d of user ubuntu (%d).',
)


def write_syslog(path, lines, macs=5000, seed=1):
    rnd = random.Random(seed)
    mac_list = ['fa:16:3e:%02x:%02x:%02x' % (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(macs)]
    # each MAC gets a fate: most complete, some no address, some offers lost, some discover only, some NAK
    fates = [rnd.choice(('ok',) * 14 + ('noaddr', 'lostoffer', 'discover', 'nak')) for _i in mac_list]
    i = 0
    t0 = 1764100800  # 2026-11-25 20:00:00 UTC
    out = []
    with open(path, 'w') as f:
        for n in range(lines):
            ts = time.strftime('%b %d %H:%M:%S', time.gmtime(t0 + n * 3600 // lines))
            if n % 16 < 4:
                # a quarter of the lines: one MAC's four DHCP lines in a row (its fate decides which)
                s = n % 16
                if s == 0:
                    i = rnd.randrange(macs)
                mac = mac_list[i]
                ip = '10.%d.%d.%d' % (i >> 16 & 255, i >> 8 & 255, (i & 255) or 1)
                fate = fates[i]
                if fate == 'noaddr':
                    msg = 'DHCPDISCOVER(br100) %s no address available' % mac
                elif fate == 'discover':
                    msg = 'DHCPDISCOVER(br100) %s ' % mac
                elif fate == 'lostoffer':
                    msg = ('DHCPDISCOVER(br100) %s ' % mac) if s % 2 == 0 else ('DHCPOFFER(br100) %s %s ' % (ip, mac))
                elif fate == 'nak' and s >= 2:
                    msg = ('DHCPREQUEST(br100) %s %s ' % (ip, mac)) if s == 2 else ('DHCPNAK(br100) %s %s wrong address' % (ip, mac))
                else:
                    msg = ('DHCPDISCOVER(br100) %s ' % mac, 'DHCPOFFER(br100) %s %s ' % (ip, mac),
                           'DHCPREQUEST(br100) %s %s ' % (ip, mac), 'DHCPACK(br100) %s %s host-%d' % (ip, mac, i))[s]
                out.append('%s cn1 dnsmasq-dhcp[2438]: %s\n' % (ts, msg))
            else:
                tpl = NOISE[n % len(NOISE)]
                out.append('%s cn1 %s\n' % (ts, tpl % (rnd.randrange(1, 60000), rnd.randrange(1, 250))))
            if len(out) >= 10000:
                f.write(''.join(out))
                out = []
        f.write(''.join(out))


def child(mode, path, extra=None, trace=False):
    code = CHILD % {'coll': os.path.join(REPO, '.venv', 'collections')}
    argv = [VPY, '-c', code, mode, path] + ([extra] if extra else []) + (['trace'] if trace and not extra else [])
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def best(fn, repeat):
    runs = [fn() for _i in range(repeat)]
    return min(runs, key=lambda r: r['wall'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--lines', type=int, default=1000000)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    tmpdir = tempfile.mkdtemp(prefix='bench-dnsmasq-')
    path = os.path.join(tmpdir, 'syslog')
    t = time.perf_counter()
    write_syslog(path, args.lines)
    size = os.path.getsize(path)
    print('syslog: %d lines, %.1f MB, written in %.1f s (%s)' % (args.lines, size / 1048576.0, time.perf_counter() - t, path))
    try:
        grep_times = []
        for _i in range(args.repeat):
            t = time.perf_counter()
            cnt = subprocess.run(['grep', '-c', 'dnsmasq-dhcp', path], check=False, capture_output=True, text=True).stdout.strip()
            grep_times.append(time.perf_counter() - t)
        grep_t = min(grep_times)
        it = best(lambda: child('iterate', path), args.repeat)
        full = best(lambda: child('full', path), args.repeat)
        traced = child('full', path, trace=True)
        lines = best(lambda: child('lines', path), args.repeat)
        since = best(lambda: child('since', path, '2026-11-25 20:55:00'), args.repeat)
        print('baseline grep -c dnsmasq-dhcp:      %.3f s  (%s matching lines)' % (grep_t, cnt))
        print('baseline python line iteration:     %.3f s  (%d lines)' % (it['wall'], it['lines']))
        print('scan_log whole file:                %.3f s  cpu %.3f s  maxrss %.1f MB  tracemalloc peak %.1f MB'
              % (full['wall'], full['cpu'], full['maxrss_mb'], traced['tracemalloc_peak_mb']))
        print('   %d lines, %d DHCP events, %d MACs, results %s' % (full['lines'], full['events'], full['macs'],
                                                                    json.dumps(full['results'], sort_keys=True)))
        print('   import of _dnsmasq: %.3f s; empty interpreter maxrss for reference: %.1f MB'
              % (full['import'], it['maxrss_mb']))
        print('scan_log max_lines=100000:          %.3f s  (%d lines, %d events)' % (lines['wall'], lines['lines'], lines['events']))
        print('scan_log since last 5 minutes:      %.3f s  (%d lines, %d events)' % (since['wall'], since['lines'], since['events']))
        print('ratios: scan/grep %.1fx  scan/iteration %.2fx  targets: < 2 s (%s), peak < 100 MB (%s)'
              % (full['wall'] / grep_t, full['wall'] / it['wall'],
                 'met' if full['wall'] < 2 else 'MISSED', 'met' if full['maxrss_mb'] < 100 else 'MISSED'))
    finally:
        if not args.keep:
            os.unlink(path)
            os.rmdir(tmpdir)


if __name__ == '__main__':
    main()
