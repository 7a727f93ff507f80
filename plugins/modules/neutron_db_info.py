#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_db_info
short_description: An instance's Neutron ports, bindings, addresses, security groups and floating IPs, and an audit of the Neutron DB
version_added: 0.2.0
description:
  - Reads the Neutron database over PyMySQL, read-only (only C(SELECT)).
  - Given O(device_id) (an instance's uuid, or several), O(port_id) or O(address) (a fixed or a floating IP), returns each port
    with its network (MTU, segments with their type and segmentation id), fixed IPs with their subnets, ML2 binding
    (host, C(vif_type), C(vif_details)) and binding levels, security groups with their rules, and the floating IPs
    that point at it.
  - With O(audit=true), checks the whole database - ports whose binding failed (C(vif_type=binding_failed)), ports
    of instances that are unbound or DOWN, floating IPs associated with a port no device uses any more or in ERROR.
  - With O(ovn_nb_db) as well, compares Neutron with OVN's northbound DB the way C(neutron-ovn-db-sync-util) does in
    its log mode - networks without their logical switch C(neutron-<id>) and the reverse, ports without their
    logical switch port and the reverse, ports on the wrong switch, MAC and fixed IPs that differ, ports on a DHCP
    subnet without DHCPv4 options, associated floating IPs without their C(dnat_and_snat) entry, and security groups
    against their port groups C(pg_<id>) (a group without its port group, a rule without its ACL, a port of the group
    outside its port group, and the reverse - ACLs of rules and port groups of groups Neutron does not have).
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.nova_db
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  login_db:
    description:
      - Name of the Neutron database.
    type: str
    default: neutron
  device_id:
    description:
      - The ports of these devices (instances' uuids), one or a list; a device without a port is a C(no_port)
        problem. One look-up for several instances costs one connection and one set of queries.
    type: list
    elements: str
  port_id:
    description:
      - This port.
    type: str
  address:
    description:
      - The port holding this fixed IP, or the port this floating IP is associated with.
    type: str
  audit:
    description:
      - Audit the whole database (see the description).
    type: bool
    default: false
  ovn_nb_db:
    description:
      - OVN's northbound DB (C(unix:PATH) or C(tcp:HOST:PORT)) to compare with, in the audit.
    type: str
seealso:
  - module: cloudops.netdiag.ovn_info
  - module: cloudops.netdiag.nova_network_info
'''

EXAMPLES = r'''
- name: The ports of an instance
  cloudops.netdiag.neutron_db_info:
    login_host: 192.0.2.10
    login_user: netdiag
    login_password: "{{ vault_neutron_db_password }}"
    device_id: 91d3402e-40d0-5c83-b9ab-3c10cc7bb66d
  register: neutron

- name: Neutron against OVN
  cloudops.netdiag.neutron_db_info:
    config_file: /etc/netdiag/neutron-db.cnf
    audit: true
    ovn_nb_db: tcp:192.0.2.10:6641
'''

RETURN = r'''
ports:
  description:
    - The selected ports, each with C(id), C(name), C(mac_address), C(status), C(admin_state_up), C(device_id),
      C(device_owner), C(project_id), C(network) (C(id), C(name), C(status), C(mtu), C(segments), C(dhcp_agents),
      C(metadata_ports) and C(routers)), C(fixed_ips) (C(ip_address), C(subnet) with C(cidr), C(gateway_ip), C(enable_dhcp)), C(binding)
      (C(host), C(vif_type), C(vnic_type), C(status), C(vif_details), C(profile), C(agents)), C(binding_levels),
      C(security_groups) (C(id), C(name), C(rules)) and C(floating_ips) (C(floating_ip_address), C(router_id),
      C(status), C(router)).
    - C(network.dhcp_agents) the DHCP agents hosting the network and C(network.routers) the routers with an interface
      on it (C(id), C(name), C(status), C(gateway_ip), C(gateway_network_id), C(gateway_host) - the host its gateway
      port is bound to, the L3 agent's or on OVN the gateway chassis' -, C(interface) with C(port_id), C(ip_address),
      C(mac_address), and C(l3_agents)); C(binding.agents) the agents of the binding host. The agent lists are empty on
      OVN, which has no such agents. Each agent has C(id), C(host), C(agent_type), C(admin_state_up) and
      C(heartbeat_timestamp) (the DB's time; compare it with the server's C(agent_down_time)), the L2 agents also
      C(binary) and C(configurations) (bridge mappings, tunnel types, tunnelling IP, firewall driver).
    - C(network.metadata_ports) the network's OVN metadata ports (device_owner C(network:distributed), or C(network:dhcp)
      with device_id C(ovnmeta-<network id>) before Victoria), each with C(id), C(mac_address), C(device_id),
      C(device_owner), C(status) and C(ip_addresses); neutron-ovn-metadata-agent serves them in C(ovnmeta-<network id>)
      on every chassis with a port of the network. Empty on the agent-based backends.
  returned: when a port was selected
  type: list
  elements: dict
audit:
  description:
    - With O(audit), the findings, each with C(code) (C(binding_failed), C(port_unbound), C(port_down),
      C(floating_ip_stale), C(floating_ip_error), and with O(ovn_nb_db) C(network_missing_in_ovn),
      C(network_missing_in_neutron), C(port_missing_in_ovn), C(port_missing_in_neutron), C(port_on_wrong_switch),
      C(address_mismatch), C(dhcp_options_missing), C(floating_ip_nat_missing), C(floating_ip_nat_mismatch),
      C(security_group_missing_in_ovn), C(sg_rule_missing_in_ovn), C(port_missing_in_port_group),
      C(port_group_missing_in_neutron), C(sg_acl_missing_in_neutron)), C(object), C(message) and C(severity);
      C(floating_ip_stale) also has C(port_id), C(network_id) (the network of the port it is associated with),
      C(router_id) and C(fixed_ip_address); the security group findings of a rule or a port also have
      C(security_group_id).
  returned: with O(audit)
  type: list
  elements: dict
problems:
  description: The audit's findings as C(code), C(object), C(message); a selection that matched no port is one too.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudops.netdiag.plugins.module_utils import _novadb as novadb
from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule


def run(module):
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _neutrondb
    p = module.params
    result = {'changed': False, 'problems': []}
    nb = None
    if p['ovn_nb_db']:
        from ansible_collections.cloudops.netdiag.plugins.module_utils._ovn import OvnError, read_nb
        try:
            nb = read_nb(p['ovn_nb_db'])
        except OvnError as exc:
            raise novadb.NovaDBError('cannot read the OVN northbound database: %s' % exc, code='ovn_unreachable')
    conn = novadb.connect(p, service='neutron')
    try:
        if p['device_id'] or p['port_id'] or p['address']:
            result['ports'] = _neutrondb.ports(conn, device_id=p['device_id'], port_id=p['port_id'], address=p['address'], params=p)
            if p['device_id']:
                have = {x['device_id'] for x in result['ports']}
                result['problems'].extend({'code': 'no_port', 'object': d, 'message': 'no port of device %s in the Neutron DB' % d}
                                          for d in p['device_id'] if d not in have)
            elif not result['ports']:
                what = 'port %s' % p['port_id'] if p['port_id'] else 'address %s' % p['address']
                result['problems'].append({'code': 'no_port', 'object': p['port_id'] or p['address'],
                                           'message': 'no port of %s in the Neutron DB' % what})
        if p['audit']:
            result['audit'] = _neutrondb.audit(conn, ovn_nb=nb, params=p)
            result['problems'].extend({'code': f['code'], 'object': f['object'], 'message': f['message']} for f in result['audit'])
        conn.rollback()
    finally:
        novadb.close_quietly(conn)
    return result


def main():
    spec = novadb.connection_argument_spec()
    spec['login_db'] = dict(type='str', default='neutron')
    module = NetdiagModule(
        argument_spec=dict(spec, device_id=dict(type='list', elements='str'), port_id=dict(type='str'), address=dict(type='str'),
                           audit=dict(type='bool', default=False), ovn_nb_db=dict(type='str')),
        mutually_exclusive=[('device_id', 'port_id', 'address')],
        supports_check_mode=True,
    )
    p = module.params
    if not (p['device_id'] or p['port_id'] or p['address'] or p['audit']):
        module.fail_json(msg='nothing to do: give device_id, port_id, address or audit=true')
    if p['ovn_nb_db'] and not p['audit']:
        module.fail_json(msg='ovn_nb_db is compared in the audit: set audit=true')
    if not novadb.HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib('PyMySQL'), exception=str(novadb.PYMYSQL_IMPORT_ERROR))
    try:
        result = run(module)
    except novadb.NovaDBError as exc:
        module.fail_json(msg=str(exc), error_code=exc.code)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
