# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova_network_info and floating_ip_disassociate main(): argument handling and refusals that need no DB.

The database paths run against a real MariaDB in tests/integration/db/. Here the server is a unix
socket path where nothing listens (a real failed connection, no mock).
"""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import floating_ip_disassociate, nova_network_info


@pytest.fixture
def nowhere(tmp_path):
    return {'login_unix_socket': str(tmp_path / 'nothing.sock'), 'login_user': 'nova', 'login_password': 'Pw-unit-9',
            'config_file': '', 'connect_timeout': 2}


def run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr()
    assert 'Traceback' not in out.out + out.err
    return json.loads(out.out)


@pytest.mark.parametrize('args,msg', [
    ({}, 'nothing to do: give instance, audit=true or nat_host'),
    ({'nat_host': 'compute1'}, 'nat_host compute1 needs its NAT rules'),
    ({'iptables_save': '*nat\nCOMMIT\n'}, 'missing parameter(s) required by'),
    ({'nat_host': 'c1', 'iptables_save': 'x', 'nat_rules': []}, 'mutually exclusive'),
    ({'instance': "x' OR '1'='1" + 'a' * 300}, 'longer than 255 characters'),
    ({'instance': 'web\x0001'}, 'control characters'),
    ({'audit': True}, 'cannot connect to the nova database at socket '),
])
def test_info_refusals(capsys, nowhere, args, msg):
    res = run(nova_network_info, dict(nowhere, **args), capsys)
    assert res['failed'] and msg in res['msg'], res
    assert 'Pw-unit-9' not in json.dumps(res)


@pytest.mark.parametrize('args,msg', [
    ({}, 'one of the following is required: address, fixed_ip_id, instance'),
    ({'address': '203.0.113.30', 'instance': 'vm1'}, 'mutually exclusive'),
    ({'address': "203.0.113.30' OR '1'='1"}, 'is not an IP address'),
    ({'address': '%'}, 'is not an IP address'),
    ({'fixed_ip_id': 0}, 'is not a valid row id'),
    ({'fixed_ip_id': '1 OR 1=1'}, "argument 'fixed_ip_id' is of type"),
    ({'instance': '\U0001F4A3'}, 'Basic Multilingual Plane'),
    ({'address': '203.0.113.30', 'lock_timeout': 0}, 'lock_timeout must be between 1 and 300 seconds'),
    ({'address': '203.0.113.30'}, 'cannot connect to the nova database at socket '),
])
def test_disassociate_refusals(capsys, nowhere, args, msg):
    res = run(floating_ip_disassociate, dict(nowhere, **args), capsys)
    assert res['failed'] and msg in res['msg'], res
    assert 'Pw-unit-9' not in json.dumps(res)


def test_disassociate_check_mode_refusal_also_without_db(capsys, nowhere):
    res = run(floating_ip_disassociate, dict(nowhere, address='not-an-ip', _ansible_check_mode=True), capsys)
    assert res['failed'] and res['error_code'] == 'bad_input'
