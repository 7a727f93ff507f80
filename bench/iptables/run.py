#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark iptables_info's parser against ``iptables-save`` alone, at 1k, 10k and 50k rules.

The rules are loaded with ``iptables-restore`` into a private namespace ``bfnx-ipt<pid>`` (never the
default namespace) and the namespace is deleted at the end. Two rulesets:

* ``nova``    what nova-network writes for many instances: per instance a ``nova-compute-inst-N`` chain
              with the security-group rules (identical bodies across instances of one group, as nova
              writes them) and a per-instance jump in ``nova-compute-local``, plus floating-IP DNAT/SNAT
              in ``nat``.
* ``unique``  every rule body different (addresses and ports vary): the parser's worst case.

Measured (best of ``--repeat``: the machine is shared, the minimum is the least disturbed run; ``save``
and ``save+parse`` are run in turn, so that a burst of load hits both alike):

* ``save``        ``ip netns exec NS iptables-<backend>-save -c`` alone (subprocess wall clock).
* ``save+parse``  the same command run from Python plus ``parse_save`` of its output, in-process.
* ``streamed``    what iptables_info does since issue 13: ``parse_save`` of ``_netns.StreamedDump`` (the lines
                  parsed while the binary still prints them, on the second core); run in turn with the two above.
* ``parse``       ``parse_save`` alone on the saved text; ``shlex`` the same lines split by ``shlex.split``.
* ``module``      the module's own process (``python iptables_info.py args.json``, netns + backend).

Ratios printed, nothing asserted. ``--quick``: 1k and 10k rules, nft only, 3 repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, '.venv', 'collections')
sys.path.insert(0, COLLECTIONS)

from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import parse_save  # noqa: E402
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import StreamedDump  # noqa: E402


class _Bins(object):
    """What StreamedDump asks of the module: where a binary is."""

    @staticmethod
    def get_bin_path(name):
        import shutil
        return shutil.which(name, path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')


def streamed(binary, ns):
    dump = StreamedDump(_Bins(), binary, ns)
    parsed = parse_save(dump.chunks(), allow_empty=True)
    dump.finish()
    return parsed


MODULE = os.path.join(REPO, 'plugins', 'modules', 'iptables_info.py')
SG_RULES = [
    '-m state --state INVALID -j DROP',
    '-m state --state RELATED,ESTABLISHED -j ACCEPT',
    '-j nova-compute-provider',
    '-s 10.0.0.1/32 -p udp -m udp --sport 67 --dport 68 -j ACCEPT',
    '-s 10.0.0.0/16 -j ACCEPT',
    '-p icmp -j ACCEPT',
    '-p tcp -m tcp --dport 22 -j ACCEPT',
    '-p tcp -m multiport --dports 80,443,8000:8080 -m comment --comment "sg web \\"frontend\\"" -j ACCEPT',
    '-s 198.51.100.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT',
    '-j nova-compute-sg-fallback',
]


def ip_of(i):
    return '10.%d.%d.%d' % (i // 65536 % 256, i // 256 % 256, i % 256 or 1)


def ruleset(n_rules, variant):
    """iptables-restore text with about n_rules rules."""
    filt = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
            ':nova-filter-top - [0:0]', ':nova-compute-local - [0:0]', ':nova-compute-provider - [0:0]',
            ':nova-compute-sg-fallback - [0:0]',
            '-A FORWARD -j nova-filter-top', '-A nova-filter-top -j nova-compute-local',
            '-A nova-compute-sg-fallback -j DROP']
    nat = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
           ':POSTROUTING ACCEPT [0:0]', ':nova-network-PREROUTING - [0:0]', ':nova-network-float-snat - [0:0]',
           '-A PREROUTING -j nova-network-PREROUTING', '-A POSTROUTING -j nova-network-float-snat']
    per_instance = len(SG_RULES) + 1 + 2        # chain rules + local jump + DNAT + SNAT
    instances = max(1, n_rules // per_instance)
    chains, rules = [], []
    for i in range(instances):
        fixed = ip_of(i + 2)
        chain = 'nova-compute-inst-%d' % i
        chains.append(':%s - [0:0]' % chain)
        rules.append('-A nova-compute-local -d %s/32 -j %s' % (fixed, chain))
        for k, body in enumerate(SG_RULES):
            if variant == 'unique':
                body = '-s %s/32 -p tcp -m tcp --dport %d -m comment --comment "rule %d of %s" -j ACCEPT' % (
                    ip_of(i * 16 + k + 7), 1000 + k, k, chain)
            rules.append('-A %s %s' % (chain, body))
        floating = '203.0.%d.%d' % (113 + i // 250 % 100, i % 250 + 1)
        nat.append('-A nova-network-PREROUTING -d %s/32 -j DNAT --to-destination %s' % (floating, fixed))
        nat.append('-A nova-network-float-snat -s %s/32 -j SNAT --to-source %s' % (fixed, floating))
    text = '\n'.join(filt + chains + rules + ['COMMIT'] + nat + ['COMMIT']) + '\n'
    return text, len(rules) + len(nat) - 9 + 3


def best_time(fn, repeat):
    """Best wall time of ``repeat`` calls.  The result is kept until the clock is read: freeing a
    parsed 50k-rule result takes 10-35 ms here, which is not part of producing it."""
    times = []
    for _run in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return min(times)


def best_times_interleaved(fns, repeat):
    """[best wall time] of each of ``fns``, run in turn ``repeat`` times (load bursts hit all alike)."""
    times = [[] for _fn in fns]
    for _run in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            result = fn()
            times[k].append(time.perf_counter() - t0)
            del result
    return [min(t) for t in times]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', default='1000,10000,50000')
    ap.add_argument('--backends', default='nft,legacy')
    ap.add_argument('--variants', default='nova,unique')
    ap.add_argument('--repeat', type=int, default=5)
    ap.add_argument('--quick', action='store_true')
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('needs root (creates a network namespace)')
    sizes = [int(s) for s in args.sizes.split(',')]
    backends = args.backends.split(',')
    repeat = args.repeat
    if args.quick:
        sizes, backends, repeat = [1000, 10000], ['nft'], 3
    env = dict(os.environ)
    env['PYTHONPATH'] = COLLECTIONS + os.pathsep + env.get('PYTHONPATH', '')
    rows = []
    print('iptables_info benchmark (%s), best of %d; times in ms; load %s' % (
        time.strftime('%F %T'), repeat, '%.1f %.1f %.1f' % os.getloadavg()))
    print('%-7s %-7s %7s %9s %11s %9s %9s %9s %9s' % ('backend', 'rules', 'variant', 'save', 'save+parse', 'streamed',
                                                      'parse', 'shlex', 'module'))
    for backend in backends:
        for variant in args.variants.split(','):
            for size in sizes:
                ns = 'bfnx-ipt%d' % os.getpid()
                subprocess.run(['ip', 'netns', 'add', ns], check=True)
                try:
                    text, _n = ruleset(size, variant)
                    subprocess.run(['ip', 'netns', 'exec', ns, 'iptables-%s-restore' % backend], input=text,
                                   text=True, check=True)
                    save = ['ip', 'netns', 'exec', ns, 'iptables-%s-save' % backend, '-c']
                    out = subprocess.run(save, capture_output=True, text=True, check=True).stdout
                    n_rules = parse_save(out)['rule_count']

                    def run_save():
                        return subprocess.run(save, capture_output=True, text=True, check=True).stdout

                    binary = 'iptables-%s-save' % backend
                    t_save, t_both, t_stream = best_times_interleaved(
                        [run_save, lambda: parse_save(run_save()), lambda: streamed(binary, ns)], repeat)
                    t_parse = best_time(lambda: parse_save(out), repeat)
                    lines = [ln.split('] ', 1)[1] for ln in out.splitlines() if ln.startswith('[')]
                    t_shlex = best_time(lambda: [shlex.split(ln) for ln in lines], 1)
                    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
                        json.dump({'ANSIBLE_MODULE_ARGS': {'netns': ns, 'backend': backend}}, f)
                        argsfile = f.name
                    try:
                        mod_argv = [sys.executable, MODULE, argsfile]
                        t_mod = best_time(lambda: subprocess.run(mod_argv, env=env, capture_output=True, check=True),
                                          max(1, min(3, repeat)))
                    finally:
                        os.unlink(argsfile)
                finally:
                    subprocess.run(['ip', 'netns', 'del', ns], check=False)
                row = dict(backend=backend, variant=variant, rules=n_rules, save=t_save, both=t_both, stream=t_stream, parse=t_parse,
                           shlex=t_shlex, module=t_mod)
                rows.append(row)
                print('%-7s %-7d %7s %9.1f %11.1f %9.1f %9.1f %9.1f %9.1f' % (
                    backend, n_rules, variant, t_save * 1000, t_both * 1000, t_stream * 1000, t_parse * 1000, t_shlex * 1000,
                    t_mod * 1000))
                sys.stdout.flush()
    print('\nratios')
    header = ('backend', 'rules', 'variant', '(save+parse)/save', 'streamed/save', 'shlex/parse', 'module/save')
    print('%-7s %-7s %7s %20s %16s %16s %18s' % header)
    for r in rows:
        cells = (r['backend'], r['rules'], r['variant'], r['both'] / r['save'], r['stream'] / r['save'], r['shlex'] / r['parse'],
                 r['module'] / r['save'])
        print('%-7s %-7d %7s %19.2fx %15.2fx %15.1fx %17.2fx' % cells)
    print('\ntarget (issue #3, 50k rules, nft): save+parse <= 2x save alone and < 500 ms')
    for r in rows:
        if r['backend'] == 'nft' and r['rules'] >= 50000:
            ratio = r['both'] / r['save']
            print('nft %d rules %s: save+parse %.0f ms = %.2fx save alone (%.0f ms): 2x %s, 500 ms %s' % (
                r['rules'], r['variant'], r['both'] * 1000, ratio, r['save'] * 1000,
                'met' if ratio <= 2 else 'NOT met', 'met' if r['both'] < 0.5 else 'NOT met'))

    print('\ntarget (issue #13, 50k rules): what iptables_info does (streamed) <= 1.5x save alone')
    for r in rows:
        if r['rules'] >= 50000:
            ratio = r['stream'] / r['save']
            print('%s %d rules %s: streamed %.0f ms = %.2fx save alone (%.0f ms): %s' % (
                r['backend'], r['rules'], r['variant'], r['stream'] * 1000, ratio, r['save'] * 1000,
                'met' if ratio <= 1.5 else 'NOT met'))


if __name__ == '__main__':
    main()
