# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ebtables_info main() on the real saved fixtures, and its failures."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import ebtables_info

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ebtables')


def text(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            ebtables_info.main()
    return json.loads(capsys.readouterr().out)


def test_src_compare_and_table(capsys):
    before = run({'src': text('nova_nft_save_c.txt')}, capsys)
    before = {k: v for k, v in before.items() if k not in ('warnings', 'deprecations')}
    for prev in (text('nova_nft_save_c.txt'), before, before['ebtables']):
        res = run({'src': text('nova_nft_save_c_after.txt'), 'compare_to': prev, 'table': ['filter']}, capsys)
        assert not res.get('failed') and res['changed'] is False
        assert list(res['ebtables']['tables']) == ['filter'] and res['ebtables']['rule_count'] == 5
        assert res['moved'][0]['drop'] and res['moved'][0]['dhcp'] and res['moved'][0]['packets'] == 2
        assert len(res['summary']['nova_dhcp_isolation']) == 4


@pytest.mark.parametrize('args, msg', [
    ({'src': 'garbage\n'}, 'cannot parse src as ebtables-save output'),
    ({'src': '# only a comment\n'}, 'holds no ebtables table'),
    ({'src': text('nova_nft_save_c.txt'), 'compare_to': {'x': 1}}, 'compare_to is a dict without ebtables tables'),
    ({'src': text('nova_nft_save_c.txt'), 'compare_to': 42}, 'compare_to must be'),
])
def test_bad_input_is_one_clear_message(args, msg, capsys):
    res = run(args, capsys)
    assert res['failed'] and msg in res['msg'], res
