# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_libvirt on hand-written nova domain XML (no libvirt on this machine; shapes from nova's libvirt driver)."""

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
    assert [d['name'] for d in lv.filter_domains(domains, names=['web-1'])] == ['instance-0000000b']
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
