#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: floating_ip_disassociate
short_description: Disassociate a stale floating IP in the nova (nova-network) database, safely
version_added: 0.1.0
description:
  - The repair of the OpenStack Operations Guide's "terminated instance whose floating IP was not
    released", that is C(UPDATE floating_ips SET fixed_ip_id = NULL, host = NULL), and with O(release=true)
    also C(project_id = NULL) and C(auto_assigned = 0) to return the address to the pool.
  - Selects the live C(floating_ips) rows by floating address (O(address)), by the fixed IP they point
    at (O(fixed_ip_id)), or by instance (O(instance), through its fixed IPs).
  - Refuses a floating IP whose instance is not deleted unless O(force=true); refuses an instance
    name several instances share and lists them.
  - In check mode returns the plan and the diff (rows before and after) and changes nothing.
  - Otherwise works in ONE transaction, locks the rows (C(SELECT ... FOR UPDATE)), writes a JSON
    backup of the rows it is about to change to O(backup_dir) first (mode 0600), updates each row only
    if it still holds the values it was planned from, reads the rows back and rolls back with an error
    if they differ from the plan. Rows already in the wanted state are left alone, so a second run
    reports C(changed=false).
  - Every statement is parameterized; O(address) must be an IP address and O(instance) is checked
    (length, UTF-8, control characters) before any SQL is sent.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.nova_db
  - cloudops.netdiag.attributes
options:
  address:
    description:
      - The floating IP address (C(floating_ips.address)).
    type: str
  fixed_ip_id:
    description:
      - The C(fixed_ips.id) the floating IP(s) point at, as in the chapter's C(WHERE fixed_ip_id = ...).
    type: int
  instance:
    description:
      - The instance (uuid, hostname or display name, exact match, live or deleted) whose fixed IPs'
        floating IPs are disassociated. Must match exactly one instance.
    type: str
  release:
    description:
      - Also return the floating IP to the pool (C(project_id = NULL), C(auto_assigned = 0)).
    type: bool
    default: false
  force:
    description:
      - Disassociate even when the floating IP's instance is not deleted (it is in use).
    type: bool
    default: false
  backup_dir:
    description:
      - Directory (created with mode 0700 if missing) on the host running the module where the JSON
        backup of the rows is written before they change. Not used in check mode.
    type: path
    default: ~/.ansible/netdiag/backups
  lock_timeout:
    description:
      - Seconds (1 to 300) to wait for row locks held by another transaction (C(innodb_lock_wait_timeout)).
        When it expires nothing is changed and the module fails; run it again later.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - The database user needs C(SELECT) on C(instances), C(fixed_ips), C(floating_ips) and C(UPDATE) on C(floating_ips).
  - This changes the database only. nova-network keeps the floating IP's DNAT/SNAT rules on the host
    until it rebuilds its rules (restart of nova-network on that host); compare with
    M(cloudops.netdiag.nova_network_info) O(cloudops.netdiag.nova_network_info#module:nat_host).
seealso:
  - module: cloudops.netdiag.nova_network_info
'''

EXAMPLES = r'''
- name: Show what would change (check mode)
  cloudops.netdiag.floating_ip_disassociate:
    config_file: /root/.my.cnf
    address: 203.0.113.30
  check_mode: true
  diff: true
  register: plan

- name: Disassociate the floating IP of a terminated instance and return it to the pool
  cloudops.netdiag.floating_ip_disassociate:
    login_host: db.example.com
    login_user: nova
    login_password: "{{ nova_db_password }}"
    instance: old-vm
    release: true
    backup_dir: /var/backups/nova-floating-ips
  register: repair
'''

RETURN = r'''
plan:
  description:
    - C(changes) (each C(id), C(address), C(fixed_address), C(instance), C(before), C(after) rows),
      C(unchanged) (already in the wanted state), C(refused) (with C(reason)), C(columns) changed,
      C(release) and C(selection).
  returned: always
  type: dict
  sample:
    changes:
      - id: 2
        address: 203.0.113.30
        fixed_address: 10.0.2.24
        instance: {uuid: 5f1c2a64-2b7c-4f55-9a80-b0c1a9a0e7b1, hostname: old-vm, vm_state: deleted, deleted: 2}
        before: {id: 2, address: 203.0.113.30, fixed_ip_id: 2, host: compute1, project_id: tenant-a}
        after: {id: 2, address: 203.0.113.30, fixed_ip_id: null, host: null, project_id: tenant-a}
    unchanged: []
    refused: []
    columns: [fixed_ip_id, host]
    release: false
    selection: {address: 203.0.113.30}
diff:
  description: The C(floating_ips) rows before and after (planned in check mode).
  returned: always
  type: dict
  sample: {before: {floating_ips: [{id: 2, fixed_ip_id: 2, host: compute1}]}, after: {floating_ips: [{id: 2, fixed_ip_id: null, host: null}]}}
backup_path:
  description: The JSON backup written before the change (rows before, planned rows, values to restore), mode 0600.
  returned: when rows were changed
  type: str
  sample: /root/.ansible/netdiag/backups/floating_ips-20261125T203000.123456Z-2-4242.json
rows:
  description: The changed C(floating_ips) rows as read back after the change.
  returned: when rows were changed
  type: list
  elements: dict
  sample: [{id: 2, address: 203.0.113.30, fixed_ip_id: null, host: null, project_id: tenant-a}]
msg:
  description: One sentence saying what was done or would be done.
  returned: always
  type: str
  sample: disassociated floating IP 203.0.113.30 (was on fixed IP 10.0.2.24)
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils import _novadb as novadb


def _describe(plan, done):
    verb = 'disassociated' if done else 'would disassociate'
    if plan['release']:
        verb += ' and release' if not done else ' and released'
    parts = ['%s (was on fixed IP %s)' % (c['address'], c['fixed_address'] or c['before']['fixed_ip_id']) for c in plan['changes']]
    return '%s floating IP %s' % (verb, ', '.join(parts))


def run(module):
    p = module.params
    selection = dict((k, p[k]) for k in ('address', 'fixed_ip_id', 'instance') if p[k] is not None)
    # refuse bad input before connecting (validated again where it is used)
    if p['address'] is not None:
        selection['address'] = novadb.validate_address(p['address'])
    if p['fixed_ip_id'] is not None:
        novadb.validate_id(p['fixed_ip_id'])
    if p['instance'] is not None:
        novadb.validate_name(p['instance'])
    conn = novadb.connect(p)
    try:
        if module.check_mode:
            plan = novadb.compute_plan(conn, selection, p['release'], p['force'], p)
            backup_path, rows = None, []
        else:
            plan, backup_path, rows = novadb.apply_plan(conn, selection, p['release'], p['force'], p['backup_dir'], p,
                                                        lock_timeout=p['lock_timeout'])
    finally:
        novadb.close_quietly(conn)
    diff = novadb.plan_diff(plan)
    if plan['refused']:
        module.fail_json(msg='; '.join(r['reason'] for r in plan['refused']) + '; nothing changed', plan=plan, diff=diff,
                         error_code='instance_active')
    result = {'changed': bool(plan['changes']), 'plan': plan, 'diff': diff}
    if plan['changes']:
        result['msg'] = _describe(plan, not module.check_mode)
    else:
        note = plan['selection'].get('note')
        key = sorted(selection)[0]
        what = plan['selection'].get('instance', {}).get('uuid') if key == 'instance' else selection[key]
        if plan['unchanged']:
            result['msg'] = 'nothing to do: the floating IPs selected by %s %s are already disassociated%s%s' % (
                key, what, ' and released' if p['release'] else '', ('; ' + note) if note else '')
        else:  # e.g. a fixed_ip_id no live floating IP points at (any more)
            result['msg'] = 'nothing to do: no live floating IP is selected by %s %s%s' % (key, what, ('; ' + note) if note else '')
    if backup_path:
        result['backup_path'] = backup_path
        result['rows'] = rows
    return result


def main():
    module = NetdiagModule(
        argument_spec=dict(
            novadb.connection_argument_spec(),
            address=dict(type='str'),
            fixed_ip_id=dict(type='int'),
            instance=dict(type='str'),
            release=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            backup_dir=dict(type='path', default='~/.ansible/netdiag/backups'),
            lock_timeout=dict(type='int', default=10),
        ),
        mutually_exclusive=[('address', 'fixed_ip_id', 'instance')],
        required_one_of=[('address', 'fixed_ip_id', 'instance')],
        supports_check_mode=True,
    )
    if not novadb.HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib('PyMySQL'), exception=str(novadb.PYMYSQL_IMPORT_ERROR))
    if not 1 <= module.params['lock_timeout'] <= 300:
        module.fail_json(msg='lock_timeout must be between 1 and 300 seconds, got %d' % module.params['lock_timeout'])
    try:
        result = run(module)
    except novadb.NovaDBError as exc:
        extra = dict((k, v) for k, v in exc.details.items() if k in ('candidates', 'step', 'backup_path') and v)
        module.fail_json(msg=str(exc), error_code=exc.code, **extra)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
