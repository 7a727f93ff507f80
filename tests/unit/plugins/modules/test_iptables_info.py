# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables_info main() on the real saved fixtures, and its failures."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.modules import iptables_info

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'iptables')


def text(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            iptables_info.main()
    return json.loads(capsys.readouterr().out)


def test_src_with_table_filter(capsys):
    res = run({'src': text('nova_legacy_save_c.txt'), 'table': ['filter']}, capsys)
    assert not res.get('failed') and res['changed'] is False
    assert list(res['iptables']['tables']) == ['filter']
    assert res['iptables']['backend'] == 'legacy'
    assert res['summary']['drops_with_hits'][0]['chain'] == 'ops-blocklist'
    assert 'moved' not in res


def test_compare_to_text_and_to_previous_result(capsys):
    before = run({'src': text('nova_nft_save_c.txt')}, capsys)
    # What a registered result looks like once it is back on the controller (no warning objects).
    before = {k: v for k, v in before.items() if k not in ('warnings', 'deprecations')}
    for prev in (text('nova_nft_save_c.txt'), before, before['iptables']):
        res = run({'src': text('nova_nft_save_c_after.txt'), 'compare_to': prev}, capsys)
        assert res['moved'][0]['drop'] is True and res['moved'][0]['packets'] == 2
        assert res['moved'][0]['rule'].startswith('-A ops-blocklist -s 10.0.2.66/32')
        assert res['counters_reset'] == []


def test_flow_and_floating_ip(capsys):
    res = run({'src': text('nova_nft_save_c.txt'), 'floating_ip': ['203.0.113.30'],
               'flow': {'src': '10.0.2.66', 'dst': '10.0.2.1', 'proto': 'icmp', 'in_iface': 'br100'}}, capsys)
    assert res['flow_rules']['INPUT']['verdict'] == 'DROP'
    assert res['nat'][0]['fixed_addresses'] == ['10.0.2.24']


@pytest.mark.parametrize('args,msg', [
    ({'src': 'garbage\n'}, 'cannot parse src as iptables-save output'),
    ({'src': '*filter\n:INPUT ACCEPT [0:0]\n'}, 'truncated'),
    ({'netns': 'tfnx-no-such-ns'}, 'network namespace tfnx-no-such-ns does not exist'),
    ({'src': '*filter\nCOMMIT\n', 'compare_to': 'nonsense'}, 'cannot parse compare_to'),
    ({'src': '*filter\nCOMMIT\n', 'compare_to': {'a': 1}}, 'compare_to is a dict without iptables tables'),
    ({'src': '*filter\nCOMMIT\n', 'compare_to': 5}, 'compare_to must be'),
    ({'src': '*filter\nCOMMIT\n', 'floating_ip': ['not-an-ip']}, "floating_ip: 'not-an-ip' is not an IP address"),
    ({'src': '*filter\nCOMMIT\n', 'flow': {'src': '10.0.0.1', 'dst': 'x'}}, 'flow.dst'),
])
def test_bad_input_fails_cleanly(args, msg, capsys):
    res = run(args, capsys)
    assert res['failed'] is True and msg in res['msg']
