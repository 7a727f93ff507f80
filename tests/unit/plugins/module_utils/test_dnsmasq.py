# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_dnsmasq on the chapter's ps/syslog samples and on real dnsmasq 2.90 output (see fixtures/dnsmasq/README.md)."""

from __future__ import annotations

import datetime
import os
import shutil

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _dnsmasq as d

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'dnsmasq')


def fix(name):
    return os.path.join(FIX, name)


def read(name):
    with open(fix(name), encoding='utf-8') as f:
        return f.read()


# ----------------------------------------------------------------- argv / ps aux

def test_chapter_ps_aux_after_restart():
    procs = d.parse_ps_aux(read('chapter_ps_aux_after_restart.txt'))
    assert [(p['pid'], p['user']) for p in procs] == [(3735, 'nobody'), (3736, 'root')]
    a = procs[0]['args']
    assert a['binary'] == '/usr/sbin/dnsmasq'
    assert a['dhcp_ranges'][0]['set_tags'] == ["'novanetwork'"]
    assert a['dhcp_ranges'][0]['start'] == '192.168.100.2'
    assert a['dhcp_ranges'][0]['end'] is None
    assert a['dhcp_ranges'][0]['mode'] == 'static'
    assert a['dhcp_ranges'][0]['lease_seconds'] == 120
    assert a['pid_file'] == '/var/lib/nova/networks/nova-br100.pid'
    assert a['hostsfile'] == '/var/lib/nova/networks/nova-br100.conf'
    assert a['listen_addresses'] == ['192.168.100.1']
    assert a['except_interfaces'] == ['lo']
    assert a['domain'] == 'novalocal'
    assert a['conf_files'] == ['']
    assert a['dhcp_lease_max'] == 256
    assert a['dhcp_script'] == '/usr/bin/nova-dhcpbridge'
    assert a['leasefile_ro'] is True and a['bind_interfaces'] is True
    assert a['unknown_options'] == []


def test_chapter_ps_aux_with_libvirt_default_network():
    procs = d.parse_ps_aux(read('chapter_ps_aux_with_libvirt.txt'))
    assert [p['pid'] for p in procs] == [1695, 2438, 2439]
    lv = procs[0]['args']
    # "-u libvirt-dnsmasq", "--except-interface lo", "--listen-address 192.168.122.1": the --opt value form
    assert lv['user'] == 'libvirt-dnsmasq'
    assert lv['except_interfaces'] == ['lo']
    assert lv['listen_addresses'] == ['192.168.122.1']
    assert lv['dhcp_ranges'][0]['start'] == '192.168.122.2'
    assert lv['dhcp_ranges'][0]['end'] == '192.168.122.254'
    assert lv['dhcp_ranges'][0]['set_tags'] == [] and lv['dhcp_ranges'][0]['lease_time'] is None
    assert lv['leasefile'] == '/var/lib/libvirt/dnsmasq/default.leases'
    assert lv['leasefile_ro'] is False
    assert lv['pid_file'] == '/var/run/libvirt/network/default.pid'
    assert lv['dhcp_lease_max'] == 253
    assert {'name': 'dhcp-no-override', 'value': True} in lv['options']
    assert procs[1]['args']['pid_file'] == procs[2]['args']['pid_file']


def test_real_proc_cmdline():
    with open(fix('proc_cmdline_nova.bin'), 'rb') as f:
        argv = f.read().decode().split('\0')[:-1]
    a = d.parse_argv(argv)
    assert a['binary'] == 'dnsmasq'
    assert a['conf_files'] == ['']
    assert a['user'] == 'nobody'
    assert a['dhcp_ranges'][0]['raw'] == "set:'novanetwork',192.168.100.2,static,120s"
    assert a['unknown_options'] == []


def test_short_options_clusters_and_attached_values():
    a = d.parse_argv(['dnsmasq', '-kz', '-uuser1', '-i', 'br100', '-F', '10.0.0.2,10.0.0.254,255.255.255.0,12h',
                      '-x/run/x.pid', '-a', '10.0.0.1,10.0.1.1', '-S', '8.8.8.8', '--server=/example/192.0.2.1'])
    assert a['user'] == 'user1'
    assert a['interfaces'] == ['br100']
    assert a['pid_file'] == '/run/x.pid'
    assert a['listen_addresses'] == ['10.0.0.1', '10.0.1.1']
    assert a['servers'] == ['8.8.8.8', '/example/192.0.2.1']
    assert a['bind_interfaces'] is True
    r = a['dhcp_ranges'][0]
    assert (r['start'], r['end'], r['netmask'], r['lease_seconds']) == ('10.0.0.2', '10.0.0.254', '255.255.255.0', 43200)


def test_env_prefix_and_unknown_options():
    a = d.parse_argv(['env', 'CONFIG_FILE=["/etc/nova/nova.conf"]', 'NETWORK_ID=1', 'dnsmasq', '--future-thing',
                      '--dhcp-range=tag:a,set:b,192.0.2.10,192.0.2.20,infinite'])
    assert a['env'] == {'CONFIG_FILE': '["/etc/nova/nova.conf"]', 'NETWORK_ID': '1'}
    assert a['binary'] == 'dnsmasq' and a['unknown_options'] == ['future-thing']
    r = a['dhcp_ranges'][0]
    assert r['tags'] == ['a'] and r['set_tags'] == ['b'] and r['lease_time'] == 'infinite' and r['lease_seconds'] is None


def test_ipv6_range_prefix_length_is_not_a_lease():
    r = d.parse_dhcp_range('::1,::400,constructor:br0,64')
    assert r['prefix_length'] == 64 and r['lease_time'] is None and r['mode'] == 'constructor:br0'
    r = d.parse_dhcp_range('::1,::400,64,12h')
    assert r['prefix_length'] == 64 and r['lease_seconds'] == 43200


# ----------------------------------------------------------------- hosts / leases

def test_nova_hosts_file():
    entries = d.parse_hosts_file(read('nova-br100.conf'))
    assert [(e['mac'], e['hostname'], e['ip']) for e in entries] == [
        ('fa:16:3e:56:0b:6f', 'test.novalocal', '192.168.100.3')]


def test_other_hosts_forms():
    e = d.parse_hosts_line('11:22:33:44:55:66,12:34:56:78:90:12,id:*,set:red,192.0.2.7,lap,45m')
    assert e['macs'] == ['11:22:33:44:55:66', '12:34:56:78:90:12']
    assert (e['client_id'], e['set_tags'], e['ip'], e['hostname'], e['lease_time']) == ('*', ['red'], '192.0.2.7', 'lap', '45m')
    e = d.parse_hosts_line('00:20:e0:3b:13:af,ignore')
    assert e['ignore'] is True and e['ip'] is None
    e = d.parse_hosts_line('fa:16:3e:aa:bb:cc,host-1.novalocal,10.0.0.5,net:NW-3')
    assert e['set_tags'] == ['NW-3'] and e['hostname'] == 'host-1.novalocal'


def test_leases():
    text = ('1732569184 fa:16:3e:56:0b:6f 192.168.100.3 test 01:fa:16:3e:56:0b:6f\n'
            '1732569000 52:54:00:ab:cd:ef 192.168.122.50 * *\n'
            'duid 00:01:00:01:2c:aa\n')
    ls = d.parse_leases(text)
    assert [(x['mac'], x['ip'], x['hostname'], x['client_id']) for x in ls] == [
        ('fa:16:3e:56:0b:6f', '192.168.100.3', 'test', '01:fa:16:3e:56:0b:6f'),
        ('52:54:00:ab:cd:ef', '192.168.122.50', None, None)]


# ----------------------------------------------------------------- the log

def test_chapter_syslog_handshake_is_complete():
    log = d.scan_log(fix('chapter_syslog_handshake.log'))
    st = log['macs']['fa:16:3e:56:0b:6f']
    assert st['result'] == 'complete'
    assert st['last_attempt'] == ['DHCPDISCOVER', 'DHCPOFFER', 'DHCPREQUEST', 'DHCPACK']
    assert st['ips'] == ['192.168.100.3'] and st['interfaces'] == ['br100'] and st['hostnames'] == ['test']
    assert st['server_pids'] == [2438] and st['last_seen'] == 'Feb 27 22:01:36'
    assert st['evidence'][0].startswith('Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100)')


def test_chapter_syslog_no_address_available():
    log = d.scan_log(fix('chapter_syslog_no_address.log'))
    assert log['macs']['fa:16:3e:78:44:84']['result'] == 'no_address_available'
    probs = d.mac_problems(log['macs'])
    assert [(p['code'], p['object']) for p in probs] == [('dhcp_no_address_available', 'fa:16:3e:78:44:84')]


def test_real_log_facility_with_log_dhcp_transaction_ids():
    log = d.scan_log(fix('logfacility_log_dhcp.log'))
    assert log['lines_scanned'] == 55 and log['events'] == 7
    assert log['macs']['fa:16:3e:56:0b:6f']['result'] == 'complete'
    assert log['macs']['fa:16:3e:78:44:84']['result'] == 'no_address_available'
    assert log['macs']['fa:16:3e:78:44:84']['counts'] == {'DHCPDISCOVER': 3}
    msgs = log['servers'][0]['messages']
    assert msgs[0].endswith('started, version 2.90 cachesize 150')
    assert msgs[-1].endswith('exiting on receipt of SIGTERM')


def test_real_nak_then_complete(tmp_path):
    log = d.scan_log(fix('logfacility_nak.log'))
    st = log['macs']['fa:16:3e:56:0b:6f']
    assert st['counts']['DHCPNAK'] == 1 and st['result'] == 'complete'
    assert 'wrong address' in st['messages']
    # the same real log cut just after the NAK: the latest attempt ends in the NAK
    lines = read('logfacility_nak.log').splitlines(True)
    cut = [i for i, line in enumerate(lines) if 'DHCPNAK' in line][0]
    p = tmp_path / 'cut.log'
    p.write_text(''.join(lines[:cut + 1]))
    assert d.scan_log(str(p))['macs']['fa:16:3e:56:0b:6f']['result'] == 'nak'


def test_offer_without_request_and_discover_only(tmp_path):
    # built from the chapter's line format: the return path loses the offers
    p = tmp_path / 'syslog'
    p.write_text('Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f \n'
                 'Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPOFFER(br100) 192.168.100.3 fa:16:3e:56:0b:6f \n'
                 'Feb 27 22:01:39 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f \n'
                 'Feb 27 22:01:39 mynode dnsmasq-dhcp[2438]: DHCPOFFER(br100) 192.168.100.3 fa:16:3e:56:0b:6f \n'
                 'Feb 27 22:01:40 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100) fa:16:3e:00:00:01 \n')
    log = d.scan_log(str(p))
    assert log['macs']['fa:16:3e:56:0b:6f']['result'] == 'offer_without_request'
    assert log['macs']['fa:16:3e:56:0b:6f']['counts'] == {'DHCPOFFER': 2, 'DHCPDISCOVER': 2}
    assert log['macs']['fa:16:3e:00:00:01']['result'] == 'discover_only'


def test_rfc3339_syslog_and_since(tmp_path):
    p = tmp_path / 'syslog'
    p.write_text('2026-11-25T20:00:01.100000+00:00 cn1 dnsmasq-dhcp[7]: DHCPDISCOVER(br100) fa:16:3e:00:00:02 no address available\n'
                 '2026-11-25T20:10:01.100000+00:00 cn1 dnsmasq-dhcp[7]: DHCPDISCOVER(br100) fa:16:3e:00:00:02\n'
                 '2026-11-25T20:10:01.200000+00:00 cn1 dnsmasq-dhcp[7]: DHCPOFFER(br100) 10.0.0.9 fa:16:3e:00:00:02\n')
    full = d.scan_log(str(p))
    assert full['macs']['fa:16:3e:00:00:02']['counts']['DHCPDISCOVER'] == 2
    recent = d.scan_log(str(p), since=d.parse_since('2026-11-25 20:05:00'))
    assert recent['stopped_at_since'] is True
    assert recent['macs']['fa:16:3e:00:00:02']['counts'] == {'DHCPOFFER': 1, 'DHCPDISCOVER': 1}
    assert recent['macs']['fa:16:3e:00:00:02']['result'] == 'offer_without_request'


def test_since_on_traditional_timestamps_uses_file_year(tmp_path):
    p = tmp_path / 'syslog'
    p.write_text(read('logfacility_plain.log'))
    ref = datetime.datetime(2026, 11, 26, 0, 0, 0)
    log = d.scan_log(str(p), since=datetime.datetime(2026, 11, 25, 20, 13, 30), ref_time=ref)
    assert list(log['macs']) == ['fa:16:3e:56:0b:6f'] and log['events'] == 4


def test_caps_read_from_the_end(tmp_path):
    src = read('logfacility_plain.log')
    p = tmp_path / 'log'
    p.write_text(src)
    last4 = d.scan_log(str(p), max_lines=4)
    assert last4['lines_scanned'] == 4 and last4['truncated'] is True
    assert list(last4['macs']) == ['fa:16:3e:56:0b:6f'] and last4['events'] == 4
    tail = src.splitlines(True)[-2:]
    few = d.scan_log(str(p), max_bytes=len(''.join(tail)) + 5)
    assert few['truncated'] is True and few['events'] == 2
    # the same result whatever the block size (lines cut across blocks)
    for chunk in (7, 64, 1000):
        small = d.scan_log(str(p), chunk_size=chunk)
        assert small['events'] == 10 and small['lines_scanned'] == 17
        assert {m: s['result'] for m, s in small['macs'].items()} == {
            'fa:16:3e:56:0b:6f': 'complete', 'fa:16:3e:78:44:84': 'no_address_available'}


def test_mac_filter_and_non_utf8(tmp_path):
    p = tmp_path / 'log'
    p.write_bytes(b'Nov 25 20:13:01 host kernel: caf\xe9 \xff\xfe junk\n' + read('chapter_syslog_handshake.log').encode()
                  + read('chapter_syslog_no_address.log').encode())
    log = d.scan_log(str(p), macs=['FA:16:3E:78:44:84'.lower()])
    assert list(log['macs']) == ['fa:16:3e:78:44:84']


def test_bad_logs(tmp_path):
    with pytest.raises(d.DnsmasqError, match='cannot read log .*missing'):
        d.scan_log(str(tmp_path / 'missing'))
    with pytest.raises(d.DnsmasqError, match='is a directory'):
        d.scan_log(str(tmp_path))
    b = tmp_path / 'bin'
    b.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(d.DnsmasqError, match='binary data'):
        d.scan_log(str(b))


# ----------------------------------------------------------------- pid files, gather

def test_pid_file_status(tmp_path):
    stale = tmp_path / 'nova-br100.pid'
    stale.write_text('999999999\n')
    assert d.pid_file_status(str(stale))['status'] == 'stale'
    me = tmp_path / 'me.pid'
    me.write_text('%d\n' % os.getpid())
    st = d.pid_file_status(str(me))
    assert st['status'] == 'not_dnsmasq' and st['pid'] == os.getpid()
    junk = tmp_path / 'junk.pid'
    junk.write_text('hello')
    assert d.pid_file_status(str(junk))['status'] == 'invalid'
    assert d.pid_file_status(str(tmp_path / 'none.pid'))['status'] == 'missing'


def test_gather_offline_stale_pid_and_never_seen(tmp_path):
    state = tmp_path / 'networks'
    state.mkdir()
    shutil.copy(fix('nova-br100.conf'), str(state / 'nova-br100.conf'))
    (state / 'nova-br100.pid').write_text('999999999\n')
    (state / 'nova-ra-br100.pid').write_text('999999998\n')
    res, problems, warnings = d.gather(state_dir=str(state), processes=[], log_path=fix('chapter_syslog_no_address.log'))
    assert [pf['path'] for pf in res['pid_files']] == [str(state / 'nova-br100.pid')]
    assert res['pid_files'][0]['status'] == 'stale' and res['pid_files'][0]['bridge'] == 'br100'
    codes = sorted((p['code'], p['object']) for p in problems)
    assert codes == [('dhcp_never_seen', 'fa:16:3e:56:0b:6f'), ('dhcp_no_address_available', 'fa:16:3e:78:44:84'),
                     ('dhcp_server_down', 'br100')]
    assert res['log']['macs']['fa:16:3e:56:0b:6f']['hosts_file'] == str(state / 'nova-br100.conf')
    assert warnings == []


def test_gather_from_ps_aux_roles_and_advice(tmp_path):
    procs = d.parse_ps_aux(read('chapter_ps_aux_with_libvirt.txt'))
    procs[2]['ppid'] = 2438
    res, problems, warnings = d.gather(state_dir=str(tmp_path / 'nope'), processes=procs,
                                       addr_map={'192.168.100.1': 'br100', '192.168.122.1': 'virbr0'}, log_path=None)
    by_pid = {p['pid']: p for p in res['processes']}
    assert by_pid[1695]['bridge'] == 'virbr0' and by_pid[1695]['bridge_source'] == 'listen-address'
    assert by_pid[2438]['bridge'] == 'br100'
    # the chapter's pid files do not exist here: both nova processes are "main" candidates
    assert by_pid[2438]['pid_file']['status'] == 'missing'
    assert by_pid[2439]['role'] == 'helper'
    adv = by_pid[2438]['restart_advice']
    assert adv['commands'] == ['kill -HUP 2438', 'kill -TERM 2438'] and 'killall' in adv['note']
    assert 'restart_advice' not in by_pid[2439]
    assert 'does not exist' in warnings[0]
    assert res['log']['status'] == 'not_requested'


def test_bridge_from_file_name_when_address_unknown():
    procs = d.parse_ps_aux(read('chapter_ps_aux_after_restart.txt'))
    res, _problems, _w = d.gather(state_dir=None, processes=procs[:1], addr_map={}, log_path=None)
    assert res['processes'][0]['bridge'] == 'br100' and res['processes'][0]['bridge_source'] == 'file-name'


def test_interfaces_by_address():
    data = [{'ifname': 'lo', 'addr_info': [{'local': '127.0.0.1'}]},
            {'ifname': 'br100', 'addr_info': [{'local': '192.168.100.1'}, {'local': 'fe80::1'}]}]
    assert d.interfaces_by_address(data) == {'127.0.0.1': 'lo', '192.168.100.1': 'br100', 'fe80::1': 'br100'}


def test_real_release_and_ignored():
    log = d.scan_log(fix('logfacility_release_ignored.log'))
    rel = log['macs']['fa:16:3e:56:0b:6f']
    assert rel['result'] == 'released' and rel['counts']['DHCPRELEASE'] == 1
    assert rel['last_attempt'] == ['DHCPDISCOVER', 'DHCPOFFER', 'DHCPREQUEST', 'DHCPACK', 'DHCPRELEASE']
    ign = log['macs']['fa:16:3e:00:00:77']
    assert ign['result'] == 'ignored' and ign['counts'] == {'DHCPDISCOVER': 2}
    assert [p['code'] for p in d.mac_problems(log['macs'])] == ['dhcp_ignored']
