# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""interface_info main(): offline text, the real own namespace, clear failures."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import interface_info

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'interfaces')


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            interface_info.main()
    return json.loads(capsys.readouterr().out)


def test_src_chapter_sample(capsys):
    with open(os.path.join(FIX, 'chapter_ip_a_grep_state.txt'), encoding='utf-8') as f:
        res = run({'src': f.read()}, capsys)
    assert not res.get('failed') and res['changed'] is False
    assert [i['name'] for i in res['interfaces']] == ['lo', 'eth0', 'eth1', 'virbr0', 'br100']
    assert res['problems'] == [] and res['summary']['ignorable'] == 1


def test_src_real_output_with_name_filter_keeps_master_problems(capsys):
    with open(os.path.join(FIX, 'ip_d_addr.txt'), encoding='utf-8') as f:
        res = run({'src': f.read(), 'name': ['vnet*']}, capsys)
    assert [i['name'] for i in res['interfaces']] == ['vnet0', 'vnet1']
    assert [p['code'] for p in res['problems']] == ['mtu_mismatch_with_master', 'enslaved_but_down',
                                                    'mtu_mismatch_with_master']


def test_own_namespace_live(capsys):
    res = run({'name': ['lo']}, capsys)
    assert [i['name'] for i in res['interfaces']] == ['lo']
    assert res['interfaces'][0]['kind'] == 'loopback' and res['interfaces'][0]['netns'] is None


def test_missing_namespace_fails_naming_it(capsys):
    res = run({'netns': ['tfnx-does-not-exist']}, capsys)
    assert res['failed'] is True
    assert 'tfnx-does-not-exist' in res['msg'] and 'does not exist' in res['msg']


def test_hostile_namespace_name_fails_cleanly(capsys):
    res = run({'netns': ['../../etc/passwd']}, capsys)
    assert res['failed'] is True and 'invalid network namespace name' in res['msg']


def test_garbage_src_fails_cleanly(capsys):
    res = run({'src': 'total 0\n-rw-r--r-- 1 root root 0 file\n'}, capsys)
    assert res['failed'] is True and 'not the output of "ip a"' in res['msg']


def test_netns_and_src_are_exclusive(capsys):
    res = run({'src': 'x', 'netns': ['a']}, capsys)
    assert res['failed'] is True and 'mutually exclusive' in res['msg']


def test_fields_keep_only_what_is_asked_and_problems_are_complete(capsys):
    with open(os.path.join(FIX, 'ip_d_addr.txt'), encoding='utf-8') as f:
        text = f.read()
    full = run({'src': text}, capsys)
    few = run({'src': text, 'fields': ['mtu', 'operstate']}, capsys)
    assert [i['name'] for i in few['interfaces']] == [i['name'] for i in full['interfaces']]
    assert all(set(i) == {'name', 'netns', 'mtu', 'operstate'} for i in few['interfaces']), few['interfaces'][0]
    assert [(i['mtu'], i['operstate']) for i in few['interfaces']] == [(i['mtu'], i['operstate']) for i in full['interfaces']]
    # the problems and the summary are those of the whole result
    assert few['problems'] == full['problems'] and few['summary'] == full['summary'] and few['problems']
    res = run({'src': text, 'fields': ['mtu', 'speed']}, capsys)
    assert res['failed'] and 'unknown fields speed' in res['msg']
