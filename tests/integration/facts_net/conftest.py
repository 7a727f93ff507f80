# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throw-away namespaces (prefix ``tfnx`` + random hex) and a real module runner for facts_net tests.

Every link is created inside these namespaces; nothing touches the default namespace. The
namespaces are deleted in the fixture's finalizer whatever the test did.
"""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from facts_net_helpers import sh  # pylint: disable=import-error


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
