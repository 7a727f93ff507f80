# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ovn.parse_trace on real ovn-trace output of the OVN lab (tests/unit/fixtures/ovn/trace.*.txt, --no-friendly-names):
vm2's ping to vm1, healthy and with a drop ACL on vm1's port."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _ovn

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'ovn')


def _read(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def test_healthy_trace_outputs_to_the_port():
    t = _ovn.parse_trace(_read('trace.healthy.txt'))
    assert [p['pipeline'] for p in t['pipelines']] == ['ingress', 'egress']
    assert [s['stage'] for s in t['pipelines'][0]['stages']] == ['ls_in_check_port_sec', 'ls_in_l2_lkup']
    lkup = t['pipelines'][0]['stages'][1]
    assert (lkup['table'], lkup['priority'], lkup['source'].startswith('northd.c:')) == (25, 50, True)
    assert lkup['match'].startswith('eth.dst == ') and lkup['actions'][-1] == 'output;'
    assert t['pipelines'][1]['outport'] == t['outputs'][0] and len(t['outputs'][0]) == 36
    assert not t['dropped'] and t['drop'] is None and t['microflow'].startswith('icmp,reg14=')


def test_acl_drop_names_the_stage():
    t = _ovn.parse_trace(_read('trace.acl_drop.txt'))
    d = t['drop']
    assert t['dropped'] and (d['pipeline'], d['stage'], d['table'], d['priority']) == ('egress', 'ls_out_acl', 4, 2001)
    assert d['match'].startswith('outport == "') and d['match'].endswith('" && ip4') and t['outputs'] == []


def test_not_a_trace_is_named():
    with pytest.raises(_ovn.OvnError, match='not ovn-trace output'):
        _ovn.parse_trace('unknown datapath "nosuch"')
