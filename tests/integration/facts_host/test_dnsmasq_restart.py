# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnsmasq_restart on the real nova-style dnsmasq of the dhcp_net fixture: plan, refusals, reload, restart, stop."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import console_log_info, dnsmasq_restart

pytestmark = pytest.mark.lab

KNOWN_MAC = 'fa:16:3e:56:0b:6f'  # in the fixture's hosts file


def run(args, capsys, mod=dnsmasq_restart, check=False):
    if check:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rpartition(')')[2].split()[0] not in ('Z', 'X')
    except OSError:
        return False


def test_plan_refusals_reload_restart_stop(dhcp_net, capsys):
    net = dhcp_net
    pid = net.pids[0]
    args = {'bridge': 'br100', 'state_dir': net.state_dir}

    plan = run(dict(args, action='restart'), capsys, check=True)
    assert plan['changed'] is True and plan['plan']['pid'] == pid and plan['plan']['bridge'] == 'br100'
    assert plan['diff']['before'] == {'pid': pid, 'running': True} and alive(pid)

    refused = run(dict(args, action='stop'), capsys)
    assert refused['failed'] is True and 'set confirm=true' in refused['msg'] and alive(pid)

    res = run(dict(args, action='reload', confirm=True), capsys)
    assert res['changed'] is True and res['pid_after'] == pid and alive(pid)
    with open(net.log) as f:
        assert f.read().count('read %s' % net.hosts_file) == 2  # at start and after SIGHUP

    res = run(dict(args, action='restart', confirm=True), capsys)
    new = res['pid_after']
    net.pids.append(new)  # the fixture's finalizer stops it
    assert new != pid and not alive(pid) and alive(new)
    assert os.stat('/proc/%d/ns/net' % new).st_ino == os.stat('/run/netns/%s' % net.srv).st_ino
    console = net.udhcpc(KNOWN_MAC)
    con = run({'path': console}, capsys, mod=console_log_info)
    assert con['console_log']['lease']['address'] == '192.168.100.3'

    res = run({'pid_file': net.pid_file, 'action': 'stop', 'confirm': True}, capsys)
    assert res['pid_after'] is None and not alive(new)

    stale = run({'pid_file': net.pid_file, 'action': 'reload', 'confirm': True}, capsys)
    assert stale['failed'] is True and 'not running' in stale['msg'] and str(new) in stale['msg']


def test_refuses_what_is_not_that_dnsmasq(dhcp_net, capsys, tmp_path):
    mine = tmp_path / 'nova-br200.pid'
    mine.write_text('%d\n' % os.getpid())
    res = run({'pid_file': str(mine), 'confirm': True}, capsys)
    assert res['failed'] is True and 'not dnsmasq' in res['msg']
    other = tmp_path / 'other.pid'
    other.write_text('%d\n' % dhcp_net.pids[0])  # a real dnsmasq, but not started with this pid file
    res = run({'pid_file': str(other), 'confirm': True}, capsys)
    assert res['failed'] is True and 'was not started with --pid-file=%s' % other in res['msg']
    assert alive(dhcp_net.pids[0])
    res = run({'bridge': '../x', 'confirm': True}, capsys)
    assert res['failed'] is True and 'invalid bridge name' in res['msg']
    res = run({'pid_file': str(tmp_path / 'none.pid')}, capsys)
    assert res['failed'] is True and 'is missing' in res['msg']
