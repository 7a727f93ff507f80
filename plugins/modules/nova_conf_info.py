#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: nova_conf_info
short_description: The nova-network settings of nova.conf
version_added: 0.1.0
description:
  - Parses nova.conf the way oslo.config does (sections, C(key = value) with C(=) or a colon,
    full-line C(#) and C(;) comments, continuation lines, repeated keys, quotes) and returns the settings
    that shape nova-network - network_manager (with its short name V(FlatDHCPManager), V(VlanManager),
    V(FlatManager)), flat_interface, flat_network_bridge, vlan_interface, vlan_start, public_interface,
    multi_host, dhcp_domain, dnsmasq_config_file, fixed_range, routing_source_ip, force_dhcp_release,
    dhcpbridge, my_ip, metadata_host and more - with booleans and integers converted like oslo.
  - C($name) references inside those values are expanded from C([DEFAULT]).
  - Every other key is kept under RV(nova_conf.other), by section; values of keys that look like secrets
    (passwords, connection URLs, tokens) are replaced unless O(hide_secrets=false).
  - Essex-era flag files (C(--network_manager=...) lines) are read too.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  path:
    description:
      - nova.conf to read.
    type: path
    default: /etc/nova/nova.conf
  hide_secrets:
    description:
      - Replace the values of secret-looking keys in RV(nova_conf.other) by V(VALUE_REDACTED).
    type: bool
    default: true
seealso:
  - module: cloudops.netdiag.dnsmasq_info
'''

EXAMPLES = r'''
- name: Network settings of the compute node
  cloudops.netdiag.nova_conf_info:
  register: nc

- name: Which bridge and NIC carry the instances?
  ansible.builtin.debug:
    msg: >-
      {{ nc.nova_conf.network.network_manager_short }} bridge {{ nc.nova_conf.network.flat_network_bridge }}
      on {{ nc.nova_conf.network.flat_interface }}
'''

RETURN = r'''
nova_conf:
  description: The parsed file.
  returned: always
  type: dict
  contains:
    path:
      description: File read.
      type: str
      returned: always
      sample: /etc/nova/nova.conf
    sections:
      description: Section names in file order (any case of C(DEFAULT) reported as V(DEFAULT)).
      type: list
      elements: str
      returned: always
      sample: [DEFAULT, keystone_authtoken]
    network:
      description: >-
        nova-network settings from C([DEFAULT]), V(null) when not set, plus C(network_manager_short)
        and C(effective) (networks_path, instances_path, dhcp_domain, public_interface, multi_host
        with nova's defaults applied).
      type: dict
      returned: always
      sample: {network_manager: nova.network.manager.FlatDHCPManager, network_manager_short: FlatDHCPManager,
               flat_network_bridge: br100, flat_interface: eth1, public_interface: eth0, multi_host: true,
               force_dhcp_release: true, vlan_start: null, my_ip: 10.0.0.42,
               effective: {networks_path: /var/lib/nova/networks, instances_path: /var/lib/nova/instances,
                           dhcp_domain: novalocal, public_interface: eth0, multi_host: true}}
    other:
      description: All other keys by section; a key given several times has a list of values.
      type: dict
      returned: always
      sample: {DEFAULT: {enabled_apis: 'ec2,osapi_compute,metadata', sql_connection: VALUE_REDACTED}}
    repeated_keys:
      description: Keys given more than once, by section.
      type: dict
      returned: always
      sample: {DEFAULT: [osapi_compute_extension]}
problems:
  description: Values that oslo would reject (V(nova_conf_invalid_value)), with code, message and object.
  returned: always
  type: list
  elements: dict
  sample: [{code: nova_conf_invalid_value, object: /etc/nova/nova.conf,
            message: "/etc/nova/nova.conf: force_dhcp_release = 'perhaps' is not a boolean"}]
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'nova_conf_info')


if __name__ == '__main__':
    main()
