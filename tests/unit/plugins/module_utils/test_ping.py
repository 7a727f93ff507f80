# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ping output parser (iputils and busybox, real output in fixtures/ping) and argv rules."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _ping

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ping')


def parse(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as handle:
        return _ping.parse_ping(handle.read(), 1)


@pytest.mark.parametrize('flavor', ['iputils', 'busybox'])
def test_ok(flavor):
    res = parse('%s_ok.txt' % flavor)
    assert (res['sent'], res['received'], res['loss_percent'], res['reachable'], res['error']) == (3, 3, 0.0, True, None)
    assert res['flavor'] == flavor and res['resolved'] == '198.51.100.4'
    assert len(res['replies']) == 3 and res['rtt_min_ms'] <= res['rtt_avg_ms'] <= res['rtt_max_ms']


def test_rtt_values_iputils_and_busybox():
    assert (parse('iputils_ok.txt')['rtt_min_ms'], parse('iputils_ok.txt')['rtt_max_ms']) == (0.080, 0.107)
    assert parse('busybox_ok.txt')['rtt_avg_ms'] == 0.106
    assert [r['seq'] for r in parse('busybox_ok.txt')['replies']] == [0, 1, 2]
    assert [r['seq'] for r in parse('iputils_ok.txt')['replies']] == [1, 2, 3]


@pytest.mark.parametrize('flavor', ['iputils', 'busybox'])
def test_partial_loss(flavor):
    res = parse('%s_partial.txt' % flavor)
    assert (res['sent'], res['received'], res['loss_percent'], res['reachable']) == (4, 2, 50.0, True)


@pytest.mark.parametrize('flavor', ['iputils', 'busybox'])
def test_no_route_is_network_unreachable(flavor):
    res = parse('%s_no_route.txt' % flavor)
    assert res['reachable'] is False and res['error'] == 'Network is unreachable'


def test_icmp_errors_named():
    res = parse('iputils_net_unreachable_icmp.txt')
    assert res['error'] == 'Destination Net Unreachable (from 10.0.2.1)' and res['icmp_errors'] == 2
    res = parse('iputils_prohibited.txt')
    assert res['error'] == 'Destination Host Prohibited (from 198.51.100.4)'
    # busybox ignores ICMP errors: only the loss is known
    res = parse('busybox_net_unreachable_icmp.txt')
    assert res['error'] == 'no reply: 2 sent, 0 received' and res['reachable'] is False


@pytest.mark.parametrize('name', ['iputils_timeout.txt', 'busybox_timeout.txt', 'iputils_host_unreachable.txt',
                                  'busybox_host_unreachable.txt'])
def test_total_loss(name):
    res = parse(name)
    assert res['received'] == 0 and res['loss_percent'] == 100.0 and res['error'].startswith('no reply')


def test_iputils_prefixes_errors_with_its_path():
    res = _ping.parse_ping('/usr/bin/ping: connect: Network is unreachable\n', 2)
    assert res['error'] == 'Network is unreachable'


def test_chapter_bad_address():
    # Cirros (busybox) in the chapter: `ping openstack.org` without working DNS
    res = _ping.parse_ping("ping: bad address 'openstack.org'\n", 1)
    assert res['error'] == "bad address 'openstack.org'" and res['reachable'] is False


def test_pattern_rules():
    assert _ping.validate_pattern('6E64', 'iputils') == '6e64'
    assert _ping.validate_pattern('6e', 'busybox') == '6e'
    with pytest.raises(_ping.PingError, match='one-byte'):
        _ping.validate_pattern('6e64', 'busybox')
    with pytest.raises(_ping.PingError, match='hex'):
        _ping.validate_pattern('zz', 'iputils')
    assert _ping.validate_pattern(None, 'busybox') is None


def test_argv_has_no_w_and_bounds():
    argv = _ping.ping_argv(['ping'], 'iputils', '198.51.100.4', 3, 0.2, 1.5, pattern='6e')
    assert argv == ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-p', '6e', '198.51.100.4']
    argv = _ping.ping_argv(['busybox', 'ping'], 'busybox', '2001:db8::1', 1, 1, 1)
    assert argv == ['busybox', 'ping', '-6', '-c', '1', '-i', '1', '-W', '1', '2001:db8::1']


def test_detect_flavor():
    assert _ping.detect_flavor('ping from iputils 20221126\n') == 'iputils'
    assert _ping.detect_flavor('ping: invalid option -- V\nBusyBox v1.35.0') == 'busybox'


def test_run_parallel_reports_unstartable_command():
    import time
    res = _ping.run_parallel([['/nonexistent/ping', 'x']], time.time() + 1)
    assert res[0][0] is None and 'cannot run /nonexistent/ping' in res[0][2]
    out = _ping.summarize('x', *res[0])
    assert out['reachable'] is False and 'cannot run' in out['error']
