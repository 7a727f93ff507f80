# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures bringing up the namespace lab (lab/, docs/lab.md) for integration tests.

``lab_factory`` (function scope): ``lab_factory('seed')`` brings a topology up under a fresh
unique prefix and returns the ``lab.Lab``; every lab it made is torn down at the end of the
test, whatever happened. ``seed_lab`` / ``vlan_lab`` / ``ovn_lab`` / ``ml2ovs_lab`` (session scope): one shared lab per
topology for the whole session (tests that inject a fault must heal it, e.g. with
``lab.heal()`` in a ``finally``). All need root; without it they skip.
"""

from __future__ import annotations

import os
import secrets

import pytest

from lab import Lab


def _require_root():
    if os.geteuid() != 0:
        pytest.skip('the lab needs root (network namespaces, iptables, dnsmasq)')


def unique_prefix(tag='t'):
    """A lab prefix no other running test uses: tag + 6 random hex digits (<= 12 chars)."""
    return (tag + secrets.token_hex(3))[:12]


class _Factory(object):
    def __init__(self, tag):
        self.tag = tag
        self.labs = []

    def __call__(self, topology='seed', prefix=None):
        _require_root()
        lab = Lab(prefix or unique_prefix(self.tag))
        self.labs.append(lab)
        lab.up(topology)
        return lab

    def teardown(self):
        errors = []
        for lab in reversed(self.labs):
            try:
                lab.down()
            except Exception as exc:  # pylint: disable=broad-except
                errors.append('%s: %s' % (lab.name, exc))
        self.labs = []
        if errors:
            raise RuntimeError('lab teardown failed: %s' % '; '.join(errors))


@pytest.fixture
def lab_factory():
    factory = _Factory('t')
    try:
        yield factory
    finally:
        factory.teardown()


@pytest.fixture(scope='session')
def _session_labs():
    factory = _Factory('s')
    try:
        yield factory
    finally:
        factory.teardown()


@pytest.fixture(scope='session')
def seed_lab(_session_labs):
    """The chapter's topology, up for the whole session."""
    return _session_labs('seed')


@pytest.fixture(scope='session')
def vlan_lab(_session_labs):
    """The VlanManager topology (two computes, two tenant networks), up for the whole session."""
    return _session_labs('vlan')


@pytest.fixture(scope='session')
def ovn_lab(_session_labs):
    """The Neutron ML2/OVN topology (real Open vSwitch and OVN daemons), up for the whole session; a test that injects a
    fault or changes a database heals it."""
    return _session_labs('ovn')


@pytest.fixture(scope='session')
def ml2ovs_lab(_session_labs):
    """The Neutron ML2/OVS topology (real Open vSwitch with the agents' bridges and flows, iptables_hybrid, the DHCP
    agent's dnsmasq, the L3 agent's router), up for the whole session; a test that injects a fault heals it."""
    return _session_labs('ml2ovs')
