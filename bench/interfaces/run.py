#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark interface_info against ansible.builtin.setup (network facts) and ``ip -j -d addr show``.

For each size (10, 100, 1000, 2000 interfaces) a private namespace ``bfnx-if<pid>`` is filled with
veth pairs in one ``ip -batch`` call (both ends inside it; nothing in the default namespace), then:

* ``ip``         ``ip -n NS -j -d addr show`` alone (the kernel's own dump, C).
* ``min-py``     a minimal Python process that runs that command and parses its JSON (the baseline the
                 issue names for the module's own process time).
* ``module``     the module's own process: ``python interface_info.py args.json`` with ``netns: NS``.
* ``pyroute2``   a Python process (started with ``ip netns exec NS``) dumping links + addresses with
                 pyroute2's narrowest import (``pyroute2.iproute.linux.IPRoute``) and the cyclic GC
                 paused: the path the module did not take (skipped if pyroute2 is not installed).
* ``e2e``        ``ip netns exec NS ansible-playbook`` of one task running the module with ``register``,
                 then a ``debug`` of the interface count: how the facts are used (collect, diagnose).
* ``adhoc``      ``ip netns exec NS ansible localhost -m cloudops.netdiag.interface_info``: the same plus
                 Ansible printing the whole result (1.6 MB at 2000 interfaces) with the YAML callback.
* ``setup``      the same playbook with ``ansible.builtin.setup`` ``gather_subset: network`` (slow: one
                 ethtool per interface; measured once per size, and at the largest size only with
                 ``--quick``).

Times are the best of ``--repeat`` runs (setup: one run); the machines are shared, the minimum is the
least disturbed run. Wall clock and CPU (user+sys of the process
and its children, from wait4) are printed, then the ratios. Nothing is asserted.

``ip``, ``min-py`` and ``module`` are run interleaved (ip, min-py, module, ip, min-py, module, ...) so
that a burst of load from the shared machine hits all three alike; for them the median is printed
too, and the module / min-py ratio is given both from the best runs and from the medians, for wall
clock and for CPU.  ``--core`` measures only these three (quick: the issue's process-time target).
Python compiles the collection's module_utils on every run when PYTHONDONTWRITEBYTECODE is set (as
under Ansible, which ships them in a zip): the header says which.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, '.venv', 'collections')
BIN = os.path.dirname(sys.executable)
MODULE = os.path.join(REPO, 'plugins', 'modules', 'interface_info.py')

MIN_PY = ("import json, subprocess, sys\n"
          "out = subprocess.run(['ip', '-n', sys.argv[1], '-j', '-d', 'addr', 'show'], capture_output=True,"
          " check=True).stdout\n"
          "print(len(json.loads(out)))\n")
PLAYBOOK = '''- hosts: localhost
  gather_facts: false
  tasks:
    - %s
      register: r
    - ansible.builtin.debug:
        msg: "{{ %s | length }} interfaces"
'''
PB_MODULE = PLAYBOOK % ('cloudops.netdiag.interface_info:', 'r.interfaces')
# the same task with the result shaped to what a fleet check uses (every interface, fewer values per interface)
FIELDS = ['operstate', 'mtu', 'master', 'addresses']
PB_FIELDS = PLAYBOOK % ('cloudops.netdiag.interface_info: {fields: %s}' % json.dumps(FIELDS), 'r.interfaces')
PB_SETUP = PLAYBOOK % ('ansible.builtin.setup: {gather_subset: network}', 'r.ansible_facts.ansible_interfaces')
PYROUTE2 = ("import gc\n"
            "from pyroute2.iproute.linux import IPRoute\n"
            "gc.disable()\n"
            "with IPRoute() as ipr:\n"
            "    links = list(ipr.get_links())\n"
            "    addrs = list(ipr.get_addr())\n"
            "print(len(links), len(addrs))\n")


def timed(argv, env=None, stdin=None):
    """(wall seconds, stdout) of one run; the caller takes CPU from RUSAGE_CHILDREN deltas."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            stdin=subprocess.DEVNULL if stdin is None else stdin)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError('%s failed (rc=%d): %s' % (' '.join(argv), proc.returncode, err.decode()[-800:]))
    return wall, out


def measure(argv, repeat, env=None):
    """Best wall and best CPU (user+sys, process tree) over ``repeat`` runs (the least disturbed)."""
    walls, cpus = [], []
    for _run in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, _out = timed(argv, env=env)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(wall)
        cpus.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return min(walls), min(cpus)


def measure_interleaved(commands, repeat, env=None):
    """{key: (best wall, best cpu, median wall, median cpu)} over ``repeat`` rounds of the commands.

    ``commands``: [(key, argv)]; every round runs each once, in turn.
    """
    walls = {key: [] for key, _argv in commands}
    cpus = {key: [] for key, _argv in commands}
    for _run in range(repeat):
        for key, argv in commands:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, _out = timed(argv, env=env)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls[key].append(wall)
            cpus[key].append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    out = {}
    for key, _argv in commands:
        w, c = sorted(walls[key]), sorted(cpus[key])
        out[key] = (w[0], c[0], w[len(w) // 2], c[len(c) // 2])
    return out


def make_namespace(name, count):
    """Namespace with ``count`` interfaces besides lo: count//2 veth pairs, up, one IPv4 address each."""
    subprocess.run(['ip', 'netns', 'add', name], check=True)
    pairs = max(1, count // 2)
    lines = ['link set lo up']
    for i in range(pairs):
        lines.append('link add a%d type veth peer name b%d' % (i, i))
        lines.append('link set a%d up' % i)
        lines.append('link set b%d up' % i)
        lines.append('address add 10.%d.%d.1/30 dev a%d' % (i // 256 % 256, i % 256, i))
    with tempfile.NamedTemporaryFile('w', suffix='.batch', delete=False) as f:
        f.write('\n'.join(lines) + '\n')
        path = f.name
    try:
        t0 = time.perf_counter()
        subprocess.run(['ip', '-n', name, '-batch', path], check=True)
        return time.perf_counter() - t0
    finally:
        os.unlink(path)


def has_pyroute2():
    return subprocess.run([sys.executable, '-c', 'import pyroute2'], capture_output=True, check=False).returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', default='10,100,1000,2000', help='interface counts (default 10,100,1000,2000)')
    ap.add_argument('--repeat', type=int, default=5, help='runs per fast measurement (best of)')
    ap.add_argument('--quick', action='store_true',
                    help='sizes 10,100,2000, 3 repeats, ansible setup measured at the largest size only')
    ap.add_argument('--no-setup', action='store_true', help='skip ansible.builtin.setup entirely')
    ap.add_argument('--core', action='store_true',
                    help='only ip, min-py and the module process (interleaved; the process-time target)')
    ap.add_argument('--json', help='also write the raw numbers to this file')
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('needs root (creates a network namespace)')
    sizes = [int(s) for s in args.sizes.split(',')]
    repeat = args.repeat
    if args.quick:
        sizes, repeat = [10, 100, 2000], 3
    env = dict(os.environ)
    env['PYTHONPATH'] = COLLECTIONS + os.pathsep + env.get('PYTHONPATH', '')
    env['ANSIBLE_CONFIG'] = os.path.join(REPO, 'ansible.cfg')
    env['ANSIBLE_LOCALHOST_WARNING'] = 'False'
    env['ANSIBLE_PYTHON_INTERPRETER'] = sys.executable
    env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
    ansible = os.path.join(BIN, 'ansible')
    playbook = os.path.join(BIN, 'ansible-playbook')
    pbdir = tempfile.mkdtemp(prefix='bfnx-if-')
    pb_module = os.path.join(pbdir, 'module.yml')
    pb_setup = os.path.join(pbdir, 'setup.yml')
    pb_fields = os.path.join(pbdir, 'fields.yml')
    for path, text in ((pb_module, PB_MODULE), (pb_setup, PB_SETUP), (pb_fields, PB_FIELDS)):
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    pyroute2 = has_pyroute2()
    rows = []
    print('interface_info benchmark (%s), best of %d; times in ms, wall / cpu; module_utils %s; load %s' % (
        time.strftime('%F %T'), repeat,
        'compiled on every run (PYTHONDONTWRITEBYTECODE)' if os.environ.get('PYTHONDONTWRITEBYTECODE')
        else 'bytecode cached', '%.1f %.1f %.1f' % os.getloadavg()))
    for size in sizes:
        ns = 'bfnx-if%d-%d' % (os.getpid(), size)
        try:
            build = make_namespace(ns, size)
            n_links = len(json.loads(subprocess.run(['ip', '-n', ns, '-j', 'link', 'show'], capture_output=True,
                                                    check=True).stdout))
            with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
                json.dump({'ANSIBLE_MODULE_ARGS': {'netns': [ns]}}, f)
                argsfile = f.name
            row = {'interfaces': n_links, 'build_s': build}
            core = measure_interleaved([('ip', ['ip', '-n', ns, '-j', '-d', 'addr', 'show']),
                                        ('min_py', [sys.executable, '-c', MIN_PY, ns]),
                                        ('module', [sys.executable, MODULE, argsfile])], repeat, env=env)
            for key, (bwall, bcpu, mwall, mcpu) in core.items():
                row[key] = (bwall, bcpu)
                row[key + '_median'] = (mwall, mcpu)
            if not args.core:
                if pyroute2:
                    row['pyroute2'] = measure(['ip', 'netns', 'exec', ns, sys.executable, '-c', PYROUTE2],
                                              max(1, min(repeat, 3)))
                in_ns = ['ip', 'netns', 'exec', ns]
                row['e2e'] = measure(in_ns + [playbook, pb_module], max(1, min(repeat, 3)), env=env)
                row['e2e_fields'] = measure(in_ns + [playbook, pb_fields], max(1, min(repeat, 3)), env=env)
                row['adhoc'] = measure(in_ns + [ansible, 'localhost', '-m', 'cloudops.netdiag.interface_info'],
                                       max(1, min(repeat, 3)), env=env)
                want_setup = not args.no_setup and (not args.quick or size == max(sizes))
                if want_setup:
                    row['setup'] = measure(in_ns + [playbook, pb_setup], 1, env=env)
            os.unlink(argsfile)
        finally:
            subprocess.run(['ip', 'netns', 'del', ns], check=False)
        rows.append(row)

        def fmt(key):
            v = row.get(key)
            return '%8.1f/%-7.1f' % (v[0] * 1000, v[1] * 1000) if v else '%16s' % '-'
        print('%5d links (built in %.2fs): ip %s min-py %s module %s pyroute2 %s e2e %s e2e-fields %s adhoc %s setup %s' % (
            n_links, build, fmt('ip'), fmt('min_py'), fmt('module'), fmt('pyroute2'), fmt('e2e'), fmt('e2e_fields'), fmt('adhoc'),
            fmt('setup')))
        sys.stdout.flush()
    print()
    print('ratios (wall clock; cpu in brackets)')
    header = ('links', 'module / min-py', 'pyroute2 / module', 'setup / e2e', 'setup / e2e-fields', 'module / ip alone')
    print('%6s %22s %22s %22s %22s %22s' % header)
    for row in rows:
        def ratio(a, b):
            if not row.get(a) or not row.get(b):
                return '%22s' % '-'
            return '%10.2fx [%6.2fx]' % (row[a][0] / row[b][0], row[a][1] / max(row[b][1], 1e-6))
        print('%6d %s %s %s %s %s' % (row['interfaces'], ratio('module', 'min_py'), ratio('pyroute2', 'module'),
                                      ratio('setup', 'e2e'), ratio('setup', 'e2e_fields'), ratio('module', 'ip')))
    print()
    print('module / min-py (the process-time target), best runs and medians of the interleaved runs')
    print('%6s %12s %12s %12s %12s' % ('links', 'wall best', 'cpu best', 'wall median', 'cpu median'))
    for row in rows:
        mod, base = row['module'], row['min_py']
        mod_m, base_m = row['module_median'], row['min_py_median']
        cells = (row['interfaces'], mod[0] / base[0], mod[1] / max(base[1], 1e-6), mod_m[0] / base_m[0],
                 mod_m[1] / max(base_m[1], 1e-6))
        print('%6d %11.2fx %11.2fx %11.2fx %11.2fx' % cells)
    last = rows[-1]
    cpu_best = last['module'][1] / max(last['min_py'][1], 1e-6)
    wall_best = last['module'][0] / last['min_py'][0]
    cpu_med = last['module_median'][1] / max(last['min_py_median'][1], 1e-6)
    wall_med = last['module_median'][0] / last['min_py_median'][0]
    print('\ntargets (issue #3, at 2000 interfaces): setup / e2e >= 30x; module / min-py <= 1.5x')
    print('at %d interfaces: module / min-py wall %.2fx (median %.2fx), cpu %.2fx (median %.2fx): %s' % (
        last['interfaces'], wall_best, wall_med, cpu_best, cpu_med,
        'met' if max(wall_best, cpu_best, wall_med, cpu_med) <= 1.5 else 'NOT met on every measure'))
    if last.get('setup') and last.get('e2e'):
        print('at %d interfaces: setup / e2e wall %.1fx, cpu %.1fx' % (
            last['interfaces'], last['setup'][0] / last['e2e'][0], last['setup'][1] / max(last['e2e'][1], 1e-6)))
        print('at %d interfaces: setup / e2e with fields %s wall %.1fx, cpu %.1fx (every interface reported)' % (
            last['interfaces'], ','.join(FIELDS), last['setup'][0] / last['e2e_fields'][0],
            last['setup'][1] / max(last['e2e_fields'][1], 1e-6)))
    for path in (pb_module, pb_setup, pb_fields):
        os.unlink(path)
    os.rmdir(pbdir)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
