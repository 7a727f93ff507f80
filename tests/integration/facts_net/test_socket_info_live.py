# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""socket_info in the ML2/OVS lab's namespaces: the DHCP agent's dnsmasq in qdhcp-<network> and the router's metadata
proxy in qrouter-<router>, with the processes holding them; a missing namespace is one clear message."""

from __future__ import annotations

import shutil

import pytest

from facts_net_helpers import run_module  # pylint: disable=import-error

pytestmark = pytest.mark.skipif(shutil.which('ovs-vswitchd') is None, reason='Open vSwitch is not installed')


def test_dnsmasq_and_metadata_proxy_listen(ml2ovs_lab):
    lab = ml2ovs_lab
    net, router = lab.model['networks']['private'], lab.model['router']
    rc, res = run_module('socket_info', {'netns': net['qdhcp']})
    assert rc == 0, res
    dns = lab.state['processes']['dnsmasq:%s' % net['qdhcp']]['pid']
    by = {(s['protocol'], s['port']) for s in res['sockets'] if any(p['pid'] == dns for p in s['processes'])}
    assert {('udp', 67), ('udp', 53), ('tcp', 53)} <= by
    rc, res = run_module('socket_info', {'netns': router['qrouter'], 'protocol': ['tcp'], 'port': [9697]})
    assert rc == 0, res
    proxy = lab.state['processes']['metadata-proxy:%s' % router['qrouter']]['pid']
    assert [(s['address'], s['port'], [p['pid'] for p in s['processes']]) for s in res['sockets']] == [('0.0.0.0', 9697, [proxy])]
    assert res['summary'] == {'tcp': 1, 'udp': 0}


def test_missing_namespace_is_named():
    rc, res = run_module('socket_info', {'netns': 'qrouter-no-such-router'})
    assert rc != 0 and 'qrouter-no-such-router' in res['msg'] and 'Traceback' not in res['msg']
