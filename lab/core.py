# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab: a nova-network cloud made of network namespaces, built from a topology file.

``Lab(name).up('seed')`` builds it, ``.down()`` removes everything it made, ``.status()``
checks what is alive, ``.fault(name, target)`` / ``.heal()`` break and repair it (lab/faults.py).
The layout of the lab directory and of state.json is documented in docs/lab.md.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

import yaml

from lab import novafiles, topology
from lab.sysutil import (LabError, ip_batch, kill_pid, netns_list, nsrun, pid_matches, read_pidfile, run,
                         which, write_file)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ROOT = '/var/tmp/netdiag-lab'
UDHCPC_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'udhcpc.script')
DDL = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sql', 'nova_network_tables.sql')
_PREFIX = re.compile(r'^[a-z][a-z0-9]{0,11}$')
UDHCPC_ARGS = ['-t', '3', '-T', '1', '-A', '10', '-b']
METADATA_URL = 'http://169.254.169.254/2009-04-04/meta-data/instance-id'


def lab_root(root=None):
    return root or os.environ.get('NETDIAG_LAB_ROOT') or DEFAULT_ROOT


def _mac(*parts):
    h = hashlib.sha256('/'.join(parts).encode()).digest()
    return '02:%02x:%02x:%02x:%02x:%02x' % tuple(h[:5])


def dns_names(model):
    """Names of the topology's DNS records: what the cloud's users must be able to resolve."""
    return [r['name'] for r in model['external']['dns_records']]


class Lab(object):
    """One lab, named by its prefix; its state lives in ``<root>/<name>/state.json``."""

    def __init__(self, name, root=None):
        if not isinstance(name, str) or not _PREFIX.match(name):
            raise LabError('lab name %r must match %s (it prefixes namespace names)' % (name, _PREFIX.pattern))
        self.name = name
        self.root = os.path.join(lab_root(root), name)
        self.state_path = os.path.join(self.root, 'state.json')
        self.inventory_path = os.path.join(self.root, 'inventory.yml')
        self._lock = threading.Lock()
        self.state = self._load()

    # ------------------------------------------------------------------ state
    def _load(self):
        try:
            with open(self.state_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def save(self):
        with self._lock:
            os.makedirs(self.root, exist_ok=True)
            write_file(self.state_path, json.dumps(self.state, indent=2, sort_keys=True) + '\n', 0o600)

    def ns(self, host):
        return '%s-%s' % (self.name, host)

    def hostdir(self, host, *parts):
        return os.path.join(self.root, 'hosts', host, *parts)

    @property
    def model(self):
        return self.state.get('model') or {}

    def _record_process(self, key, pid, argv, host, ns, pidfile=None, match=None):
        """Record a process the lab started. ``match``: a string its command line must contain before
        the lab signals that pid (default: its pid file path, unique to this lab)."""
        with self._lock:
            self.state.setdefault('processes', {})[key] = {
                'pid': pid, 'argv': argv, 'host': host, 'netns': ns, 'pidfile': pidfile,
                'match': match or pidfile or (argv[0] if argv else '')}

    # ------------------------------------------------------------------ up
    def up(self, topology_name='seed'):
        """Build the lab (idempotent: a healthy lab of the same topology is left as it is)."""
        from lab import ovn
        path = topology.topology_path(topology_name)
        backend = ovn.neutron_backend(path)
        builder, model = None, None
        if backend == 'ml2ovs':
            from lab.ml2ovs import Ml2OvsLab
            builder, model = Ml2OvsLab(self), ovn.load_model(path, salt=self.name)
        elif backend == 'ovn':
            builder, model = ovn.OvnLab(self), ovn.load_model(path)
        else:
            model = topology.load(topology_name)
        if self.state:
            if self.state.get('model') == model and self.state.get('complete') and self.status()['healthy']:
                return self.state
            self.down()
        if builder:
            return builder.up(model)
        for tool in ('ip', 'dnsmasq', 'busybox', 'iptables-restore', 'conntrack', 'bridge') + (
                ('ebtables-restore',) if model.get('share_dhcp_address') else ()):
            which(tool)
        return self.build(model, self._plan_hosts(model), self._db_start,
                          [lambda: self._build_network(model), lambda: self._write_host_files(model),
                           lambda: self._start_daemons(model),
                           lambda: self._boot_instances(list(i for i in model['instances'].values() if i['state'] == 'active'))],
                          [lambda: self._db_fill(model), lambda: self._write_inventory(model)])

    def build(self, model, hosts, db_start, steps, after_db, backend=None):
        """Build a planned lab: the state of ``hosts``, ``db_start`` in a thread while ``steps`` run, then ``after_db``.
        A failed build takes down what it had built. Returns the state."""
        clash = [n for n in netns_list() if n.startswith(self.name + '-')]
        if clash:
            raise LabError('namespaces %s exist but no lab state records them; remove them first' % ', '.join(clash))
        t0 = time.monotonic()
        os.makedirs(self.root, mode=0o755, exist_ok=True)
        os.chmod(self.root, 0o755)
        for h, rec in hosts.items():
            rec['netns'] = self.ns(h)
            rec.setdefault('interfaces', {})
        self.state = {
            'name': self.name, 'root': self.root, 'topology': model['name'], 'topology_file': model['file'],
            'python': sys.executable, 'created': datetime.datetime.utcnow().isoformat() + 'Z', 'complete': False,
            'model': model, 'hosts': hosts, 'namespaces': [h['netns'] for h in hosts.values()], 'links': [],
            'processes': {}, 'faults': [], 'db': {}, 'instances': {},
        }
        if backend:
            self.state['backend'] = backend
        self.save()
        db_thread = _Thread(db_start)
        db_thread.start()
        try:
            for step in steps:
                step()
            db_thread.join()
            for step in after_db:
                step()
        except BaseException:
            try:
                db_thread.join()
            except Exception:  # pylint: disable=broad-except
                pass
            self.save()
            self.down()  # a failed up leaves nothing behind
            raise
        self.state['complete'] = True
        self.state['up_seconds'] = round(time.monotonic() - t0, 2)
        self.save()
        return self.state

    def write_python_wrapper(self, host):
        """``<root>/bin/<host>-python``: the Python of lab host ``host``, inside its namespace (Ansible's interpreter).
        A host with node-local namespaces (``local_netns_add``) sees them, and only them, as its ``/run/netns``."""
        rec = self.state['hosts'][host]
        wrapper = os.path.join(self.root, 'bin', '%s-python' % host)
        # a process already inside (Ansible's async_wrapper runs the module with the same interpreter) runs Python at
        # once: inside a node with node-local namespaces, the node's own namespace is not in its /run/netns
        inside = 'if [ "${NETDIAG_LAB_PYTHON:-}" = "%s" ]; then exec %s "$@"; fi\nexport NETDIAG_LAB_PYTHON=%s\n' % (
            wrapper, sys.executable, wrapper)
        if rec.get('netns_dir'):
            # ip netns exec runs its command in a mount namespace of its own (a slave of the machine's): the bind
            # mount below is seen by this process and its children only
            body = ('exec %s netns exec %s /bin/sh -c \'mount --rbind "$0" /run/netns && exec "$@"\' %s %s "$@"\n'
                    % (which('ip'), rec['netns'], rec['netns_dir'], sys.executable))
        else:
            body = 'exec %s netns exec %s %s "$@"\n' % (which('ip'), rec['netns'], sys.executable)
        write_file(wrapper, '#!/bin/sh\n# lab host %s: run Python inside network namespace %s\n%s%s' % (host, rec['netns'], inside, body),
                   0o755)
        rec['python'] = wrapper
        return wrapper

    # ------------------------------------------------------------------ node-local namespaces
    # A real node's named namespaces (OVN's ovnmeta-<network id> on every chassis) have the same name on every node.
    # The lab keeps each node's under <root>/hosts/<node>/netns/<name> (a namespace bound to a file, as ip netns does
    # under /run/netns), enters them by path, and shows them to the node's own processes as /run/netns.
    def local_netns_path(self, node, name):
        return self.hostdir(node, 'netns', name)

    def local_netns_add(self, node, name):
        """Namespace ``name`` of lab node ``node`` (idempotent); its loopback up. Returns its path."""
        path = self.local_netns_path(node, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with self._lock:
            self.state['hosts'][node]['netns_dir'] = os.path.dirname(path)
            local = self.state.setdefault('local_namespaces', [])
            if path not in local:
                local.append(path)
        if not os.path.ismount(path):
            with open(path, 'a', encoding='utf-8'):
                pass
            run(['unshare', '--net=%s' % path, 'true'])
        self.local_nsrun(node, name, ['ip', 'link', 'set', 'lo', 'up'])
        return path

    def local_nsrun(self, node, name, argv, **kw):
        """Run ``argv`` inside node-local namespace ``name`` of ``node``."""
        return run(['nsenter', '--net=%s' % self.local_netns_path(node, name)] + list(argv), **kw)

    def _plan_hosts(self, model):
        hosts = {'switch': {'role': 'switch'}, 'gateway': {'role': 'gateway'}}
        for s in model['external']['servers']:
            hosts[s['name']] = {'role': 'external'}
        for c in model['computes']:
            hosts[c] = {'role': 'compute'}
        for i in model['instances'].values():
            if i['state'] == 'active':
                hosts[i['hostname']] = {'role': 'instance'}
        for rec in hosts.values():
            rec['routes'] = []
        return hosts

    def _iface(self, host, ifname, **kw):
        self.state['hosts'][host]['interfaces'].setdefault(ifname, {}).update(kw)

    def _veth(self, batches, host_a, if_a, host_b, if_b, mac_a=None, mac_b=None, mtu=None):
        topo = self.model['name']
        mac_a = mac_a or _mac(topo, host_a, if_a)
        mac_b = mac_b or _mac(topo, host_b, if_b)
        cmd = 'link add %s address %s type veth peer name %s address %s netns %s' % (if_a, mac_a, if_b, mac_b, self.ns(host_b))
        batches.setdefault(host_a, []).append(cmd)
        if mtu:
            batches[host_a].append('link set %s mtu %d' % (if_a, mtu))
        self.state['links'].append({'a': [host_a, if_a], 'b': [host_b, if_b], 'type': 'veth'})
        self._iface(host_a, if_a, mac=mac_a, kind='veth', peer=[host_b, if_b])
        self._iface(host_b, if_b, mac=mac_b, kind='veth', peer=[host_a, if_a])
        return mac_a, mac_b

    def _build_network(self, model):
        for h in self.state['hosts'].values():
            run(['ip', 'netns', 'add', h['netns']])
        first = {}   # commands to run first, per namespace (links created there)
        later = {}   # per namespace, after every link exists
        sw = 'switch'
        first[sw] = ['link set lo up']
        for br in ('public', 'flat', 'external'):
            first[sw] += ['link add %s type bridge stp_state 0 forward_delay 0' % br, 'link set %s up' % br]
            self._iface(sw, br, kind='bridge')
        used = set()

        def port(host, suffix):
            name = '%s-%s' % (host[:10], suffix)
            if name in used:
                name = 'p%d-%s' % (len(used), suffix)
            used.add(name)
            return name

        pub, ext = model['public'], model['external']
        # gateway: eth0 on the public network, eth1 on the external network
        p = port('gateway', 'pub')
        self._veth(first, sw, p, 'gateway', 'eth0')
        first[sw].append('link set %s master public up' % p)
        p = port('gateway', 'ext')
        self._veth(first, sw, p, 'gateway', 'eth1')
        first[sw].append('link set %s master external up' % p)
        later['gateway'] = ['link set lo up', 'link set eth0 up', 'link set eth1 up',
                            'addr add %s/%d dev eth0' % (pub['gateway'], pub['prefixlen']),
                            'addr add %s/%d dev eth1' % (ext['gateway'], ext['prefixlen'])]
        self._iface('gateway', 'eth0', addresses=['%s/%d' % (pub['gateway'], pub['prefixlen'])])
        self._iface('gateway', 'eth1', addresses=['%s/%d' % (ext['gateway'], ext['prefixlen'])])
        for s in ext['servers']:
            p = port(s['name'], 'ext')
            self._veth(first, sw, p, s['name'], 'eth0')
            first[sw].append('link set %s master external up' % p)
            later[s['name']] = ['link set lo up', 'link set eth0 up', 'addr add %s/%d dev eth0' % (s['address'], s['prefixlen']),
                                'route add default via %s' % s['gateway']]
            self._iface(s['name'], 'eth0', addresses=['%s/%d' % (s['address'], s['prefixlen'])])
            self.state['hosts'][s['name']]['routes'] = [{'dst': 'default', 'via': s['gateway'], 'dev': 'eth0'}]
        for cname, comp in model['computes'].items():
            pubif = comp['public_interface']
            p = port(cname, 'pub')
            self._veth(first, sw, p, cname, pubif)
            first[sw].append('link set %s master public up' % p)
            physif = comp['flat_interface'] or comp['vlan_interface']
            p = port(cname, 'fl')
            mtu = 1550 if model['vlan_mode'] else None
            phys_mac = self._veth(first, sw, p, cname, physif, mtu=mtu)[1]
            first[sw].append('link set %s master flat up' % p)
            cmds = first.setdefault(cname, ['link set lo up'])
            lat = later.setdefault(cname, [])
            if mtu:
                cmds.append('link set %s mtu %d' % (physif, mtu))
            cmds.append('link set %s up' % physif)
            cmds.append('link set %s up' % pubif)
            cmds.append('addr add %s/%d dev %s' % (comp['public_address'], comp['public_prefixlen'], pubif))
            addrs = ['%s/%d' % (comp['public_address'], comp['public_prefixlen'])]
            for inst in model['instances'].values():
                if inst['host'] == cname and inst['floating_ip'] and inst['state'] == 'active':
                    cmds.append('addr add %s/32 dev %s' % (inst['floating_ip'], pubif))
                    addrs.append('%s/32' % inst['floating_ip'])
            self._iface(cname, pubif, addresses=addrs, role='public_interface')
            self.state['hosts'][cname]['routes'] = [{'dst': 'default', 'via': comp['public_gateway'], 'dev': pubif}]
            if model['vlan_mode']:
                cmds.append('addr add %s/%d dev %s' % (comp['management_address'], comp['management_prefixlen'], physif))
                self._iface(cname, physif, addresses=['%s/%d' % (comp['management_address'], comp['management_prefixlen'])],
                            role='vlan_interface')
            else:
                self._iface(cname, physif, role='flat_interface')
            for label in sorted(comp['networks']):
                net = model['networks'][label]
                br = net['bridge']
                cmds.append('link add %s type bridge stp_state 0 forward_delay 0' % br)
                if model['vlan_mode']:
                    vdev = 'vlan%d' % net['vlan']
                    cmds.append('link add %s type vxlan id %d dev %s local %s dstport 4789 ttl 4'
                                % (vdev, net['vlan'], physif, comp['management_address']))
                    cmds.append('link set %s address %s' % (vdev, _mac(model['name'], cname, vdev)))
                    cmds.append('link set %s master %s' % (vdev, br))
                    cmds.append('link set %s up' % vdev)
                    cmds.append('link set %s address %s' % (br, _mac(model['name'], cname, vdev)))
                    self._iface(cname, vdev, kind='vxlan', vni=net['vlan'], lower=physif, master=br,
                                mac=_mac(model['name'], cname, vdev), emulates='802.1q vlan %d on %s' % (net['vlan'], physif))
                    self.state['links'].append({'a': [cname, vdev], 'b': ['*', 'vni %d' % net['vlan']], 'type': 'vxlan'})
                else:
                    cmds.append('link set %s master %s' % (physif, br))
                    cmds.append('link set %s address %s' % (br, phys_mac))
                    self._iface(cname, physif, master=br)
                gw = comp['networks'][label]
                cmds.append('addr add %s/%d brd %s dev %s' % (gw, net['prefixlen'], net['broadcast'], br))
                cmds.append('link set %s up' % br)
                self._iface(cname, br, kind='bridge', addresses=['%s/%d' % (gw, net['prefixlen'])], network=label)
            lat.append('route add default via %s dev %s' % (comp['public_gateway'], pubif))
            if comp.get('libvirt_default_network'):
                # what libvirt's default network leaves on a compute node: virbr0, up, no port (NO-CARRIER)
                cmds += ['link add virbr0 type bridge stp_state 1', 'link set virbr0 address %s' % _mac(model['name'], cname, 'virbr0'),
                         'addr add 192.168.122.1/24 brd 192.168.122.255 dev virbr0', 'link set virbr0 up']
                self._iface(cname, 'virbr0', kind='bridge', addresses=['192.168.122.1/24'], mac=_mac(model['name'], cname, 'virbr0'),
                            role='libvirt_default_network')
        for inst in model['instances'].values():
            if inst['state'] != 'active':
                continue
            cname, hn, vnet = inst['host'], inst['hostname'], inst['vnet']
            vmac = 'fe' + inst['mac'][2:]
            self._veth(first, cname, vnet, hn, 'eth0', mac_a=vmac, mac_b=inst['mac'])
            first[cname].append('link set %s master %s' % (vnet, inst['bridge']))
            first[cname].append('link set %s up' % vnet)
            self._iface(cname, vnet, master=inst['bridge'], instance=hn)
            later[hn] = ['link set lo up', 'link set eth0 up']
        # switch first (it creates the veths into every other namespace), then the others
        ip_batch(self.ns(sw), first.pop(sw))
        self._parallel([(ip_batch, self.ns(h), cmds) for h, cmds in first.items()])
        self._parallel([(ip_batch, self.ns(h), cmds) for h, cmds in later.items()])
        fdb = []
        if model['vlan_mode']:
            for cname, comp in model['computes'].items():
                lines = []
                for other, ocomp in model['computes'].items():
                    if other == cname:
                        continue
                    for label in comp['networks']:
                        if label in ocomp['networks']:
                            lines.append('fdb append 00:00:00:00:00:00 dev vlan%d dst %s'
                                         % (model['networks'][label]['vlan'], ocomp['management_address']))
                if lines:
                    fdb.append((cname, lines))
        for cname, lines in fdb:
            run(['bridge', '-n', self.ns(cname), '-batch', '-'], input='\n'.join(lines) + '\n')
        jobs = []
        for cname, comp in model['computes'].items():
            jobs.append((self._sysctl, cname, 'net.ipv4.ip_forward', '1'))
            jobs.append((self._iptables_restore, cname, novafiles.iptables_ruleset(model, comp)))
            ebt = novafiles.ebtables_ruleset(model, comp)
            if ebt:
                jobs.append((self._ebtables_restore, cname, ebt))
        jobs.append((self._sysctl, 'gateway', 'net.ipv4.ip_forward', '1'))
        self._parallel(jobs)

    def _sysctl(self, host, key, value):
        nsrun(self.ns(host), ['sysctl', '-q', '-w', '%s=%s' % (key, value)])

    def _iptables_restore(self, host, text):
        nsrun(self.ns(host), ['iptables-restore'], input=text)

    def _ebtables_restore(self, host, text):
        nsrun(self.ns(host), ['ebtables-restore'], input=text)

    @staticmethod
    def _parallel(jobs, workers=8):
        if not jobs:
            return []
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as ex:
            futs = [ex.submit(j[0], *j[1:]) for j in jobs]
            return [f.result() for f in futs]

    # ------------------------------------------------------------------ files
    def compute_paths(self, cname):
        base = self.hostdir(cname)
        return {
            'nova_conf': os.path.join(base, 'nova.conf'), 'libvirt': os.path.join(base, 'libvirt', 'qemu'),
            'instances': os.path.join(base, 'instances'), 'networks': os.path.join(base, 'networks'),
            'syslog': os.path.join(base, 'log', 'syslog'), 'log': os.path.join(base, 'log'), 'state': base,
        }

    def _write_host_files(self, model):
        dbp = self.state.setdefault('db', {})
        dbp.setdefault('nova_password', secrets.token_urlsafe(12))
        for d in ('run', 'bin'):
            os.makedirs(os.path.join(self.root, d), mode=0o755, exist_ok=True)
        for h, rec in self.state['hosts'].items():
            if rec['role'] == 'switch':
                continue
            os.makedirs(self.hostdir(h), mode=0o755, exist_ok=True)
            self.write_python_wrapper(h)
        for cname, comp in model['computes'].items():
            paths = self.compute_paths(cname)
            for k in ('libvirt', 'instances', 'networks', 'log'):
                os.makedirs(paths[k], mode=0o755, exist_ok=True)
            open(paths['syslog'], 'a').close()
            self.state['hosts'][cname]['paths'] = paths
            for label in comp['networks']:
                net = model['networks'][label]
                insts = [i for i in model['instances'].values()
                         if i['host'] == cname and i['network'] == label and i['state'] == 'active']
                write_file(os.path.join(paths['networks'], 'nova-%s.conf' % net['bridge']),
                           ''.join(novafiles.hostsfile_line(model, i) + '\n' for i in insts))
                write_file(os.path.join(paths['networks'], 'nova-%s.hosts' % net['bridge']),
                           ''.join(novafiles.dns_hosts_line(model, i) + '\n' for i in insts))
            for inst in model['instances'].values():
                if inst['host'] != cname or inst['state'] != 'active':
                    continue
                idir = os.path.join(paths['instances'], inst['uuid'])
                os.makedirs(idir, mode=0o755, exist_ok=True)
                console = os.path.join(idir, 'console.log')
                open(console, 'a').close()
                write_file(os.path.join(paths['libvirt'], '%s.xml' % inst['name']),
                           novafiles.libvirt_xml(model, inst, console))
        for inst in model['instances'].values():
            if inst['state'] == 'active':
                os.makedirs(self.hostdir(inst['hostname']), mode=0o755, exist_ok=True)

    def _write_nova_confs(self, model):
        for cname, comp in model['computes'].items():
            paths = self.compute_paths(cname)
            db = self.state.get('db', {})
            url = 'mysql+pymysql://nova:%s@127.0.0.1:%s/nova' % (db.get('nova_password'), db.get('port'))
            write_file(paths['nova_conf'], novafiles.nova_conf(model, comp, paths, url))

    # ------------------------------------------------------------------ daemons
    def dnsmasq_argv(self, cname, label):
        model = self.model
        comp = model['computes'][cname]
        net = model['networks'][label]
        paths = self.compute_paths(cname)
        nd = paths['networks']
        br = net['bridge']
        return [
            which('dnsmasq'), '--strict-order', '--bind-interfaces', '--conf-file=',
            '--domain=%s' % model['dhcp_domain'], '--pid-file=%s/nova-%s.pid' % (nd, br),
            '--listen-address=%s' % comp['networks'][label], '--except-interface=lo',
            "--dhcp-range=set:'novanetwork',%s,static,120s" % net['dhcp_start'],
            '--dhcp-lease-max=%d' % net['size'], '--dhcp-hostsfile=%s/nova-%s.conf' % (nd, br),
            '--leasefile-ro', '--no-hosts', '--addn-hosts=%s/nova-%s.hosts' % (nd, br),
            '--no-resolv', '--server=%s' % model['external']['servers'][0]['address'],
            '--log-facility=%s' % self._fifo(cname, br),
        ]

    def _fifo(self, host, tag):
        return os.path.join(self.root, 'run', '%s-dnsmasq-%s.log' % (host, tag))

    def start_dnsmasq(self, cname, label):
        argv = self.dnsmasq_argv(cname, label)
        br = self.model['networks'][label]['bridge']
        pidfile = argv[5].split('=', 1)[1]
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass
        nsrun(self.ns(cname), argv, timeout=15)
        pid = read_pidfile(pidfile)
        if not pid:
            raise LabError('dnsmasq for %s on %s did not start' % (br, cname))
        self._record_process('dnsmasq:%s:%s' % (cname, br), pid, argv, cname, self.ns(cname), pidfile)
        return pid

    def _start_daemons(self, model):
        run_dir = os.path.join(self.root, 'run')
        specs = []
        for cname, comp in model['computes'].items():
            for label in comp['networks']:
                fifo = self._fifo(cname, model['networks'][label]['bridge'])
                if not os.path.exists(fifo):
                    os.mkfifo(fifo, 0o660)
                specs.append('%s=%s=%s' % (fifo, cname, self.compute_paths(cname)['syslog']))
        pidfile = os.path.join(run_dir, 'syslogd.pid')
        argv = [sys.executable, '-m', 'lab.syslogd', '--pidfile', pidfile] + specs
        subprocess.run(argv, cwd=REPO, check=True, timeout=15, stdin=subprocess.DEVNULL)
        pid = read_pidfile(pidfile)
        if not pid:
            raise LabError('the lab syslog daemon did not start')
        self._record_process('syslogd', pid, argv, None, None, pidfile)
        jobs = []
        for cname, comp in model['computes'].items():
            for label in comp['networks']:
                jobs.append((self.start_dnsmasq, cname, label))
            jobs.append((self._start_metadata, cname))
        for s in model['external']['servers']:
            jobs.append((self.start_external_dns, s['name']))
        self._parallel(jobs)

    def external_dns_argv(self, sname):
        model = self.model
        s = [x for x in model['external']['servers'] if x['name'] == sname][0]
        d = self.hostdir(sname)
        argv = [which('dnsmasq'), '--conf-file=', '--no-resolv', '--no-hosts', '--bind-interfaces',
                '--listen-address=%s' % s['address'], '--except-interface=lo', '--pid-file=%s/dnsmasq.pid' % d,
                '--log-facility=%s/dnsmasq.log' % d, '--log-queries']
        argv += ['--host-record=%s,%s' % (r['name'], r['address']) for r in model['external']['dns_records']]
        zones = sorted({r['name'].split('.', 1)[1] for r in model['external']['dns_records'] if '.' in r['name']})
        argv += ['--local=/%s/' % z for z in zones]
        for cidr in (model['external']['cidr'], model['public']['cidr']):  # authoritative for the reverse zones
            if cidr.endswith('/24'):
                argv.append('--local=/%s.in-addr.arpa/' % '.'.join(reversed(cidr.split('/')[0].split('.')[:3])))
        return argv

    def start_external_dns(self, sname, argv=None):
        argv = argv or self.external_dns_argv(sname)
        pidfile = os.path.join(self.hostdir(sname), 'dnsmasq.pid')
        os.makedirs(self.hostdir(sname), mode=0o755, exist_ok=True)
        nsrun(self.ns(sname), argv, timeout=15)
        pid = read_pidfile(pidfile)
        if not pid:
            raise LabError('DNS server on %s did not start' % sname)
        self._record_process('dns:%s' % sname, pid, argv, sname, self.ns(sname), pidfile)

    def _start_metadata(self, cname):
        model = self.model
        comp = model['computes'][cname]
        mapping = {}
        for inst in model['instances'].values():
            if inst['host'] == cname and inst['state'] == 'active':
                mapping[inst['fixed_ip']] = {'instance-id': 'i-%08x' % inst['id'], 'hostname': '%s.%s' % (inst['hostname'], model['dhcp_domain']),
                                             'local-ipv4': inst['fixed_ip'], 'public-ipv4': inst['floating_ip'] or '',
                                             'local-hostname': inst['hostname']}
        mfile = os.path.join(self.root, 'run', '%s-metadata.json' % cname)
        write_file(mfile, json.dumps(mapping))
        pidfile = os.path.join(self.root, 'run', '%s-metadata.pid' % cname)
        argv = [sys.executable, '-m', 'lab.metadata', '--pidfile', pidfile, '--listen',
                '%s:%d' % (novafiles.metadata_ip(model, comp), novafiles.METADATA_PORT), '--map', mfile]
        subprocess.run(['ip', 'netns', 'exec', self.ns(cname)] + argv, cwd=REPO, check=True, timeout=15, stdin=subprocess.DEVNULL)
        pid = read_pidfile(pidfile)
        if not pid:
            raise LabError('metadata server on %s did not start' % cname)
        self._record_process('metadata:%s' % cname, pid, argv, cname, self.ns(cname), pidfile)

    # ------------------------------------------------------------------ instances
    def _boot_instances(self, insts):
        self._parallel([(self.boot_instance, i['hostname']) for i in insts])

    def boot_instance(self, hostname):
        """(Re)boot an instance's networking the way Cirros does: DHCP with udhcpc, then the metadata
        request; write the console log from what really happened."""
        model = self.model
        inst = model['instances'][hostname]
        ns = self.ns(hostname)
        idir = self.hostdir(hostname)
        key = 'udhcpc:%s' % hostname
        old = self.state.get('processes', {}).get(key)
        if old:
            kill_pid(old['pid'], old['match'], sig=signal.SIGKILL)
        # a (hard) reboot: the guest's interface starts unconfigured
        run(['ip', '-n', ns, '-4', 'addr', 'flush', 'dev', 'eth0'], check=False)
        run(['ip', '-n', ns, '-4', 'route', 'flush', 'table', 'main'], check=False)
        for f in ('lease', 'resolv.conf'):
            try:
                os.unlink(os.path.join(idir, f))
            except FileNotFoundError:
                pass
        pidfile = os.path.join(idir, 'udhcpc.pid')
        out = os.path.join(idir, 'udhcpc.out')
        argv = [which('busybox'), 'udhcpc', '-i', 'eth0', '-s', UDHCPC_SCRIPT, '-p', pidfile] + UDHCPC_ARGS
        env = dict(os.environ, LC_ALL='C', PATH='/usr/sbin:/usr/bin:/sbin:/bin', NETDIAG_LAB_INSTANCE_DIR=idir)
        t0 = time.monotonic()
        with open(out, 'w') as f:
            subprocess.run(['ip', 'netns', 'exec', ns] + argv, stdout=f, stderr=subprocess.STDOUT, env=env,
                           stdin=subprocess.DEVNULL, timeout=30, check=False)
        with open(out) as f:
            lines = f.read().splitlines()
        pid = read_pidfile(pidfile, wait=1.0)
        if pid:
            self._record_process(key, pid, argv, hostname, ns, pidfile)
        lease = os.path.exists(os.path.join(idir, 'lease'))
        wget = self._metadata_request(ns)
        got = self.lease(hostname) or {}
        userdata = self._userdata_lookup(ns, (got.get('dns') or '').split())
        uptime = 1.0 + time.monotonic() - t0
        comp_paths = self.compute_paths(inst['host'])
        console = os.path.join(comp_paths['instances'], inst['uuid'], 'console.log')
        rec = dict(inst, prefixlen=model['networks'][inst['network']]['prefixlen'])
        write_file(console, novafiles.console_log(lines, wget, rec, uptime, userdata))
        with self._lock:
            hrec = self.state['hosts'][hostname]
            hrec['interfaces']['eth0']['addresses'] = ['%s/%s' % (got['ip'], got['mask'])] if got.get('ip') else []
            hrec['routes'] = [{'dst': 'default', 'via': got['router'].split()[0], 'dev': 'eth0'}] if got.get('router') else []
            self.state.setdefault('instances', {})[hostname] = {
                'lease': lease, 'lease_file': os.path.join(idir, 'lease'), 'resolv_conf': os.path.join(idir, 'resolv.conf'),
                'console_log': console, 'metadata_ok': wget[0], 'booted': datetime.datetime.utcnow().isoformat() + 'Z'}
        return lease

    def _userdata_lookup(self, ns, servers, timeout=2):
        """The instance's user-data script: look up the first name of the topology's DNS records through the
        DNS server its lease gave (what an image fetching a package mirror at boot does), with busybox
        ``nslookup``; returns the lines it printed, ``set -x`` style, or None when there is nothing to look up
        (no record, or no lease with a DNS server). Only the lease's server is asked, never the machine's own
        resolvers."""
        names = dns_names(self.model)
        if not names or not servers:
            return None
        argv = ['ip', 'netns', 'exec', ns, which('busybox'), 'nslookup', '-timeout=%d' % timeout, names[0], servers[0]]
        out = ['+ nslookup %s %s' % (names[0], servers[0])]
        try:
            res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout + 4,
                                 stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL='C'), check=False)
            out.extend(ln for ln in res.stdout.splitlines() if ln.strip())
        except subprocess.TimeoutExpired:
            out.append(';; connection timed out; no servers could be reached')
        return out

    @staticmethod
    def _metadata_request(ns, timeout=4):
        """Cirros' metadata request, as (ok, text). busybox 1.35's ``wget -T`` crashes, so the bound
        is ours: a request still hanging after ``timeout`` seconds is reported the way wget reports a
        TCP connect timeout."""
        argv = ['ip', 'netns', 'exec', ns, which('busybox'), 'wget', '-q', '-O', '-', METADATA_URL]
        try:
            res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                                 stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL='C'), check=False)
        except subprocess.TimeoutExpired:
            return (False, "wget: can't connect to remote host (169.254.169.254): Connection timed out")
        if res.returncode == 0:
            return (True, res.stdout)
        return (False, res.stderr.strip())

    def lease(self, hostname):
        """The lease the instance's udhcpc script recorded (dict), or None."""
        try:
            with open(os.path.join(self.hostdir(hostname), 'lease')) as f:
                return dict(line.rstrip('\n').split('=', 1) for line in f if '=' in line)
        except OSError:
            return None

    # ------------------------------------------------------------------ DB
    def _db_start(self):
        from lab.mariadb import MariaDB
        db = MariaDB(os.path.join(self.root, 'mariadb'))
        db.start()
        db.create_database('nova', DDL)
        self._mariadb = db
        with self._lock:
            self.state['db'].update({'base_dir': db.base_dir, 'port': db.port, 'pid': db.pid, 'socket': db.socket})
        self._record_process('mariadbd', db.pid, ['mariadbd', '--datadir=%s' % db.datadir], None, None, db.pid_file,
                             match='--datadir=%s' % db.datadir)

    def mariadb(self):
        from lab.mariadb import MariaDB
        m = getattr(self, '_mariadb', None)
        if m is None:
            m = MariaDB(os.path.join(self.root, 'mariadb'), port=self.state.get('db', {}).get('port'))
            self._mariadb = m
        return m

    def db_connect(self):
        return self.mariadb().connect('nova', autocommit=False)

    def _db_fill(self, model):
        from lab import novadb
        db = self.mariadb()
        rows = novadb.fill(db, model)
        self.state['db']['rows'] = rows
        params = db.create_user('nova', self.state['db']['nova_password'])
        self.state['db']['conn_params'] = params
        self._write_nova_confs(model)

    # ------------------------------------------------------------------ inventory
    def _write_inventory(self, model):
        hosts = self.state['hosts']
        ext0 = model['external']['servers'][0]

        def base(h):
            return {'ansible_connection': 'local', 'ansible_python_interpreter': hosts[h]['python'],
                    'netdiag_lab_netns': hosts[h]['netns']}
        compute = {}
        for cname in model['computes']:
            p = self.compute_paths(cname)
            compute[cname] = dict(base(cname), netdiag_nova_host=cname, netdiag_nova_conf_path=p['nova_conf'],
                                  netdiag_libvirt_xml_dir=p['libvirt'], netdiag_instances_dir=p['instances'],
                                  netdiag_dnsmasq_log_path=p['syslog'], netdiag_dnsmasq_state_dir=p['networks'])
        insts = {i['hostname']: dict(base(i['hostname']), netdiag_instance=i['hostname'])
                 for i in model['instances'].values() if i['state'] == 'active'}
        ext = {s['name']: base(s['name']) for s in model['external']['servers']}
        inv = {'all': {
            'vars': {
                'netdiag_lab': self.name, 'netdiag_lab_root': self.root,
                'netdiag_external_target': ext0['address'],
                # names the cloud's users must be able to resolve (the operator's DNS canaries)
                'netdiag_dns_names': dns_names(model),
                'netdiag_nova_db': {k: v for k, v in self.state['db']['conn_params'].items() if k != 'login_unix_socket'},
                'netdiag_report_dir': os.path.join(self.root, 'reports'),
            },
            'children': {
                'compute': {'hosts': compute},
                'netdiag_instances': {'hosts': insts},
                'netdiag_external': {'hosts': ext},
                'netdiag_lab_gateways': {'hosts': {'gateway': base('gateway')}},
            }}}
        os.makedirs(os.path.join(self.root, 'reports'), mode=0o755, exist_ok=True)
        write_file(self.inventory_path, '# netdiag lab %s (topology %s), written by lab up\n' % (self.name, model['name'])
                   + yaml.safe_dump(inv, default_flow_style=False, sort_keys=False), 0o600)

    # ------------------------------------------------------------------ down
    def down(self):
        """Remove everything the lab made: processes (by recorded pid), namespaces, DB, files. Idempotent."""
        state = self.state or self._load()
        procs = state.get('processes', {})
        for key, p in procs.items():
            if key == 'mariadbd':
                continue
            kill_pid(p.get('pid'), p.get('match') or '', sig=signal.SIGTERM, wait=2)
        for ns in state.get('namespaces', []):
            if ns in netns_list():
                for pid in run(['ip', 'netns', 'pids', ns], check=False).stdout.split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
        if os.path.isdir(os.path.join(self.root, 'mariadb')):
            try:
                self.mariadb().destroy()
            except Exception:  # pylint: disable=broad-except
                mp = procs.get('mariadbd')
                if mp:
                    kill_pid(mp.get('pid'), mp.get('match'), wait=10)
        for ns in state.get('namespaces', []):
            if ns in netns_list():
                run(['ip', 'netns', 'del', ns], check=False)
        for path in state.get('local_namespaces', []):
            if os.path.ismount(path):
                run(['umount', path], check=False)
        if os.path.isdir(self.root):
            shutil.rmtree(self.root)
        self.state = {}
        self._mariadb = None

    # ------------------------------------------------------------------ status
    def status(self):
        """What is alive: namespaces, processes, DB, active faults; ``healthy`` when all is there."""
        st = self.state or self._load()
        if not st:
            return {'name': self.name, 'exists': False, 'healthy': False}
        have = set(netns_list())
        ns = {n: n in have for n in st.get('namespaces', [])}
        ns.update({p: os.path.ismount(p) for p in st.get('local_namespaces', [])})
        procs = {k: {'pid': p['pid'], 'alive': pid_matches(p['pid'], p.get('match') or '')}
                 for k, p in st.get('processes', {}).items()}
        expected_dead = set()
        for f in st.get('faults', []):
            expected_dead.update(f.get('expect_dead', []))
        healthy = st.get('complete', False) and all(ns.values()) and all(
            v['alive'] for k, v in procs.items() if k not in expected_dead)
        return {'name': self.name, 'exists': True, 'topology': st.get('topology'), 'root': self.root,
                'complete': st.get('complete', False), 'namespaces': ns, 'processes': procs,
                'faults': [{'name': f['name'], 'target': f.get('target')} for f in st.get('faults', [])],
                'instances': {h: {'lease': (self.lease(h) or {}).get('ip')} for h in st.get('instances', {})},
                'inventory': self.inventory_path, 'healthy': bool(healthy)}

    # ------------------------------------------------------------------ faults
    def _faults(self):
        from lab import faults, ml2ovs_faults, ovn_faults
        return {'ovn': ovn_faults, 'ml2ovs': ml2ovs_faults}.get(self.state.get('backend'), faults)

    def fault(self, name, target=None):
        return self._faults().inject(self, name, target)

    def heal(self):
        return self._faults().heal(self)


class _Thread(threading.Thread):
    """A thread that re-raises its exception in join()."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self._fn = fn
        self._exc = None

    def run(self):
        try:
            self._fn()
        except BaseException as exc:  # pylint: disable=broad-except
            self._exc = exc

    def join(self, timeout=None):
        super().join(timeout)
        if self._exc is not None:
            exc, self._exc = self._exc, None
            raise exc
