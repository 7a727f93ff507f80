#!/usr/bin/env python
"""The whole suite, as ``make test`` runs it: one stage after another, a summary at the end.

Stages: ansible-doc renders every module, pytest (unit + integration on the real lab),
ansible-test sanity, ansible-test units, ansible-lint (production profile), molecule. ``--only``/``--skip`` select
stages by name. Exit status is non-zero when any stage fails.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
JUNIT = os.path.join(REPO, 'tests', 'output', 'junit-pytest.xml')


def stage_ansible_doc():
    modules = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'plugins', 'modules', '*.py'))
                     if not os.path.basename(p).startswith('_'))
    failed = []
    for mod in modules:
        proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), 'cloudops.netdiag.%s' % mod], cwd=REPO,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0 or 'DOCUMENTATION' in proc.stderr:
            failed.append(mod)
            print('ansible-doc cloudops.netdiag.%s failed:\n%s' % (mod, proc.stderr.strip()))
    print('ansible-doc: %d modules, %d failed' % (len(modules), len(failed)))
    return len(modules) - len(failed), len(failed)


def stage_pytest():
    os.makedirs(os.path.dirname(JUNIT), exist_ok=True)
    rc = subprocess.call([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--junitxml', JUNIT,
                          'tests/unit', 'tests/integration'], cwd=REPO)
    if rc not in (0, 1):
        print('pytest exited with %d' % rc)
    passed = failed = 0
    if os.path.exists(JUNIT):
        root = ET.parse(JUNIT).getroot()
        for suite in root.iter('testsuite'):
            total = int(suite.get('tests', 0))
            bad = int(suite.get('failures', 0)) + int(suite.get('errors', 0))
            skipped = int(suite.get('skipped', 0))
            passed += total - bad - skipped
            failed += bad
    if rc != 0 and failed == 0:
        failed = 1
    if passed == 0 and failed == 0:
        print('pytest ran no test')
        failed = 1
    return passed, failed


def _run_check(name, argv):
    start = time.monotonic()
    rc = subprocess.call(argv, cwd=REPO)
    print('%s: %s in %.0f s' % (name, 'ok' if rc == 0 else 'FAILED (exit %d)' % rc, time.monotonic() - start))
    return (1, 0) if rc == 0 else (0, 1)


def stage_sanity():
    return _run_check('ansible-test sanity', [sys.executable, os.path.join(REPO, 'tools', 'sanity.py'), 'sanity'])


def stage_units():
    # the same unit tests once more, the way ansible-test runs them (collection tree, its own venv, offline-capable)
    return _run_check('ansible-test units', [sys.executable, os.path.join(REPO, 'tools', 'sanity.py'), 'units'])


def stage_lint():
    return _run_check('ansible-lint', [os.path.join(BIN, 'ansible-lint'), '--profile', 'production'])


def stage_molecule():
    # one run per scenario by name: `molecule test --all` looks for a `default` scenario first and logs a CRITICAL
    scenarios = sorted(d for d in os.listdir(os.path.join(REPO, 'extensions', 'molecule'))
                       if os.path.isfile(os.path.join(REPO, 'extensions', 'molecule', d, 'molecule.yml')))
    passed = failed = 0
    for name in scenarios:
        ok, bad = _run_check('molecule %s' % name, [os.path.join(BIN, 'molecule'), 'test', '-s', name])
        passed, failed = passed + ok, failed + bad
        # molecule keeps its ephemeral directory under ~/.ansible/tmp: leave nothing behind
        subprocess.call([os.path.join(BIN, 'molecule'), 'reset', '-s', name], cwd=REPO,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return passed, failed


STAGES = [
    ('ansible-doc', stage_ansible_doc),
    ('pytest', stage_pytest),
    ('sanity', stage_sanity),
    ('units', stage_units),
    ('lint', stage_lint),
    ('molecule', stage_molecule),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--only', action='append', default=[], help='run only this stage (repeatable)')
    parser.add_argument('--skip', action='append', default=[], help='skip this stage (repeatable)')
    args = parser.parse_args()
    os.environ.setdefault('ANSIBLE_CONFIG', os.path.join(REPO, 'ansible.cfg'))
    os.environ['PATH'] = BIN + os.pathsep + os.environ.get('PATH', '')

    results = []
    start = time.monotonic()
    for name, func in STAGES:
        if (args.only and name not in args.only) or name in args.skip:
            continue
        print('\n=== %s ===' % name, flush=True)
        t0 = time.monotonic()
        passed, failed = func()
        results.append((name, passed, failed, time.monotonic() - t0))

    print('\n=== summary ===')
    for name, passed, failed, secs in results:
        print('%-12s %5d passed %3d failed %6.0f s' % (name, passed, failed, secs))
    total_p = sum(r[1] for r in results)
    total_f = sum(r[2] for r in results)
    print('whole suite took %.0f s' % (time.monotonic() - start))
    print('suite: %d passed, %d failed' % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == '__main__':
    sys.exit(main())
