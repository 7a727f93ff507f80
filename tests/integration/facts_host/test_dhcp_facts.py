# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnsmasq_info and console_log_info against a real dnsmasq, real udhcpc clients and the real log."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import console_log_info, dnsmasq_info

KNOWN_MAC = 'fa:16:3e:56:0b:6f'  # in the hosts file (conftest)
UNKNOWN_MAC = 'fa:16:3e:78:44:84'  # not in it
QUIET_MAC = 'fa:16:3e:00:00:42'  # in it, never asks

pytestmark = pytest.mark.lab


def run(mod, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


def dnsmasq(net, capsys, **extra):
    args = {'state_dir': net.state_dir, 'log_path': net.log, 'netns': net.srv}
    args.update(extra)
    res = run(dnsmasq_info, args, capsys)
    assert not res.get('failed'), res.get('msg')
    return res


def test_healthy_then_unknown_mac_then_killed(dhcp_net, capsys):
    net = dhcp_net
    pid = net.pids[0]
    ok_console = net.udhcpc(KNOWN_MAC)
    bad_console = net.udhcpc(UNKNOWN_MAC, tries=2)

    res = dnsmasq(net, capsys)
    procs = res['dnsmasq']['processes']
    assert [p['pid'] for p in procs] == [pid]
    p = procs[0]
    assert p['user'] == 'nobody' and p['role'] == 'main'
    assert p['bridge'] == 'br100' and p['bridge_source'] == 'listen-address'
    assert p['pid_file']['status'] == 'alive' and p['pid_file']['pid'] == pid
    assert p['args']['dhcp_ranges'][0]['set_tags'] == ["'novanetwork'"]
    assert p['restart_advice']['commands'] == ['kill -HUP %d' % pid, 'kill -TERM %d' % pid]
    hosts = res['dnsmasq']['hosts_files'][0]
    assert [e['mac'] for e in hosts['entries']] == [KNOWN_MAC, QUIET_MAC]
    macs = res['dnsmasq']['log']['macs']
    assert macs[KNOWN_MAC]['result'] == 'complete' and macs[KNOWN_MAC]['ips'] == ['192.168.100.3']
    assert macs[KNOWN_MAC]['server_pids'] == [pid]
    assert macs[UNKNOWN_MAC]['result'] == 'no_address_available' and macs[UNKNOWN_MAC]['counts']['DHCPDISCOVER'] == 2
    assert macs[QUIET_MAC]['result'] == 'never_seen'
    codes = sorted((x['code'], x['object']) for x in res['problems'])
    assert codes == [('dhcp_never_seen', QUIET_MAC), ('dhcp_no_address_available', UNKNOWN_MAC)]

    # the instance side of the same story
    con = run(console_log_info, {'path': ok_console}, capsys)
    assert con['console_log']['result'] == 'ok' and con['console_log']['lease']['address'] == '192.168.100.3'
    con = run(console_log_info, {'path': bad_console}, capsys)
    assert con['console_log']['result'] == 'dhcp_no_lease'

    # the per-MAC filter
    one = dnsmasq(net, capsys, mac=[UNKNOWN_MAC.upper()])
    assert list(one['dnsmasq']['log']['macs']) == [UNKNOWN_MAC]

    # kill dnsmasq by pid: its pid file stays behind (it runs as nobody) -> dhcp_server_down
    net.kill_dnsmasq(pid)
    res = dnsmasq(net, capsys)
    assert res['dnsmasq']['processes'] == []
    pf = res['dnsmasq']['pid_files']
    assert [(x['status'], x['pid'], x['bridge']) for x in pf] == [('stale', pid, 'br100')]
    down = [x for x in res['problems'] if x['code'] == 'dhcp_server_down']
    assert down and down[0]['object'] == 'br100' and str(pid) in down[0]['message']
    assert any(m.endswith('exiting on receipt of SIGTERM') for m in res['dnsmasq']['log']['servers'][0]['messages'])
    # no pid file left either: the hosts file still lists instances on br100 that nobody serves
    os.unlink(net.pid_file)
    res = dnsmasq(net, capsys)
    down = [x for x in res['problems'] if x['code'] == 'dhcp_server_down']
    assert [x['object'] for x in down] == ['br100'] and 'no dnsmasq serves br100' in down[0]['message']

    # and the client now gets nothing at all
    none_console = net.udhcpc(KNOWN_MAC, tries=2)
    con = run(console_log_info, {'path': none_console}, capsys)
    assert con['console_log']['result'] == 'dhcp_no_lease'
    assert con['problems'][0]['message'].endswith('without any offer and got no lease')


def test_other_namespaces_dnsmasq_not_reported(dhcp_net, capsys):
    res = run(dnsmasq_info, {'state_dir': dhcp_net.state_dir, 'log_path': ''}, capsys)
    assert dhcp_net.pids[0] not in [p['pid'] for p in res['dnsmasq']['processes']]
    res = run(dnsmasq_info, {'state_dir': dhcp_net.state_dir, 'log_path': '', 'all_namespaces': True}, capsys)
    assert dhcp_net.pids[0] in [p['pid'] for p in res['dnsmasq']['processes']]


def test_garbage_state_files_are_reported_not_fatal(dhcp_net, capsys):
    os.rename(dhcp_net.hosts_file, dhcp_net.hosts_file + '.away')
    os.mkdir(dhcp_net.hosts_file)
    with open(os.path.join(dhcp_net.state_dir, 'nova-br200.pid'), 'w') as f:
        f.write('not a pid\n')
    try:
        res = dnsmasq(dhcp_net, capsys, log_path='')
    finally:
        os.rmdir(dhcp_net.hosts_file)
        os.rename(dhcp_net.hosts_file + '.away', dhcp_net.hosts_file)
    codes = sorted((x['code'], x['object']) for x in res['problems'])
    assert ('dnsmasq_hosts_file_unreadable', dhcp_net.hosts_file) in codes
    assert ('dnsmasq_pid_file_invalid', 'br200') in codes
    assert 'is a directory' in res['dnsmasq']['hosts_files'][0]['error']


def test_binary_log_fails_cleanly(dhcp_net, capsys):
    with open(dhcp_net.log, 'ab') as f:
        f.write(os.urandom(70000))
    res = run(dnsmasq_info, {'state_dir': dhcp_net.state_dir, 'log_path': dhcp_net.log, 'netns': dhcp_net.srv}, capsys)
    assert res['failed'] is True and res['msg'] == 'log %s contains binary data, not a text log' % dhcp_net.log


def test_hosts_file_dnsmasq_cannot_read(dhcp_net, capsys):
    """The hosts file becomes unreadable for dnsmasq (it runs as nobody); SIGHUP makes it re-read it."""
    pid = dhcp_net.pids[0]
    os.chmod(dhcp_net.hosts_file, 0o600)
    dhcp_net.hup(pid)
    dhcp_net.udhcpc(KNOWN_MAC, tries=2)
    res = dnsmasq(dhcp_net, capsys)
    assert res['dnsmasq']['log']['macs'][KNOWN_MAC]['result'] == 'no_address_available'
    err = [x for x in res['problems'] if x['code'] == 'dnsmasq_error_logged']
    assert err and err[0]['object'] == 'dnsmasq[%d]' % pid
    assert 'cannot read %s: Permission denied' % dhcp_net.hosts_file in err[0]['message']
