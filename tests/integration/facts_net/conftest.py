# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throw-away namespaces (prefix ``tfnx`` + random hex) and a real module runner for facts_net tests.

Every link is created inside these namespaces; nothing touches the default namespace. The
namespaces are deleted in the fixture's finalizer whatever the test did.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile

import pytest

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


class Namespaces(object):
    def __init__(self):
        self.prefix = 'tfnx' + secrets.token_hex(3)
        self.made = []

    def __call__(self, role):
        name = '%s-%s' % (self.prefix, role)
        sh('ip', 'netns', 'add', name)
        self.made.append(name)
        sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
        return name

    def cleanup(self):
        for name in reversed(self.made):
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)
        self.made = []


@pytest.fixture
def netns():
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces)')
    ns = Namespaces()
    try:
        yield ns
    finally:
        ns.cleanup()


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


@pytest.fixture
def compute(netns):
    """A compute-node-like namespace: br100 (10.0.2.1/24) with ports

    - vnet0 <-> eth0 in ``inst`` (10.0.2.24), up
    - vnet1 <-> eth0 in ``inst2`` (10.0.2.66), up (the "probe host" the DROP rule blocks)
    - vnet2 <-> eth0 in ``inst3``, vnet2 administratively down (enslaved but down)
    - eth1 (physical NIC stand-in) <-> eth1 in ``ext`` (203.0.113.1/24), eth1 is a port of br100
    plus virbr0 with a down virbr0-nic tap, like libvirt's default network.
    """
    c = netns('cn')
    inst, inst2, inst3, ext = netns('i1'), netns('i2'), netns('i3'), netns('ext')
    sh('ip', '-n', c, 'link', 'add', 'br100', 'type', 'bridge')
    for port, peer_ns in (('vnet0', inst), ('vnet1', inst2), ('vnet2', inst3)):
        sh('ip', '-n', c, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer_ns)
        sh('ip', '-n', c, 'link', 'set', port, 'master', 'br100')
    sh('ip', '-n', c, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ext)
    sh('ip', '-n', c, 'link', 'set', 'eth1', 'master', 'br100')
    sh('ip', '-n', c, 'link', 'add', 'virbr0', 'type', 'bridge')
    sh('ip', '-n', c, 'tuntap', 'add', 'virbr0-nic', 'mode', 'tap')
    sh('ip', '-n', c, 'link', 'set', 'virbr0-nic', 'master', 'virbr0')
    for link in ('br100', 'vnet0', 'vnet1', 'eth1', 'virbr0'):
        sh('ip', '-n', c, 'link', 'set', link, 'up')
    for n in (inst, inst2, inst3):
        sh('ip', '-n', n, 'link', 'set', 'eth0', 'up')
    sh('ip', '-n', ext, 'link', 'set', 'eth1', 'up')
    sh('ip', '-n', c, 'addr', 'add', '10.0.2.1/24', 'dev', 'br100')
    sh('ip', '-n', c, 'addr', 'add', '192.168.122.1/24', 'dev', 'virbr0')
    sh('ip', '-n', inst, 'addr', 'add', '10.0.2.24/24', 'dev', 'eth0')
    sh('ip', '-n', inst2, 'addr', 'add', '10.0.2.66/24', 'dev', 'eth0')
    sh('ip', '-n', inst3, 'addr', 'add', '10.0.2.77/24', 'dev', 'eth0')
    return {'cn': c, 'inst': inst, 'inst2': inst2, 'inst3': inst3, 'ext': ext}
