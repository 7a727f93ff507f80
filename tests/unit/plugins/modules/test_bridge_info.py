# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bridge_info main(): offline brctl text, OVS skipped or listed, clear failures."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import bridge_info

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'bridges')


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            bridge_info.main()
    return json.loads(capsys.readouterr().out)


def test_src_brctl_show(capsys):
    with open(os.path.join(FIX, 'brctl_show.txt'), encoding='utf-8') as f:
        res = run({'src': f.read(), 'interface': 'vnet0'}, capsys)
    assert [b['name'] for b in res['bridges']] == ['br100', 'virbr0']
    assert res['member_of'] == [{'interface': 'vnet0', 'bridge': 'br100', 'netns': None, 'state': None,
                                 'type': 'linux'}]
    assert res['ovs_bridges'] == [] and res['problems'] == []


def test_live_own_namespace_without_ovs_vsctl(capsys, monkeypatch):
    # ovs-vsctl is not installed on this machine: the OVS part is skipped silently.
    if any(os.path.exists(os.path.join(d, 'ovs-vsctl')) for d in ('/usr/bin', '/usr/sbin', '/bin', '/sbin')):
        pytest.skip('ovs-vsctl is installed here')
    res = run({'interface': 'no-such-itf-tfnx'}, capsys)
    assert not res.get('failed') and res['ovs_bridges'] == [] and res['member_of'] == []
    assert 'ovs' not in json.dumps(res.get('warnings', []))


def test_ovs_listed_when_ovs_vsctl_present(capsys, monkeypatch, tmp_path):
    # Open vSwitch cannot run on this machine: a stand-in ovs-vsctl script (its real output format,
    # one name per line) proves the module calls it and reads its answer.
    script = tmp_path / 'ovs-vsctl'
    script.write_text('#!/bin/sh\nshift\ncase "$1" in\n list-br) printf "br-int\\nbr-ex\\n";;\n'
                      ' list-ports) [ "$2" = br-int ] && printf "tap1\\nqvo2\\n";;\nesac\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', '%s:%s' % (tmp_path, os.environ.get('PATH', '')))
    res = run({'interface': 'qvo2'}, capsys)
    assert [(b['name'], [p['name'] for p in b['ports']]) for b in res['ovs_bridges']] == \
        [('br-int', ['tap1', 'qvo2']), ('br-ex', [])]
    assert res['member_of'] == [{'interface': 'qvo2', 'bridge': 'br-int', 'netns': None, 'state': None,
                                 'type': 'ovs'}]


def test_ovs_vsctl_failing_is_a_warning(capsys, monkeypatch, tmp_path):
    script = tmp_path / 'ovs-vsctl'
    script.write_text('#!/bin/sh\necho "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed" >&2\n'
                      'exit 1\n')
    script.chmod(0o755)
    monkeypatch.setenv('PATH', '%s:%s' % (tmp_path, os.environ.get('PATH', '')))
    res = run({}, capsys)
    assert not res.get('failed') and res['ovs_bridges'] == []
    assert 'database connection failed' in json.dumps(res['warnings'])


@pytest.mark.parametrize('args,msg', [
    ({'src': 'garbage'}, 'cannot parse src: not "brctl show" output'),
    ({'netns': ['tfnx-nope']}, 'network namespace tfnx-nope does not exist'),
    ({'netns': ['a b']}, 'invalid network namespace name'),
])
def test_bad_input(args, msg, capsys):
    res = run(args, capsys)
    assert res['failed'] is True and msg in res['msg']
