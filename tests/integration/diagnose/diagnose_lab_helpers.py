# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the diagnose integration tests: run the playbook on a lab, snapshot a lab's state."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'diagnose_instance.yml')


def run_diagnose(lab, instance, report_dir, extra=None, timeout=240):
    """Run playbooks/diagnose_instance.yml on ``lab``; return (returncode, report or None, output, seconds)."""
    extra_vars = {'instance': instance, 'netdiag_report_dir': str(report_dir)}
    extra_vars.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', PYTHONDONTWRITEBYTECODE='1')
    argv = [os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), PLAYBOOK, '-i', lab.inventory_path,
            '-e', json.dumps(extra_vars)]
    start = time.monotonic()
    res = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    took = time.monotonic() - start
    path = os.path.join(str(report_dir), '%s.json' % instance)
    report = None
    if os.path.exists(path) and os.path.getmtime(path) >= time.time() - took - 1:
        with open(path, encoding='utf-8') as f:
            report = json.load(f)
    return res.returncode, report, res.stdout + res.stderr, took


def _in_ns(enter, argv):
    return subprocess.run(enter + argv, capture_output=True, text=True, check=True).stdout


def _ns_run(ns, argv):
    return subprocess.run(['ip', 'netns', 'exec', ns] + argv, capture_output=True, text=True, check=True).stdout


def _ovs_state(lab, node):
    """A node's Open vSwitch configuration and flows (without counters, without the flows br-tun learns from
    traffic), when the node runs a switch."""
    d = lab.hostdir(node, 'ovs')
    if not os.path.exists(os.path.join(d, 'db.sock')):
        return None
    ns = lab.ns(node)
    show = _ns_run(ns, ['ovs-vsctl', '--db=unix:%s/db.sock' % d, 'show'])
    flows = {}
    for br in _ns_run(ns, ['ovs-vsctl', '--db=unix:%s/db.sock' % d, 'list-br']).split():
        out = _ns_run(ns, ['ovs-ofctl', '-O', 'OpenFlow13', '--no-stats', 'dump-flows', 'unix:%s/%s.mgmt' % (d, br)])
        flows[br] = sorted(ln.strip() for ln in out.splitlines()[1:] if 'hard_timeout' not in ln)
    return {'show': show, 'flows': flows}


def snapshot(lab):
    """What a diagnosis must not change: per lab namespace (the hosts', those the lab names after Neutron ids,
    qdhcp-/qrouter-, and the nodes' own, ovnmeta-) the links (state, master, mtu), addresses, routes, iptables and
    ebtables rules (without counters) and sysctl ip_forward; each node's Open vSwitch configuration and flows; the lab's
    processes."""
    out = {}
    names = {info['netns']: host for host, info in lab.state['hosts'].items()}
    spaces = [(names.get(ns, ns), ['ip', 'netns', 'exec', ns]) for ns in sorted(lab.state.get('namespaces') or names)]
    # a node's own namespaces (lab.local_netns_add), entered by path
    spaces += [(path, ['nsenter', '--net=%s' % path]) for path in sorted(lab.state.get('local_namespaces') or [])]
    for host, enter in spaces:
        run = functools.partial(_in_ns, enter)
        links = json.loads(run(['ip', '-j', 'addr', 'show']))
        out[host] = {
            'links': sorted((link['ifname'], tuple(sorted(link.get('flags', []))), link.get('master'), link.get('mtu'),
                             link.get('operstate'),
                             tuple(sorted('%s/%s' % (a['local'], a['prefixlen']) for a in link.get('addr_info', []))))
                            for link in links),
            'routes': run(['ip', 'route', 'show']),
            # rules and policies, without the chain counters iptables-save prints even without -c
            'iptables': '\n'.join(re.sub(r' \[\d+:\d+\]$', '', ln) for ln in run(['iptables-save']).splitlines()
                                  if not ln.startswith('#')),
            'ip_forward': run(['cat', '/proc/sys/net/ipv4/ip_forward']).strip(),
            # bridge filter rules without counters (a namespace without any ebtables table prints nothing)
            'ebtables': '\n'.join(ln for ln in run(['ebtables-save']).splitlines() if not ln.startswith('#')),
        }
        if host in lab.state['hosts']:
            out[host]['ovs'] = _ovs_state(lab, host)
    procs = {}
    for key, proc in sorted(lab.state.get('processes', {}).items()):
        pid = proc['pid']
        procs[key] = (pid, os.path.exists('/proc/%d' % pid))
    out['_processes'] = procs
    return out


def lab_pids_alive(pids):
    return [p for p in pids if os.path.exists('/proc/%d' % p)]
