#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: nova_network_info
short_description: Network facts of a nova instance and a consistency audit of the nova-network tables
version_added: 0.1.0
description:
  - Reads the nova (nova-network) database over PyMySQL, read-only.
  - Given O(instance) (uuid, hostname or display name), returns the instance row, its fixed IPs
    (network, allocated, leased, virtual interface, MAC) and the floating IPs associated with them.
    A floating IP is never tied to an instance directly, only through a fixed IP.
  - Soft-deleted rows are understood as nova writes them (C(deleted = id), C(deleted_at) set); a
    deleted instance is still found, so the floating IP a terminated instance kept can be shown.
  - With O(audit=true), checks the whole database for floating IPs still associated with a fixed IP
    of a deleted or terminated instance, floating IPs pointing at a missing or soft-deleted fixed IP,
    fixed IPs still allocated to deleted instances, and duplicate or conflicting allocations. Each
    finding lists the rows that show it.
  - With O(nat_host) and the host's NAT rules (O(iptables_save), O(iptables) or O(nat_rules)), compares the
    floating IPs the database associates with that host with the DNAT/SNAT rules present on it.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.nova_db
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  instance:
    description:
      - The instance, by uuid, C(hostname) or C(display_name) (exact match; live and deleted instances).
      - When several instances match and exactly one of them is live, that one is returned; otherwise
        RV(instance) is V(null), RV(matches) lists the candidates and RV(problems) says why.
    type: str
  peers:
    description:
      - Other instances to look up in the same connection (for example the second instance of a diagnosis), each by
        uuid, C(hostname) or C(display_name) as O(instance); see RV(peers).
    type: list
    elements: str
  audit:
    description:
      - Check the whole database for inconsistencies, see RV(audit).
    type: bool
    default: false
  nat_host:
    description:
      - The host (as in C(floating_ips.host), usually the compute node in multi-host mode) whose NAT
        rules are given in O(iptables_save), O(iptables) or O(nat_rules).
    type: str
  iptables_save:
    description:
      - Output of C(iptables-save) (at least its C(nat) table) taken on O(nat_host).
    type: str
  iptables:
    description:
      - The RV(cloudops.netdiag.iptables_info#module:iptables) result of M(cloudops.netdiag.iptables_info) run on O(nat_host).
    type: dict
  nat_rules:
    description:
      - The C(nat) table rules of O(nat_host), already parsed, each a dict with the keys C(chain),
        C(target), C(source), C(destination), C(to_destination), C(to_source) and optionally
        C(protocol), C(dport), as C(iptables-save) prints the values (V(203.0.113.30/32) and
        V(203.0.113.30) are both accepted).
      - Rules with a protocol, a port or a C(to_destination) with a port (the metadata DNAT) are port
        forwards, not floating IPs, and are ignored.
    type: list
    elements: dict
notes:
  - The database user needs C(SELECT) on C(instances), C(fixed_ips), C(floating_ips), C(networks)
    and C(virtual_interfaces).
seealso:
  - module: cloudops.netdiag.floating_ip_disassociate
'''

EXAMPLES = r'''
- name: Network facts of one instance
  cloudops.netdiag.nova_network_info:
    login_host: db.example.com
    login_user: nova_ro
    login_password: "{{ nova_ro_password }}"
    instance: web01
  register: web01

- name: Audit the whole nova database
  cloudops.netdiag.nova_network_info:
    config_file: /root/.my.cnf
    audit: true
  register: nova_audit

- name: Compare the DB with the NAT rules of compute1
  cloudops.netdiag.nova_network_info:
    config_file: /root/.my.cnf
    nat_host: compute1
    iptables_save: "{{ compute1_iptables_save.stdout }}"
  register: nat_vs_db
'''

RETURN = r'''
instance:
  description:
    - The instance found by O(instance), V(null) when none or several match (see RV(matches)).
    - Columns of C(instances) plus C(gone) (deleted or terminated), C(fixed_ips), C(floating_ips), C(virtual_interfaces).
    - Each fixed IP has C(network) (the C(networks) row), C(virtual_interface), C(mac) and C(floating_ips) (addresses).
  returned: when O(instance) is given
  type: dict
  sample:
    uuid: 5f1c2a64-2b7c-4f55-9a80-b0c1a9a0e7b1
    hostname: old-vm
    host: compute1
    vm_state: deleted
    deleted: true
    gone: true
    fixed_ips:
      - {id: 2, address: 10.0.2.24, allocated: true, leased: true, mac: "fa:16:3e:02:0e:1a", floating_ips: [203.0.113.30],
         network: {id: 1, label: private, bridge: br100, cidr: 10.0.2.0/24}}
    floating_ips:
      - {id: 2, address: 203.0.113.30, fixed_ip_id: 2, fixed_address: 10.0.2.24, host: compute1, project_id: tenant-a}
peers:
  description:
    - One entry per name of O(peers), in that order - C(name), C(instance) (as RV(instance), V(null) when none or several
      match) and C(matches) (as RV(matches)). Their problems are not in RV(problems).
  returned: when O(peers) is given
  type: list
  elements: dict
  sample: [{name: vm2, instance: {uuid: 2c4e6a80-1b3d-4f5a-9c7e-0d2f4b6a8c1e, hostname: vm2, host: compute1}, matches: []}]
matches:
  description: Every instance whose uuid, hostname or display name equals O(instance) (uuid, hostname, display_name, host, vm_state, deleted).
  returned: when O(instance) is given
  type: list
  elements: dict
  sample: [{uuid: 5f1c2a64-2b7c-4f55-9a80-b0c1a9a0e7b1, hostname: old-vm, host: compute1, vm_state: deleted, deleted: 2}]
audit:
  description:
    - C(findings), each with C(code), C(severity) (V(error) or V(warning)), C(object) (address or uuid),
      C(message), C(rows) (the rows that show it, by table) and, for the ones
      M(cloudops.netdiag.floating_ip_disassociate) repairs, C(repair) (its arguments).
    - "Codes: V(floating_ip_on_deleted_instance), V(floating_ip_on_missing_fixed_ip), V(floating_ip_on_deleted_fixed_ip),
      V(floating_ip_on_unallocated_fixed_ip), V(fixed_ip_allocated_to_deleted_instance), V(fixed_ip_vif_conflict),
      V(floating_ip_host_mismatch), V(floating_ip_project_mismatch), V(fixed_ip_multiple_floating), V(duplicate_floating_ip),
      V(duplicate_fixed_ip), V(duplicate_mac)."
    - C(summary) counts findings by severity and code, and C(rows_read) the rows read per table (only the rows that can
      matter, not whole tables, that is live floating IPs, fixed IPs naming an instance or pointed at, their instances and VIFs).
  returned: when O(audit=true)
  type: dict
  sample:
    findings:
      - code: floating_ip_on_deleted_instance
        severity: error
        object: 203.0.113.30
        message: floating IP 203.0.113.30 is still associated with fixed IP 10.0.2.24 of instance old-vm (...), which is deleted/terminated
        rows: {floating_ips: [{id: 2, address: 203.0.113.30, fixed_ip_id: 2}], fixed_ips: [{id: 2, address: 10.0.2.24}], instances: []}
        repair: {address: 203.0.113.30}
    summary: {findings: 1, errors: 1, warnings: 0, by_code: {floating_ip_on_deleted_instance: 1}}
nat_check:
  description:
    - The comparison for O(nat_host) C(host), C(findings) (codes V(association_without_dnat), V(association_without_snat),
      V(nat_target_mismatch), V(nat_without_association), each with the C(rules) seen), C(ok) (consistent floating IPs),
      C(dnat) and C(snat) (floating IP to fixed IPs found in the rules).
  returned: when O(nat_host) is given
  type: dict
  sample:
    host: compute1
    findings:
      - {code: nat_without_association, object: 203.0.113.30, message: host compute1 has NAT rules for floating IP 203.0.113.30 but ...}
    ok: [{address: 203.0.113.31, fixed_address: 10.0.2.23}]
problems:
  description: Everything unhealthy found, each C(code), C(message), C(object) (from the instance lookup, the audit and the NAT check).
  returned: always
  type: list
  elements: dict
  sample: [{code: floating_ip_on_deleted_instance, message: "...", object: 203.0.113.30}]
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils import _novadb as novadb
from ansible_collections.cloudops.netdiag.plugins.module_utils import _natcheck as natcheck


def run(module):
    params = module.params
    result = {'changed': False, 'problems': []}
    if params['instance'] is not None:
        novadb.validate_name(params['instance'])  # before connecting
    for name in params['peers'] or []:
        novadb.validate_name(name, what='peer')
    conn = novadb.connect(params)
    try:
        if params['instance'] is not None:
            facts = novadb.instance_facts(conn, params['instance'], params)
            result['instance'] = facts['instance']
            result['matches'] = facts['matches']
            # with audit=true the audit reports the same stale floating IPs (by address): keep one
            result['problems'].extend(pr for pr in facts['problems']
                                      if not (params['audit'] and pr['code'] == 'floating_ip_on_deleted_instance'))
            conn.rollback()
        if params['peers']:
            result['peers'] = []
            for name in params['peers']:
                pf = novadb.instance_facts(conn, name, params)
                result['peers'].append({'name': name, 'instance': pf['instance'], 'matches': pf['matches']})
            conn.rollback()
        data = None
        if params['audit'] or params['nat_host'] is not None:
            data = novadb.load_tables(conn, params)
        if params['audit']:
            result['audit'] = novadb.audit(data)
            result['problems'].extend(novadb.audit_problems(result['audit']))
        if params['nat_host'] is not None:
            try:
                if params['nat_rules'] is not None:
                    rules = params['nat_rules']
                elif params['iptables'] is not None:
                    rules = natcheck.nat_rules_from_iptables_facts(params['iptables'])
                else:
                    rules = natcheck.nat_rules_from_iptables_save(params['iptables_save'])
            except natcheck.NatInputError as exc:
                raise novadb.NovaDBError('%s (nat_host %s)' % (exc, params['nat_host']), code='bad_input')
            result['nat_check'] = natcheck.compare_nat(natcheck.associations_from_tables(data), rules, params['nat_host'])
            result['problems'].extend({'code': f['code'], 'message': f['message'], 'object': f['object']}
                                      for f in result['nat_check']['findings'])
    finally:
        novadb.close_quietly(conn)
    return result


def main():
    module = NetdiagModule(
        argument_spec=dict(
            novadb.connection_argument_spec(),
            instance=dict(type='str'),
            peers=dict(type='list', elements='str'),
            audit=dict(type='bool', default=False),
            nat_host=dict(type='str'),
            iptables_save=dict(type='str'),
            iptables=dict(type='dict'),
            nat_rules=dict(type='list', elements='dict'),
        ),
        mutually_exclusive=[('iptables_save', 'iptables', 'nat_rules')],
        required_by={'iptables_save': 'nat_host', 'iptables': 'nat_host', 'nat_rules': 'nat_host'},
        supports_check_mode=True,
    )
    if module.params['instance'] is None and not module.params['audit'] and module.params['nat_host'] is None:
        module.fail_json(msg='nothing to do: give instance, audit=true or nat_host')
    if module.params['nat_host'] is not None and all(module.params[k] is None for k in ('iptables_save', 'iptables', 'nat_rules')):
        module.fail_json(msg='nat_host %s needs its NAT rules: give iptables_save, iptables or nat_rules' % module.params['nat_host'])
    if not novadb.HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib('PyMySQL'), exception=str(novadb.PYMYSQL_IMPORT_ERROR))
    try:
        result = run(module)
    except novadb.NovaDBError as exc:
        extra = dict((k, v) for k, v in exc.details.items() if k == 'candidates' and v)
        module.fail_json(msg=str(exc), error_code=exc.code, **extra)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
