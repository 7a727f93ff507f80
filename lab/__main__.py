# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the lab: python -m lab up|down|status|fault NAME|heal --lab PREFIX."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys

from lab.core import Lab
from lab.mariadb import MariaDBError
from lab.sysutil import LabError
from lab.topology import TopologyError


def main(argv=None):
    try:
        rc = _main(argv)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        # the reader went away (`status | head`): not an error of the lab; exit as a process killed by SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _main(argv):
    p = argparse.ArgumentParser(prog='python -m lab', description='nova-network mini-cloud in network namespaces')
    p.add_argument('--lab', default='nd', help='lab prefix (namespaces are <prefix>-<host>)')
    p.add_argument('--root', default=None, help='lab root (default $NETDIAG_LAB_ROOT or /var/tmp/netdiag-lab)')
    sub = p.add_subparsers(dest='cmd', required=True)
    up = sub.add_parser('up', help='bring the lab up (idempotent)')
    up.add_argument('--topology', default='seed', help='seed, vlan, or a path to a topology file')
    sub.add_parser('down', help='remove everything the lab made')
    st = sub.add_parser('status', help='what is alive')
    st.add_argument('--json', action='store_true')
    f = sub.add_parser('fault', help='inject a fault')
    f.add_argument('name')
    f.add_argument('--instance', default=None, help='target instance (hostname); default: the first one it applies to')
    sub.add_parser('heal', help='undo every active fault')
    sub.add_parser('faults', help='list the fault names')
    so = sub.add_parser('sosreport', help='a real sosreport of one lab host (Debian package sosreport)')
    so.add_argument('host')
    so.add_argument('--out', default='.', help='directory to write the report into (default: here)')
    so.add_argument('--archive', action='store_true', help='a tar.xz archive, as sos ships it (default: the build tree)')
    args = p.parse_args(argv)
    try:
        lab = Lab(args.lab, root=args.root)
        if args.cmd == 'up':
            st = lab.up(args.topology)
            print('lab %s (%s) is up in %s s; inventory: %s' % (lab.name, st['topology'], st.get('up_seconds', 0), lab.inventory_path))
        elif args.cmd == 'down':
            lab.down()
            print('lab %s is down' % lab.name)
        elif args.cmd == 'status':
            st = lab.status()
            if args.json:
                print(json.dumps(st, indent=2, sort_keys=True))
            else:
                _print_status(st)
            return 0 if st.get('healthy') or st.get('faults') else 1
        elif args.cmd == 'fault':
            rec = lab.fault(args.name, args.instance)
            print('fault %s injected on %s: %s' % (rec['name'], rec.get('target'), rec.get('description', '')))
        elif args.cmd == 'heal':
            healed = lab.heal()
            print('healed: %s' % (', '.join('%s(%s)' % (f['name'], f.get('target')) for f in healed) or 'nothing to heal'))
        elif args.cmd == 'sosreport':
            from lab.sosreport import sosreport
            print(sosreport(lab, args.host, args.out, archive=args.archive))
        elif args.cmd == 'faults':
            from lab.faults import FAULTS
            from lab.ovn_faults import FAULTS as OVN_FAULTS
            for name in sorted(FAULTS):
                print('%-28s %s' % (name, FAULTS[name].__doc__.strip().splitlines()[0]))
            for name in sorted(OVN_FAULTS):
                print('%-28s (ovn) %s' % (name, OVN_FAULTS[name].__doc__.strip().splitlines()[0]))
    except BrokenPipeError:
        raise    # handled by main()
    except (LabError, TopologyError, MariaDBError, OSError, subprocess.SubprocessError) as exc:
        print('lab: error: %s' % exc, file=sys.stderr)
        return 1
    return 0


def _print_status(st):
    if not st.get('exists'):
        print('lab %s does not exist' % st['name'])
        return
    print('lab %s  topology %s  healthy %s  root %s' % (st['name'], st['topology'], st['healthy'], st['root']))
    for ns, ok in sorted(st['namespaces'].items()):
        print('  netns %-28s %s' % (ns, 'ok' if ok else 'MISSING'))
    for key, p in sorted(st['processes'].items()):
        print('  proc  %-28s pid %-7s %s' % (key, p['pid'], 'alive' if p['alive'] else 'DEAD'))
    for h, i in sorted(st['instances'].items()):
        print('  inst  %-28s %s' % (h, 'lease %s' % i['lease'] if i['lease'] else 'NO LEASE'))
    for f in st['faults']:
        print('  fault %s on %s' % (f['name'], f['target']))
    print('  inventory %s' % st['inventory'])


if __name__ == '__main__':
    sys.exit(main())
