# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of dnsmasq_info, console_log_info, nova_conf_info, libvirt_domain_info: results and clean failures."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import (
    console_log_info, dnsmasq_info, libvirt_domain_info, nova_conf_info)

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def run(mod, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


def test_dnsmasq_info_log_and_state_dir(tmp_path, capsys):
    state = tmp_path / 'networks'
    state.mkdir()
    shutil.copy(os.path.join(FIX, 'dnsmasq', 'nova-br100.conf'), str(state / 'nova-br100.conf'))
    (state / 'nova-br100.pid').write_text('999999999\n')
    res = run(dnsmasq_info, {'state_dir': str(state),
                             'log_path': os.path.join(FIX, 'dnsmasq', 'logfacility_log_dhcp.log')}, capsys)
    assert res['changed'] is False and not res.get('failed')
    macs = res['dnsmasq']['log']['macs']
    assert macs['fa:16:3e:56:0b:6f']['result'] == 'complete'
    assert macs['fa:16:3e:78:44:84']['result'] == 'no_address_available'
    codes = sorted(p['code'] for p in res['problems'])
    assert codes == ['dhcp_no_address_available', 'dhcp_server_down']


def test_dnsmasq_info_mac_filter_never_seen(tmp_path, capsys):
    res = run(dnsmasq_info, {'state_dir': str(tmp_path), 'mac': ['FA:16:3E:00:00:99'],
                             'log_path': os.path.join(FIX, 'dnsmasq', 'chapter_syslog_handshake.log')}, capsys)
    assert list(res['dnsmasq']['log']['macs']) == ['fa:16:3e:00:00:99']
    assert res['dnsmasq']['log']['macs']['fa:16:3e:00:00:99']['result'] == 'never_seen'


def test_dnsmasq_info_missing_log_is_a_warning_unless_required(tmp_path, capsys):
    res = run(dnsmasq_info, {'state_dir': str(tmp_path), 'log_path': str(tmp_path / 'syslog')}, capsys)
    assert res['dnsmasq']['log']['status'] == 'missing' and not res.get('failed')
    assert 'syslog does not exist' in json.dumps(res.get('warnings'))
    res = run(dnsmasq_info, {'state_dir': str(tmp_path), 'log_path': str(tmp_path / 'syslog'), 'log_required': True},
              capsys)
    assert res['failed'] is True and res['msg'] == 'log %s does not exist' % (tmp_path / 'syslog')


@pytest.mark.parametrize('args,msg', [
    ({'since': 'yesterday-ish'}, 'invalid since'),
    ({'max_lines': -1}, 'max_lines and max_bytes'),
    ({'netns': 'tfh3-does-not-exist'}, 'network namespace tfh3-does-not-exist does not exist'),
    ({'netns': '../etc'}, 'invalid network namespace name'),
])
def test_dnsmasq_info_bad_args(tmp_path, capsys, args, msg):
    args = dict(args, state_dir=str(tmp_path), log_path='')
    res = run(dnsmasq_info, args, capsys)
    assert res['failed'] is True and msg in res['msg']


def test_dnsmasq_info_binary_log(tmp_path, capsys):
    b = tmp_path / 'syslog'
    b.write_bytes(os.urandom(20000))
    res = run(dnsmasq_info, {'state_dir': str(tmp_path), 'log_path': str(b)}, capsys)
    assert res['failed'] is True and 'binary data' in res['msg'] and str(b) in res['msg']


def test_console_log_info(tmp_path, capsys):
    res = run(console_log_info, {'path': os.path.join(FIX, 'console', 'chapter_cirros_no_lease.log')}, capsys)
    assert res['console_log']['result'] == 'dhcp_no_lease'
    assert [p['code'] for p in res['problems']] == ['dhcp_no_lease', 'metadata_unreachable']
    inst = tmp_path / 'instances' / '0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11'
    inst.mkdir(parents=True)
    shutil.copy(os.path.join(FIX, 'console', 'busybox_udhcpc_lease.log'), str(inst / 'console.log'))
    res = run(console_log_info, {'instance_uuid': '0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11',
                                 'instances_dir': str(tmp_path / 'instances')}, capsys)
    assert res['console_log']['result'] == 'ok' and res['console_log']['lease']['address'] == '192.168.100.3'
    res = run(console_log_info, {'instance_uuid': 'nope', 'instances_dir': str(tmp_path / 'instances')}, capsys)
    assert res['failed'] is True and 'nope/console.log' in res['msg']


def test_nova_conf_info(tmp_path, capsys):
    res = run(nova_conf_info, {'path': os.path.join(FIX, 'novaconf', 'flatdhcp_multihost.conf')}, capsys)
    assert res['nova_conf']['network']['flat_network_bridge'] == 'br100'
    assert 'secret' not in json.dumps(res['nova_conf'])
    bad = tmp_path / 'nova.conf'
    bad.write_bytes(b'[DEFAULT]\nmy_ip = \xff\n')
    res = run(nova_conf_info, {'path': str(bad)}, capsys)
    assert res['failed'] is True and 'not valid UTF-8' in res['msg'] and str(bad) in res['msg']
    res = run(nova_conf_info, {'path': str(tmp_path)}, capsys)
    assert res['failed'] is True and 'is a directory' in res['msg']


def test_libvirt_domain_info(tmp_path, capsys):
    res = run(libvirt_domain_info, {'path': os.path.join(FIX, 'libvirt', 'qemu'), 'mac': ['fa:16:3e:56:0b:6f']}, capsys)
    assert [d['name'] for d in res['domains']] == ['instance-0000000a'] and res['errors'] == []
    res = run(libvirt_domain_info, {'path': os.path.join(FIX, 'libvirt', 'billion_laughs.xml')}, capsys)
    assert res['failed'] is True and 'billion_laughs.xml' in res['msg']
    res = run(libvirt_domain_info, {'path': str(tmp_path / 'none')}, capsys)
    assert res['failed'] is True and 'none' in res['msg']
    # no virsh here: name filters the directory
    res = run(libvirt_domain_info, {'path': os.path.join(FIX, 'libvirt', 'qemu'), 'name': ['web-1']}, capsys)
    assert [d['name'] for d in res['domains']] == ['instance-0000000b']


def test_dnsmasq_info_ps_output_offline(tmp_path, capsys):
    with open(os.path.join(FIX, 'dnsmasq', 'chapter_ps_aux_with_libvirt.txt'), encoding='utf-8') as f:
        text = f.read()
    res = run(dnsmasq_info, {'ps_output': text, 'state_dir': str(tmp_path / 'none'), 'log_path': ''}, capsys)
    procs = res['dnsmasq']['processes']
    assert [p['pid'] for p in procs] == [1695, 2438, 2439]
    assert procs[1]['bridge'] == 'br100' and procs[1]['bridge_source'] == 'file-name'
    assert procs[0]['args']['user'] == 'libvirt-dnsmasq'
    res = run(dnsmasq_info, {'ps_output': text, 'netns': 'x', 'log_path': ''}, capsys)
    assert res['failed'] is True and 'mutually exclusive' in res['msg']
