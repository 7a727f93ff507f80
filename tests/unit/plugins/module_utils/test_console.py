# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_console on the chapter's Cirros log and real udhcpc/dhclient/cloud-init output (fixtures/console/README.md)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _console as c

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'console')


def fix(name):
    return os.path.join(FIX, name)


def test_chapter_cirros_no_lease_then_metadata_unreachable():
    info, problems = c.analyse_file(fix('chapter_cirros_no_lease.log'))
    assert info['result'] == 'dhcp_no_lease'
    run = info['dhcp_runs'][0]
    assert (run['client'], run['version'], run['discovers'], run['result'], run['interface']) == (
        'udhcpc', '1.17.2', 3, 'no_lease', 'eth0')
    assert info['lease'] is None
    assert info['metadata']['status'] == 'failed' and info['metadata']['reasons'] == ['unreachable']
    assert [p['code'] for p in problems] == ['dhcp_no_lease', 'metadata_unreachable']
    assert problems[1]['evidence'][-1] == "8: wget: can't connect to remote host (169.254.169.254): Network is unreachable"
    # the colour codes are gone from the evidence
    assert run['evidence'][-1] == {'line': 6, 'text': 'starting DHCP forEthernet interface eth0 [ OK ]'}


def test_ansi_with_escape_bytes():
    assert c.strip_ansi('[ \x1b[1;32mOK\x1b[0;39m ]') == '[ OK ]'
    assert c.strip_ansi('[   97.451190] cloud-init[1874]') == '[   97.451190] cloud-init[1874]'


@pytest.mark.parametrize('name,result,lease,discovers', [
    ('busybox_udhcpc_lease.log', 'ok', '192.168.100.3', 1),
    ('busybox_udhcpc_no_address.log', 'dhcp_no_lease', None, 3),
    ('busybox_udhcpc_no_server.log', 'dhcp_no_lease', None, 3),
    ('dhclient_bound.log', 'ok', '192.168.100.3', 1),
    ('dhclient_nak_then_bound.log', 'ok', '192.168.100.3', 1),
    ('dhclient_no_offers.log', 'dhcp_no_lease', None, 2),
])
def test_real_clients(name, result, lease, discovers):
    info, problems = c.analyse_file(fix(name))
    assert info['result'] == result
    assert (info['lease'] or {}).get('address') == lease
    assert info['dhcp_runs'][-1]['discovers'] == discovers
    assert bool(problems) == (result != 'ok')


def test_busybox_new_format_details():
    info, _errors = c.analyse_file(fix('busybox_udhcpc_lease.log'))
    run = info['dhcp_runs'][0]
    assert run['version'] == '1.35.0' and run['offers'] == ['192.168.100.3']
    assert info['lease'] == {'address': '192.168.100.3', 'server': '192.168.100.1', 'lease_time': 120}


def test_dhclient_nak():
    info, _errors = c.analyse_file(fix('dhclient_nak_then_bound.log'))
    run = info['dhcp_runs'][0]
    assert run['naks'] == 1 and run['result'] == 'nak_then_lease' and run['requests'] == ['192.168.100.77', '192.168.100.3']
    assert run['interface'] == 'eth0'


def test_cloudinit_tables_and_metadata():
    info, problems = c.analyse_file(fix('cloudinit_metadata_unreachable.log'))
    assert info['interfaces']['eth0'] == {'up': True, 'addresses': [], 'hw_address': 'fa:16:3e:56:0b:6f', 'line': 5}
    assert info['interfaces']['lo']['addresses'] == ['127.0.0.1', '::1/128']
    assert info['metadata']['failures'] == 5
    assert 'unreachable' in info['metadata']['reasons']
    assert [p['code'] for p in problems] == ['metadata_unreachable']
    assert info['result'] == 'metadata_unreachable'


def test_tail_cap(tmp_path):
    p = tmp_path / 'console.log'
    with open(fix('chapter_cirros_no_lease.log'), 'rb') as f:
        chapter = f.read()
    p.write_bytes(b'x' * 5000 + b'\n' + chapter)
    info, problems = c.analyse_file(str(p), max_bytes=len(chapter) + 10)
    assert info['truncated'] is True and info['result'] == 'dhcp_no_lease'
    assert info['dhcp_runs'][0]['start_line'] == 1


def test_metadata_recovered_is_not_a_problem():
    text = ('udhcpc (v1.20.1) started\nSending discover...\nSending select for 10.0.0.3...\n'
            'Lease of 10.0.0.3 obtained, lease time 86400\n'
            'cirros-ds \'net\' up at 0.94\nchecking http://169.254.169.254/2009-04-04/instance-id\n'
            'failed 1/20: up 0.95. request failed\n'
            'successful after 2/20 tries: up 1.96. iid=i-0000000a\n')
    res = c.analyse_console(text)
    assert res['result'] == 'ok' and res['lease']['address'] == '10.0.0.3' and res['problems'] == []
    assert res['metadata']['failures'] == 1 and res['metadata']['status'] == 'ok' and res['metadata']['last_ok_line'] == 8
    # the same failure as the last word is a problem
    res = c.analyse_console(text.replace('successful after 2/20 tries: up 1.96. iid=i-0000000a\n', ''))
    assert [p['code'] for p in res['problems']] == ['metadata_unreachable'] and res['metadata']['reasons'] == ['failed']


def test_bad_input(tmp_path):
    with pytest.raises(c.ConsoleError, match='cannot read console log'):
        c.analyse_file(str(tmp_path / 'missing.log'))
    with pytest.raises(c.ConsoleError, match='is a directory'):
        c.analyse_file(str(tmp_path))
    b = tmp_path / 'b.log'
    b.write_bytes(b'\0' * 4096)
    with pytest.raises(c.ConsoleError, match='binary'):
        c.analyse_file(str(b))
    u = tmp_path / 'u.log'
    u.write_bytes(b'\xff\xfe Sending discover...\nNo lease, failing\n')
    info, problems = c.analyse_file(str(u))
    assert info['result'] == 'dhcp_no_lease'
    with pytest.raises(c.ConsoleError, match='invalid instance uuid'):
        c.console_log_path('/var/lib/nova/instances', '../../etc')


def test_lab_cirros_boot_with_lease_and_metadata():
    info, problems = c.analyse_file(fix('lab_cirros_lease_metadata_ok.log'))
    assert info['result'] == 'ok' and problems == []
    assert info['lease']['address'] == '10.0.2.24' and info['dhcp_runs'][0]['version'] == '1.35.0'
    assert info['metadata']['status'] == 'ok' and info['metadata']['attempts'] == 1


def test_name_resolution_timeout_from_real_tools():
    # busybox nslookup/ping/wget, iputils ping, curl and GNU wget while the upstream DNS server was stopped
    info, problems = c.analyse_file(fix('guest_name_resolution_timeout.log'))
    dns = info['name_resolution']
    assert dns['status'] == 'failed'
    assert dns['names'] == ['www.example.org', 'mirror.example.org']
    # one per tool line: nslookup, iputils ping, busybox ping, busybox wget, curl, GNU wget (Resolving + unable)
    assert dns['failures'] == 7
    assert dns['reasons'] == ['timeout', 'not_found']
    assert [p['code'] for p in problems] == ['name_resolution_failed']
    assert problems[0]['object'] == 'www.example.org, mirror.example.org'
    assert problems[0]['evidence'][-1] == "15: wget: unable to resolve host address 'mirror.example.org'"
    assert info['result'] == 'name_resolution_failed'


def test_gnu_wget_quotes_of_a_utf8_locale():
    # the same GNU wget 1.21 run under LANG=C.UTF-8 quotes the name with U+2018/U+2019 (escaped here: the
    # repository's text files are ASCII-quoted)
    res = c.analyse_console('Resolving mirror.example.org (mirror.example.org)... failed: Temporary failure in name resolution.\n'
                            'wget: unable to resolve host address \u2018mirror.example.org\u2019\n')
    assert (res['name_resolution']['names'], res['name_resolution']['failures']) == (['mirror.example.org'], 2)


def test_name_resolution_python_gaierror_has_no_name():
    info, problems = c.analyse_file(fix('python_name_resolution_timeout.log'))
    dns = info['name_resolution']
    assert (dns['status'], dns['failures'], dns['names'], dns['reasons']) == ('failed', 2, [], ['timeout'])
    assert problems[0]['object'] == 'resolver'


def test_nxdomain_alone_is_not_a_resolver_failure():
    text = open(fix('guest_name_nxdomain.log'), encoding='utf-8').read()
    nslookup_only = '\n'.join(text.splitlines()[:6])
    res = c.analyse_console(nslookup_only)
    assert res['name_resolution']['status'] == 'nxdomain' and res['name_resolution']['names'] == ['nosuch.example.org']
    assert res['problems'] == []
    # ping and curl cannot tell NXDOMAIN from an unreachable resolver: that is a failure worth a DNS triage
    res = c.analyse_console(text)
    assert res['name_resolution']['status'] == 'failed'
    assert res['name_resolution']['reasons'] == ['nxdomain', 'not_found']
    assert res['name_resolution']['names'] == ['nosuch.example.org']


def test_healthy_logs_have_no_name_resolution_finding():
    for name in sorted(os.listdir(FIX)):
        if name.endswith('.log') and 'name' not in name and 'dns' not in name:
            info, problems = c.analyse_file(fix(name))
            assert info['name_resolution']['status'] == 'unknown', name
            assert 'name_resolution_failed' not in [p['code'] for p in problems], name


def test_nameless_timeout_takes_the_name_of_the_traced_command():
    info, problems = c.analyse_file(fix('lab_cirros_userdata_dns_timeout.log'))
    dns = info['name_resolution']
    assert (dns['status'], dns['names'], dns['reasons'], dns['failures']) == ('failed', ['www.example.org'], ['timeout'], 1)
    assert info['result'] == 'name_resolution_failed' and info['lease'] and info['metadata']['status'] == 'ok'
    assert [p['code'] for p in problems] == ['name_resolution_failed']
    assert problems[0]['evidence'] == ['17: + nslookup www.example.org 10.0.0.42', '18: ;; connection timed out; no servers could be reached']
    # the same failure far from the trace is not attributed to it
    lines = open(fix('lab_cirros_userdata_dns_timeout.log'), encoding='utf-8').read().splitlines()
    i = next(n for n, ln in enumerate(lines) if 'no servers could be reached' in ln)
    far = lines[:i] + ['filler'] * 6 + lines[i:]
    assert c.analyse_console('\n'.join(far))['name_resolution']['names'] == []


def test_hostile_long_lines_are_not_name_resolution_failures():
    # patterns with an unbounded gap (``host='x'.*reason``) went quadratic on such lines; the gaps are bounded now
    # and a line is matched on its first LINE_CAP characters
    res = c.analyse_console("host='a' " * 25000 + '\n' + 'Resolving x (' * 20000 + '\n' + 'gaierror ' * 25000)
    assert res['name_resolution']['failures'] == 0 and res['problems'] == []
    far = 'x' * c.LINE_CAP + ' curl: (6) Could not resolve host: far.example'
    assert c.analyse_console(far)['name_resolution']['failures'] == 0
    near = 'x' * 100 + ' curl: (6) Could not resolve host: near.example'
    assert c.analyse_console(near)['name_resolution']['names'] == ['near.example']


def test_hostile_metadata_lines_are_capped():
    # `wget: .*169.254.169.254.*` runs on lines that mention metadata: a long line is cut at LINE_CAP first
    res = c.analyse_console('metadata ' + 'wget: ' * 150000)
    assert res['metadata']['failures'] == 0 and res['result'] == 'no_dhcp_seen'
