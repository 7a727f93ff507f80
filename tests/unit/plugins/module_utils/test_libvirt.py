# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_libvirt on hand-written nova domain XML (qemu/, broken/; shapes from nova's libvirt driver) and on real virsh
output of libvirt's test driver (testdriver/, made by testdriver/capture.sh)."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _libvirt as lv

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'libvirt')


def test_nova_network_era_domain():
    dom = lv.read_domain_file(os.path.join(FIX, 'qemu', 'instance-0000000a.xml'))
    assert (dom['name'], dom['uuid'], dom['instance_uuid'], dom['display_name']) == (
        'instance-0000000a', '0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11', '0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11', 'test')
    assert dom['nova']['flavor'] == {'name': 'm1.tiny', 'id': None, 'memory': 512, 'disk': 1, 'swap': 0,
                                     'ephemeral': 0, 'vcpus': 1}
    assert dom['nova']['owner']['project'] == 'demo'
    (iface,) = dom['interfaces']
    assert (iface['type'], iface['mac'], iface['target_dev'], iface['source_bridge'], iface['model']) == (
        'bridge', 'fa:16:3e:56:0b:6f', 'vnet0', 'br100', 'virtio')
    assert iface['filter_parameters'] == {'IP': '192.168.100.3', 'DHCPSERVER': '192.168.100.1'}
    assert dom['console_log'] == '/var/lib/nova/instances/0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11/console.log'


def test_newer_domain_ports_mtu_log_file_network_iface():
    dom = lv.read_domain_file(os.path.join(FIX, 'qemu', 'instance-0000000b.xml'))
    assert dom['id'] == 7 and dom['nova']['namespace'].endswith('/1.1')
    assert dom['nova']['ports'][0]['ips'][0]['address'] == '10.0.2.24'
    a, b = dom['interfaces']
    assert a['mac'] == 'fa:16:3e:12:34:56' and a['mtu'] == 1450 and a['target_dev'] == 'tap12345678-9a'
    assert b['type'] == 'network' and b['source_network'] == 'default' and b['link_state'] == 'down'
    assert dom['console_log'].endswith('7d1c6f2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f/console.log')


def test_directory_mode_skips_and_reports_bad_files(tmp_path):
    for fn in os.listdir(os.path.join(FIX, 'qemu')):
        shutil.copy(os.path.join(FIX, 'qemu', fn), str(tmp_path / fn))
    shutil.copy(os.path.join(FIX, 'broken', 'instance-0000000c.xml'), str(tmp_path / 'instance-0000000c.xml'))
    (tmp_path / 'other.xml').write_text('<network/>')
    domains, errors = lv.read_domain_dir(str(tmp_path))
    assert [d['name'] for d in domains] == ['instance-0000000a', 'instance-0000000b']
    assert len(errors) == 1 and errors[0]['path'].endswith('instance-0000000c.xml')
    assert 'not well-formed' in errors[0]['error']
    probs = lv.domain_problems(domains, errors)
    assert [p['code'] for p in probs] == ['libvirt_xml_invalid']


def test_filters():
    domains, _errors = lv.read_domain_dir(os.path.join(FIX, 'qemu'))
    assert [d['name'] for d in lv.filter_domains(domains, macs=['FA:16:3E:56:0B:6F'])] == ['instance-0000000a']
    assert [d['name'] for d in lv.filter_domains(domains, uuids=['7D1C6F2E-3B4A-4C5D-8E9F-0A1B2C3D4E5F'])] == ['instance-0000000b']
    assert [d['name'] for d in lv.select_domains(domains, ['web-1'])[0]] == ['instance-0000000b']
    assert lv.filter_domains(domains, macs=['00:00:00:00:00:01']) == []


def test_duplicate_mac_problem():
    dom = lv.read_domain_file(os.path.join(FIX, 'qemu', 'instance-0000000a.xml'))
    twin = dict(dom, name='instance-0000000d')
    probs = lv.domain_problems([dom, twin], [])
    assert [(p['code'], p['object']) for p in probs] == [('libvirt_duplicate_mac', 'fa:16:3e:56:0b:6f')]


def test_hostile_and_garbage_xml(tmp_path):
    with pytest.raises(lv.LibvirtError, match='DOCTYPE or ENTITY'):
        lv.read_domain_file(os.path.join(FIX, 'billion_laughs.xml'))
    with pytest.raises(lv.LibvirtError, match='instance-0000000c.xml is not well-formed'):
        lv.read_domain_file(os.path.join(FIX, 'broken', 'instance-0000000c.xml'))
    with pytest.raises(lv.LibvirtError, match='not a libvirt domain'):
        lv.parse_domain_xml('<network><name>default</name></network>', 'net.xml')
    with pytest.raises(lv.LibvirtError, match='not UTF-8'):
        lv.parse_domain_xml(b'<domain>\xff</domain>', 'x.xml')
    with pytest.raises(lv.LibvirtError, match='does not exist'):
        lv.read_domain_dir(str(tmp_path / 'nope'))
    with pytest.raises(lv.LibvirtError, match='cannot read'):
        lv.read_domain_file(str(tmp_path / 'nope.xml'))


# --- virsh output captured from the real virsh 9.0.0 and libvirt's test driver (testdriver/capture.sh) ---

TD = os.path.join(FIX, 'testdriver')


def _read(name):
    with open(os.path.join(TD, name), encoding='utf-8') as f:
        return f.read()


def test_virsh_dumpxml_of_a_running_domain():
    dom = lv.parse_domain_xml(_read('virsh_dumpxml_instance-0000002a.xml'), 'virsh dumpxml instance-0000002a')
    assert (dom['name'], dom['id'], dom['type'], dom['display_name']) == ('instance-0000002a', 1, 'test', 'ledger-db')
    # the test driver named the taps (node.xml says vnet17 for the first and nothing for the second)
    assert [(i['mac'], i['target_dev'], i['source_bridge']) for i in dom['interfaces']] == [
        ('fa:16:3e:7c:2a:01', 'testnet0', 'brq-7'), ('fa:16:3e:7c:2a:02', 'testnet1', 'brq-7')]
    # libvirt mirrors the file serial as a console: both listed, the log path once
    assert [(c['device'], c['type']) for c in dom['consoles']] == [('serial', 'file'), ('console', 'file')]
    assert dom['console_log'] == '/srv/nova-x/instances/3c9e51b2-7d40-4f8a-b6e1-2a0f5c7d9e13/console.log'


def test_virsh_dumpxml_of_a_shut_off_domain():
    dom = lv.parse_domain_xml(_read('virsh_dumpxml_instance-0000002c.xml'))
    assert dom['id'] is None and dom['display_name'] == 'web-7' and dom['nova']['flavor']['memory'] == 512


def test_virsh_list_names():
    assert lv.parse_virsh_names(_read('virsh_list_all_name.txt')) == [
        'instance-0000002a', 'instance-0000002b', '--scratch vm', 'instance-0000002c']
    assert lv.parse_virsh_names('') == [] and lv.parse_virsh_names('\n\n') == []


@pytest.mark.parametrize('fixture,msg', [
    ('virsh_err_no_domain.txt', "failed to get domain 'instance-00000099'"),
    ('virsh_err_qemu_no_daemon.txt',
     "failed to connect to the hypervisor; Failed to connect socket to '/var/run/libvirt/libvirt-sock-ro': No such file or directory"),
    ('virsh_err_test_uri_missing_file.txt',
     'I/O warning : failed to load external entity "/nonexistent/node.xml"; failed to connect to the hypervisor; '
     "XML error: failed to parse xml document '/nonexistent/node.xml'"),
])
def test_virsh_error_is_one_line(fixture, msg):
    assert lv.virsh_error(_read(fixture)) == msg


def test_virsh_error_edges():
    assert lv.virsh_error('') == 'no error message'
    assert lv.virsh_error('error: x\nerror: x\n') == 'x'
    long = lv.virsh_error('error: ' + 'y' * 1000, limit=50)
    assert len(long) == 50 and long.endswith('...')


def test_check_domain_names():
    assert lv.check_domain_names(['instance-0000002a', '--scratch vm', 'a; b']) is None
    assert lv.check_domain_names([]) is None and lv.check_domain_names(None) is None
    assert lv.check_domain_names(['ok', '']) == 'empty domain name in name'
    assert lv.check_domain_names([' \t']) == 'empty domain name in name'
    assert 'control character' in lv.check_domain_names(['a\nb'])
    assert lv.check_domain_names(['a\x00b']) == "domain name 'a\\x00b' contains a control character; no libvirt domain can have it"


def test_select_domains_by_name_then_display_name():
    doms = [{'name': 'instance-1', 'display_name': 'web'}, {'name': 'instance-2', 'display_name': 'web'},
            {'name': 'web', 'display_name': 'db'}, {'name': 'instance-3', 'display_name': None}]
    sel, missing = lv.select_domains(doms, ['web', 'db', 'instance-3', 'nope', 'instance-3'])
    # 'web' is a libvirt name: that domain only, not the two whose display name is web
    assert [d['name'] for d in sel] == ['web', 'instance-3'] and missing == ['nope']
    sel, missing = lv.select_domains(doms[:2] + doms[3:], ['web'])
    assert [d['name'] for d in sel] == ['instance-1', 'instance-2'] and missing == []
