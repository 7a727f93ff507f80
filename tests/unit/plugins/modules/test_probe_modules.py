# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of ping_probe, packet_capture, dns_probe and dhcp_probe: clear failures on bad input, and
real runs against loopback (the only address these unit tests may send to)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import dhcp_probe, dns_probe, packet_capture, ping_probe


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('args,message', [
    ({'targets': []}, 'targets is empty'),
    ({'targets': ['-f']}, "invalid ping target '-f'"),
    ({'targets': ['127.0.0.1'], 'count': 0}, 'count must be between 1 and 1000'),
    ({'targets': ['127.0.0.1'], 'interval': 0.001}, 'interval must be at least 0.01'),
    ({'targets': ['127.0.0.1'], 'deadline': 0}, 'deadline must be more than 0'),
    ({'targets': ['127.0.0.1'], 'payload_pattern': 'xyz'}, 'hex digits'),
    ({'targets': ['127.0.0.1'], 'netns': 'tprbunit-gone'}, 'network namespace tprbunit-gone does not exist'),
    ({'targets': ['127.0.0.1'], 'netns': '../etc'}, 'invalid network namespace name'),
])
def test_ping_bad_input(args, message, capsys):
    res = run(ping_probe, args, capsys)
    assert res['failed'] is True and message in res['msg']


@pytest.mark.skipif(not (shutil.which('ping') or shutil.which('busybox')), reason='needs ping')
def test_ping_loopback_real(capsys):
    res = run(ping_probe, {'targets': ['127.0.0.1'], 'count': 1, 'flavor': 'busybox' if shutil.which('busybox') else 'auto'},
              capsys)
    if os.geteuid() != 0 and not res['probes'][0]['reachable']:
        pytest.skip('unprivileged ping not allowed here')
    assert res['probes'][0]['reachable'] is True and res['problems'] == []


@pytest.mark.parametrize('args,message', [
    ({'interface': []}, 'interface is empty'),
    ({'interface': ['lo', 'lo']}, 'interface lists lo more than once'),
    ({'interface': ['any', 'lo']}, 'do not combine it with lo'),
    ({'interface': ['bad name']}, 'invalid interface name'),
    ({'duration': 0}, 'duration must be more than 0'),
    ({'count': 0}, 'count must be between'),
    ({'snaplen': 10}, 'snaplen must be between'),
    ({'max_file_size': 100}, 'cannot hold a single packet'),
    ({'filter': '-w /etc/passwd'}, 'must not start with -'),
    ({'start_at': 'soon'}, 'neither epoch seconds nor an ISO 8601 instant'),
    ({'start_at': '9999999999'}, 'seconds in the future'),
    ({'netns': 'tprbunit-gone'}, 'network namespace tprbunit-gone does not exist'),
])
def test_capture_bad_input(args, message, capsys):
    if not shutil.which('tcpdump') and 'netns' in args:
        pytest.skip('needs tcpdump')
    res = run(packet_capture, args, capsys)
    assert res['failed'] is True and message in res['msg']


@pytest.mark.parametrize('args,message', [
    ({'server': 'dns.example', 'names': ['a.test']}, 'server must be an IP address'),
    ({'server': '127.0.0.1', 'names': []}, 'nothing to ask'),
    ({'server': '127.0.0.1', 'names': ['bad name']}, 'invalid DNS name'),
    ({'server': '127.0.0.1', 'addresses': ['300.1.1.1']}, 'is not an IP address'),
    ({'server': '127.0.0.1', 'names': ['a.test'], 'port': 0}, 'port must be between'),
    ({'server': '127.0.0.1', 'names': ['a.test'], 'timeout': 0}, 'timeout must be more than 0'),
    ({'server': '127.0.0.1', 'names': ['a.test'], 'netns': 'tprbunit-gone'}, 'does not exist'),
])
def test_dns_bad_input(args, message, capsys):
    res = run(dns_probe, args, capsys)
    assert res['failed'] is True and message in res['msg']


def test_dns_loopback_no_server_is_unreachable(capsys):
    res = run(dns_probe, {'server': '127.0.0.1', 'port': 9, 'names': ['a.test'], 'timeout': 1}, capsys)
    assert res['queries'][0]['status'] == 'unreachable'
    assert res['problems'][0]['code'] == 'dns_unreachable'


@pytest.mark.parametrize('args,message', [
    ({'interface': 'bad name'}, 'invalid interface name'),
    ({'interface': 'lo', 'mac': '00:11:22:33:44:55'}, 'not locally administered'),
    ({'interface': 'lo', 'timeout': 0}, 'timeout must be more than 0'),
    ({'interface': 'lo', 'hostname': 'a b'}, 'invalid hostname'),
    ({'interface': 'nosuch0'}, 'interface nosuch0 does not exist'),
    ({'interface': 'lo', 'netns': 'tprbunit-gone'}, 'does not exist'),
])
def test_dhcp_bad_input(args, message, capsys):
    res = run(dhcp_probe, args, capsys)
    assert res['failed'] is True and message in res['msg']
