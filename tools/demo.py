#!/usr/bin/env python
"""``make demo``: bring a lab up, break it, diagnose it, show the result, leave the lab up.

Idempotent: an existing lab of the same name is reused (healed first), so running it twice is fine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def lab(name, *args):
    cmd = [sys.executable, '-m', 'lab', '--lab', name] + list(args)
    print('$ python -m lab --lab %s %s' % (name, ' '.join(args)), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--topology', default='seed')
    parser.add_argument('--lab', default='nd')
    parser.add_argument('--fault', default=None,
                        help='default: vnet_down (nova-network), ovn_tap_down (the ovn topology), ovs_sg_drop (ml2ovs)')
    parser.add_argument('--instance', default=None, help='instance to break and diagnose (default: the first)')
    parser.add_argument('--check-dns', action='append', default=[], metavar='NAME',
                        help='also resolve NAME through the instance\'s DNS server (repeatable)')
    args = parser.parse_args()
    os.environ.setdefault('ANSIBLE_CONFIG', os.path.join(REPO, 'ansible.cfg'))

    lab(args.lab, 'up', '--topology', args.topology)
    lab(args.lab, 'heal')
    sys.path.insert(0, REPO)
    from lab import Lab  # pylint: disable=import-outside-toplevel
    the_lab = Lab(args.lab)
    state = the_lab.state
    instance = args.instance or sorted(state.get('instances', {}))[0]
    backend = state.get('backend') or 'nova-network'
    neutron = backend in ('ovn', 'ml2ovs')
    args.fault = args.fault or {'ovn': 'ovn_tap_down', 'ml2ovs': 'ovs_sg_drop'}.get(backend, 'vnet_down')
    lab(args.lab, 'fault', args.fault, '--instance', instance)
    others = [i for i in sorted(state.get('instances', {})) if i != instance]

    playbook = os.path.join(REPO, 'playbooks', 'diagnose_instance.yml')
    report_dir = os.path.join(the_lab.root, 'reports')
    if os.path.exists(playbook):
        cmd = [os.path.join(BIN, 'ansible-playbook'), playbook, '-i', the_lab.inventory_path,
               '-e', 'instance=%s' % instance, '-e', 'netdiag_report_dir=%s' % report_dir]
        if neutron and others:
            # on Neutron the guest pings a second instance: a failed ping is the symptom
            cmd += ['-e', 'second_instance=%s' % others[0]]
        if args.check_dns:
            cmd += ['-e', json.dumps({'check_dns': True, 'netdiag_dns_names': args.check_dns})]
        print('$ %s' % ' '.join(cmd), flush=True)
        subprocess.run(cmd, cwd=REPO, check=False)
        report = os.path.join(report_dir, '%s.json' % instance)
        if os.path.exists(report):
            with open(report, encoding='utf-8') as f:
                verdict = json.load(f).get('verdict', {})
            print('\nVerdict for %s: %s / %s / %s' % (instance, verdict.get('status'), verdict.get('segment'), verdict.get('cause')))
            print('Advice: %s' % verdict.get('advice'))
            print('Reports: %s.{json,md,html}' % os.path.join(report_dir, instance))
    else:
        lab(args.lab, 'status')

    print('\nThe lab "%s" is up with the fault %s on %s. Explore it with:' % (args.lab, args.fault, instance))
    print('  ansible -i %s all -m ansible.builtin.command -a "ip -br addr"' % the_lab.inventory_path)
    print('  .venv/bin/python -m lab --lab %s status' % args.lab)
    print('Heal it:      make lab-heal LAB=%s' % args.lab)
    print('Take it down: make lab-down LAB=%s' % args.lab)
    return 0


if __name__ == '__main__':
    sys.exit(main())
