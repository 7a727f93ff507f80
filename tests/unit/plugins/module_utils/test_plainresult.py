# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PlainResultModule writes what AnsibleModule writes, and still masks no_log values."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.module_utils._plainresult import PlainResultModule

RESULT = {'interfaces': [{'name': 'eth0', 'mtu': 1500, 'up': True, 'addresses': [], 'alias': None,
                          'rate': 0.5, 'flags': ['UP']}], 'n': 1}


def run(cls, spec, args, result, capsys):
    with patch_module_args(args):
        module = cls(argument_spec=spec, supports_check_mode=True)
        with pytest.raises(SystemExit):
            module.exit_json(**result)
    return json.loads(capsys.readouterr().out)


def test_same_output_as_stock(capsys):
    spec = {'name': {'type': 'str'}}
    fast = run(PlainResultModule, spec, {'name': 'x'}, RESULT, capsys)
    stock = run(AnsibleModule, spec, {'name': 'x'}, RESULT, capsys)
    assert fast == stock and fast['interfaces'] == RESULT['interfaces']
    assert basic.remove_values.__module__ == 'ansible.module_utils.common.parameters'   # restored


def test_no_log_values_still_masked(capsys):
    spec = {'password': {'type': 'str', 'no_log': True}}
    res = run(PlainResultModule, spec, {'password': 's3cr3t-value'}, {'echo': 'pw is s3cr3t-value'}, capsys)
    assert 's3cr3t-value' not in json.dumps(res)
    assert res['echo'] == 'pw is ********'


def test_non_plain_result_falls_back_to_ansible_encoder(capsys):
    spec = {}
    with patch_module_args({}):
        module = PlainResultModule(argument_spec=spec)
        module.warn('a warning object is not plain JSON')
        with pytest.raises(SystemExit):
            module.exit_json(value=1)
    res = json.loads(capsys.readouterr().out)
    assert res['value'] == 1 and 'a warning object is not plain JSON' in json.dumps(res['warnings'])
