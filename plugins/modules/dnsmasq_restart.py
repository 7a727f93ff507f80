#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: dnsmasq_restart
short_description: Reload, stop or restart the one dnsmasq that serves a bridge, by its pid file (never killall)
version_added: 0.1.0
description:
  - The chapter's targeted fix for an unhealthy dnsmasq, without its last resort C(killall dnsmasq), which cuts DHCP and
    DNS for every network of the host.
  - Finds the dnsmasq by its pid file (O(pid_file), or nova's C(<state_dir>/nova-<bridge>.pid) for O(bridge)) and
    refuses to act unless the pid in the file is a live dnsmasq that was started with that very pid file (a stale
    file, a reused pid or another dnsmasq are errors naming the file and the pid).
  - O(action=reload) sends SIGHUP (dnsmasq re-reads its hosts file, what nova-network itself does when instances
    change); O(action=stop) sends SIGTERM and waits for the process to end; O(action=restart) stops it the same way and
    starts the same command line again, with the same environment, in the same network namespace, then waits for the
    new pid in the pid file.
  - In check mode returns the plan and the diff and signals nothing. Outside check mode nothing is done unless
    O(confirm=true).
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  pid_file:
    description:
      - The dnsmasq's pid file (its C(--pid-file)).
    type: path
  bridge:
    description:
      - The bridge whose nova-network dnsmasq to act on; its pid file is C(<state_dir>/nova-<bridge>.pid).
    type: str
  state_dir:
    description:
      - nova-network's dnsmasq state directory, used with O(bridge).
    type: path
    default: /var/lib/nova/networks
  action:
    description:
      - V(reload) (SIGHUP), V(stop) (SIGTERM, wait for the end) or V(restart) (stop, then start the same command line).
    type: str
    choices: [reload, stop, restart]
    default: reload
  confirm:
    description:
      - Must be V(true) to signal anything outside check mode (the explicit switch).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the old process to end and for the new one to write its pid file.
    type: int
    default: 10
notes:
  - Needs the right to signal the process (root for nova-network's dnsmasq).
  - O(action=restart) refuses a dnsmasq running in the foreground (C(-d), C(-k)); its supervisor restarts it.
seealso:
  - module: cloudops.netdiag.dnsmasq_info
'''

EXAMPLES = r'''
- name: What would be done (nothing is signalled)
  cloudops.netdiag.dnsmasq_restart:
    bridge: br100
    action: restart
  check_mode: true
  register: plan

- name: Make the dnsmasq of br100 re-read its hosts file
  cloudops.netdiag.dnsmasq_restart:
    bridge: br100
    action: reload
    confirm: "{{ confirm | default(false) | bool }}"

- name: Restart exactly the dnsmasq named by dnsmasq_info's advice
  cloudops.netdiag.dnsmasq_restart:
    pid_file: "{{ dm.dnsmasq.processes[0].restart_advice.pid_file }}"
    action: restart
    confirm: true
'''

RETURN = r'''
plan:
  description: The process that is (or would be) signalled and how.
  returned: always
  type: dict
  sample: {pid: 2438, pid_file: /var/lib/nova/networks/nova-br100.pid, bridge: br100, action: restart, signal: SIGTERM,
           argv: [/usr/sbin/dnsmasq, --strict-order, --bind-interfaces, --conf-file=]}
pid_before:
  description: The dnsmasq's pid before.
  returned: always
  type: int
  sample: 2438
pid_after:
  description: The pid after (V(null) when stopped; the same pid after a reload; in check mode the prediction).
  returned: always
  type: int
  sample: 2511
diff:
  description: The process before and after (pid, running).
  returned: always
  type: dict
  sample: {before: {pid: 2438, running: true}, after: {pid: 2511, running: true}}
'''

import os
import signal
import subprocess
import time

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._dnsmasq import (
    DnsmasqError, pid_file_status, plan_signal, process_state)
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import CLONE_NEWNET, _setns

FOREGROUND = ('-d', '--no-daemon', '-k', '--keep-in-foreground')


def _wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _environ(pid):
    try:
        with open('/proc/%s/environ' % pid, 'rb') as f:
            raw = f.read()
    except OSError:
        return None
    env = {}
    for item in raw.split(b'\0'):
        if b'=' in item:
            k, v = item.split(b'=', 1)
            env[k.decode('utf-8', 'replace')] = v.decode('utf-8', 'replace')
    return env


def main():
    module = NetdiagModule(
        argument_spec=dict(
            pid_file=dict(type='path'),
            bridge=dict(type='str'),
            state_dir=dict(type='path', default='/var/lib/nova/networks'),
            action=dict(type='str', choices=['reload', 'stop', 'restart'], default='reload'),
            confirm=dict(type='bool', default=False),
            timeout=dict(type='int', default=10),
        ),
        mutually_exclusive=[('pid_file', 'bridge')],
        required_one_of=[('pid_file', 'bridge')],
        supports_check_mode=True,
    )
    p = module.params
    if p['bridge'] is not None and (not p['bridge'] or '/' in p['bridge'] or p['bridge'] in ('.', '..')):
        module.fail_json(msg='invalid bridge name %r' % p['bridge'])
    pid_file = p['pid_file'] or os.path.join(p['state_dir'], 'nova-%s.pid' % p['bridge'])
    try:
        plan = plan_signal(pid_file)
    except DnsmasqError as exc:
        module.fail_json(msg=str(exc))
    action = p['action']
    plan['action'] = action
    plan['signal'] = 'SIGHUP' if action == 'reload' else 'SIGTERM'
    pid = plan['pid']
    if action == 'restart' and any(a in FOREGROUND for a in plan['argv']):
        module.fail_json(msg='dnsmasq %s runs in the foreground (%s): restart it through its supervisor'
                         % (pid, ' '.join(a for a in plan['argv'] if a in FOREGROUND)), plan=plan)
    before = {'pid': pid, 'running': True}
    predicted = {'reload': {'pid': pid, 'running': True}, 'stop': {'pid': None, 'running': False},
                 'restart': {'pid': None, 'running': True}}[action]
    result = dict(changed=True, plan=plan, pid_before=pid)
    if module.check_mode:
        module.exit_json(pid_after=predicted['pid'], diff=dict(before=before, after=predicted), **result)
    if not p['confirm']:
        module.fail_json(msg='would send %s to dnsmasq %s (%s); nothing done: set confirm=true to do it'
                         % (plan['signal'], pid, pid_file), **result)
    # the process must still be the one planned (same start time) at the moment it is signalled
    now = process_state(pid)
    if not now['alive'] or now['start_time'] != plan['start_time']:
        module.fail_json(msg='dnsmasq %s changed while planning (ended or pid reused): nothing done' % pid, **result)
    netns_fd = env = None
    if action == 'restart':
        env = _environ(pid)
        try:
            netns_fd = os.open('/proc/%s/ns/net' % pid, os.O_RDONLY)
        except OSError as exc:
            module.fail_json(msg='cannot open the network namespace of dnsmasq %s: %s' % (pid, exc.strerror), **result)
    try:
        try:
            os.kill(pid, signal.SIGHUP if action == 'reload' else signal.SIGTERM)
        except OSError as exc:
            module.fail_json(msg='cannot signal dnsmasq %s: %s' % (pid, exc.strerror), **result)
        if action == 'reload':
            time.sleep(0.1)
            after_state = process_state(pid)
            if not after_state['alive'] or after_state['start_time'] != plan['start_time']:
                module.fail_json(msg='dnsmasq %s ended after SIGHUP' % pid, **result)
            module.exit_json(pid_after=pid, diff=dict(before=before, after=before), **result)
        if not _wait(lambda: not process_state(pid)['alive'], p['timeout']):
            module.fail_json(msg='dnsmasq %s did not end within %s s of SIGTERM' % (pid, p['timeout']), **result)
        if action == 'stop':
            module.exit_json(pid_after=None, diff=dict(before=before, after={'pid': None, 'running': False}), **result)
        argv = list(plan['argv'])
        if not os.path.isabs(argv[0]):
            argv[0] = module.get_bin_path('dnsmasq', required=True)

        def enter():
            _setns(netns_fd, CLONE_NEWNET)

        try:
            proc = subprocess.run(argv, env=env, preexec_fn=enter, capture_output=True, timeout=p['timeout'], check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            module.fail_json(msg='dnsmasq %s was stopped but could not be started again: %s' % (pid, exc), **result)
        if proc.returncode != 0:
            module.fail_json(msg='dnsmasq %s was stopped but the new one failed (rc %s): %s'
                             % (pid, proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()), **result)

        def new_pid():
            st = pid_file_status(pid_file)
            return st['status'] == 'alive' and st['pid'] != pid and st['pid']
        if not _wait(new_pid, p['timeout']):
            module.fail_json(msg='dnsmasq %s was stopped and restarted, but %s names no new live dnsmasq within %s s'
                             % (pid, pid_file, p['timeout']), **result)
        npid = pid_file_status(pid_file)['pid']
        module.exit_json(pid_after=npid, diff=dict(before=before, after={'pid': npid, 'running': True}), **result)
    finally:
        if netns_fd is not None:
            os.close(netns_fd)


if __name__ == '__main__':
    main()
