# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the facts_net tests: a command runner and a real module runner (imported by name, so that no test
depends on which directory's ``conftest`` pytest imported first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(REPO, '.venv', 'collections')


def sh(*argv, check=True, ns=None, timeout=30):
    """Run argv (optionally inside namespace ``ns``); return stdout text."""
    argv = list(argv)
    if ns:
        argv = ['ip', 'netns', 'exec', ns] + argv
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise RuntimeError('%s failed (rc=%d): %s' % (' '.join(argv), res.returncode, res.stderr))
    return res.stdout


def run_module(name, args, prefix=None, env=None, timeout=60):
    """Execute plugins/modules/<name>.py as Ansible would (JSON args file); return (rc, result dict).

    ``prefix`` is prepended to the command (for example ``unshare -m sh -c ...``).
    """
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
        path = f.name
    try:
        e = dict(os.environ)
        e['PYTHONPATH'] = COLLECTIONS + os.pathsep + e.get('PYTHONPATH', '')
        e.update(env or {})
        argv = [sys.executable, os.path.join(REPO, 'plugins', 'modules', name + '.py'), path]
        if prefix:
            argv = list(prefix) + argv
        res = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout, check=False)
    finally:
        os.unlink(path)
    out = res.stdout
    assert 'Traceback' not in out + res.stderr, out + res.stderr
    try:
        data = json.loads(out[out.index('{'):])
    except ValueError:
        raise AssertionError('module %s printed no JSON: %s %s' % (name, out, res.stderr))
    return res.returncode, data
