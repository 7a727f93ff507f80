# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_novaconf: oslo.config INI rules on hand-written nova.conf files (the chapter has none)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _novaconf as n

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'novaconf')


def read(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def test_flatdhcp_multihost():
    conf, problems = n.analyse(read('flatdhcp_multihost.conf'), 'nova.conf')
    net = conf['network']
    assert net['network_manager_short'] == 'FlatDHCPManager'
    assert (net['flat_network_bridge'], net['flat_interface'], net['public_interface']) == ('br100', 'eth1', 'eth0')
    assert net['multi_host'] is True and net['force_dhcp_release'] is True and net['send_arp_for_ha'] is True
    assert net['routing_source_ip'] == '10.0.0.42' and net['metadata_host'] == '10.0.0.42'  # $my_ip expanded
    assert net['dnsmasq_config_file'] == '' and net['vlan_interface'] is None
    assert net['effective']['networks_path'] == '/var/lib/nova/networks'
    assert conf['repeated_keys'] == {'DEFAULT': ['osapi_compute_extension']}
    assert conf['other']['DEFAULT']['osapi_compute_extension'][1].endswith('Select_extensions')
    assert conf['other']['DEFAULT']['sql_connection'] == n.REDACTED
    assert conf['other']['keystone_authtoken']['admin_password'] == n.REDACTED
    assert conf['other']['keystone_authtoken']['signing_dir'] == '/var/lib/nova/keystone-signing'
    assert conf['sections'] == ['DEFAULT', 'keystone_authtoken'] and problems == []


def test_secrets_kept_when_asked():
    conf, _errors = n.analyse(read('flatdhcp_multihost.conf'), hide_secrets=False)
    assert conf['other']['DEFAULT']['sql_connection'] == 'mysql://nova:secret@192.0.2.10/nova'


def test_flagfile():
    conf, problems = n.analyse(read('vlan_flagfile.conf'))
    net = conf['network']
    assert net['network_manager_short'] == 'VlanManager' and net['vlan_start'] == 100
    assert net['multi_host'] is False and net['force_dhcp_release'] is True and problems == []


def test_lowercase_default_short_manager_bad_bool():
    conf, problems = n.analyse(read('vlan_lowercase_default.conf'), 'x.conf')
    assert conf['sections'] == ['DEFAULT']
    net = conf['network']
    assert net['network_manager_short'] == 'VlanManager' and net['vlan_interface'] == 'bond0' and net['vlan_start'] == 1000
    assert net['multi_host'] is False and net['force_dhcp_release'] is None
    assert [p['code'] for p in problems] == ['nova_conf_invalid_value'] and 'perhaps' in problems[0]['message']


@pytest.mark.parametrize('value,expected', [('True', True), ('yes', True), ('ON', True), ('1', True),
                                            ('false', False), ('No', False), ('off', False), ('0', False),
                                            ('maybe', None), ('', None)])
def test_bool(value, expected):
    assert n.parse_bool(value) is expected


def test_last_value_wins_and_quotes():
    conf, _errors = n.analyse('[DEFAULT]\nflat_interface = eth1\nflat_interface = "eth2"\n')
    assert conf['network']['flat_interface'] == 'eth2'
    assert conf['repeated_keys'] == {'DEFAULT': ['flat_interface']}


@pytest.mark.parametrize('text,match', [('[DEFAULT]\njust words\n', 'line 2'),
                                        ('flat_interface = eth1\n', 'before any'),
                                        ('[DEFAULT\nx=1\n', 'line 1')])
def test_errors_name_the_line(text, match):
    with pytest.raises(n.NovaConfError, match=match):
        n.analyse(text, 'nova.conf')
