# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Neutron ML2/OVN lab (topology ``ovn``): real Open vSwitch and OVN daemons in network namespaces.

Every node (controller, computes) is a namespace running its own ``ovsdb-server`` and ``ovs-vswitchd`` (userspace
datapath: there is no OVS kernel module here, ``datapath_type=netdev``) and its own ``ovn-controller``; the
controller also runs OVN central (the NB and SB ``ovsdb-server``s and ``ovn-northd``). Each daemon has its own
run, db and log files under ``<lab root>/hosts/<node>/ovs`` (``OVS_RUNDIR``/``OVS_DBDIR``/``OVS_LOGDIR``/
``OVN_RUNDIR``), is started with ``--pidfile --detach`` inside the node's namespace (ovs-vswitchd creates its tap
devices, ``br-int``, ``br-phy``, ``ovs-netdev``, where it runs) and is recorded by pid, so ``lab down`` ends exactly
those. The tunnel network is a Linux bridge in the lab's ``switch`` namespace; each node's ``eth1`` is a port of a
netdev bridge ``br-phy`` carrying the node's tunnel address, which the userspace datapath needs to route its
geneve packets.

What Neutron would configure, the lab plays itself with the same names: a logical switch ``neutron-<network id>``
with ``neutron:`` external_ids, one logical switch port per instance named by the Neutron port id with its MAC and
fixed IP (and port security), OVN native DHCP options for the subnet, and the instance's tap ``tap<port id[:11]>``
on ``br-int`` with ``external_ids:iface-id=<port id>`` (what os-vif and nova write). The instance is a namespace
whose ``eth0`` gets its address from OVN's DHCP (busybox udhcpc, as Cirros).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import ipaddress
import os
import re
import uuid

import yaml

from lab.sysutil import LabError, ip_batch, nsrun, read_pidfile, run, which, write_file

OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'
NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema'
SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema'
UDHCPC_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'udhcpc.script')
NEUTRON_DDL = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sql', 'neutron_tables.sql')
NOVA_DDL = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sql', 'nova_network_tables.sql')
_LAB_NS = uuid.UUID('4f0e4b8e-3c8a-5b7e-9d2a-6c1f0a9b8e71')
_NAME = re.compile(r'^[a-z][a-z0-9]{0,9}$')
_HOST = re.compile(r'^[a-z][a-z0-9-]{0,30}$')
TOOLS = ('ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovn-northd', 'ovn-controller', 'ovn-nbctl', 'ovn-sbctl',
         'busybox', 'ip')


NEUTRON_BACKENDS = ('ovn', 'ml2ovs')


def neutron_backend(path):
    """The Neutron backend (``ovn`` or ``ml2ovs``) the topology file at ``path`` describes, None for nova-network."""
    try:
        with open(path, encoding='utf-8') as f:
            head = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return None
    backend = head.get('backend') if isinstance(head, dict) else None
    return backend if backend in NEUTRON_BACKENDS else None


def is_ovn(path):
    """True when the topology file at ``path`` describes a Neutron/OVN lab (``backend: ovn``)."""
    return neutron_backend(path) == 'ovn'


def _uuid(topo, kind, key):
    return str(uuid.uuid5(_LAB_NS, '%s/%s/%s' % (topo, kind, key)))


def _mac(prefix, *parts):
    h = hashlib.sha256('/'.join(parts).encode()).digest()
    return '%s:%02x:%02x:%02x' % (prefix, h[0], h[1], h[2])


def load_model(path, salt=''):
    """The full, deterministic model of a Neutron topology file (names, uuids, MACs, taps derived here).

    ``salt`` enters every uuid: the ML2/OVS lab passes its lab name, since its ``qdhcp-``/``qrouter-`` namespaces are
    named by Neutron ids and must not collide with another lab's."""
    from lab.topology import TopologyError
    try:
        with open(path, encoding='utf-8') as f:
            t = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise TopologyError('cannot read topology %s: %s' % (path, exc))
    name = str(t.get('name') or '')
    if not _NAME.match(name):
        raise TopologyError('topology name %r must match %s' % (name, _NAME.pattern))
    backend = t.get('backend')
    if backend not in NEUTRON_BACKENDS:
        raise TopologyError('topology %s: backend %r is not one of %s' % (path, backend, ', '.join(NEUTRON_BACKENDS)))
    seed = '%s@%s' % (name, salt) if salt else name
    tunnel = ipaddress.ip_network(str((t.get('tunnel') or {}).get('cidr') or '192.168.50.0/24'))
    nodes, networks, instances = {}, {}, {}
    for n in t.get('nodes') or []:
        if not _HOST.match(str(n.get('name'))) or n.get('role') not in ('controller', 'compute'):
            raise TopologyError('node %r: a name and a role (controller or compute) are needed' % n)
        addr = ipaddress.ip_address(str(n['tunnel_address']))
        if addr not in tunnel:
            raise TopologyError('node %s: tunnel address %s is outside %s' % (n['name'], addr, tunnel))
        nodes[n['name']] = {'name': n['name'], 'role': n['role'], 'tunnel_address': str(addr), 'prefixlen': tunnel.prefixlen,
                            'system_id': _uuid(seed, 'chassis', n['name'])}
    if [n for n in nodes.values() if n['role'] == 'controller'].__len__() != 1:
        raise TopologyError('an ovn topology has exactly one controller node')
    for net in t.get('networks') or []:
        cidr = ipaddress.ip_network(str(net['cidr']))
        nid = _uuid(seed, 'network', net['name'])
        networks[net['name']] = {
            'name': net['name'], 'id': nid, 'subnet_id': _uuid(seed, 'subnet', net['name']), 'cidr': str(cidr),
            'gateway': str(net.get('gateway') or next(cidr.hosts())), 'prefixlen': cidr.prefixlen,
            'mtu': int(net.get('mtu') or (1442 if backend == 'ovn' else 1450)), 'project_id': str(net.get('project_id') or ''),
            'switch': 'neutron-%s' % nid, 'dhcp_mac': _mac('fa:16:3e', seed, 'dhcp', net['name'])}
    if backend == 'ovn':
        for net in networks.values():
            # the network's metadata port (device_owner network:distributed, an OVN localport), its address the first free one
            # of the subnet, as Neutron allocates it; neutron-ovn-metadata-agent's namespace and veth pair on every chassis
            # with a port of the network (tap + the first 10 characters of the network id + 0 on br-int, + 1 inside)
            used = {net['gateway']} | {str(i.get('fixed_ip')) for i in t.get('instances') or [] if i.get('network') == net['name']}
            ip = next(str(h) for h in ipaddress.ip_network(net['cidr']).hosts() if str(h) not in used)
            net.update({'metadata_port_id': _uuid(seed, 'port', 'metadata-%s' % net['name']), 'metadata_ip': ip,
                        'metadata_mac': _mac('fa:16:3e', seed, 'metadata', net['name']), 'ovnmeta': 'ovnmeta-%s' % net['id'],
                        'metadata_veth': ['tap%s0' % net['id'][:10], 'tap%s1' % net['id'][:10]]})
    for k, i in enumerate(t.get('instances') or [], 1):
        hn = str(i.get('hostname'))
        if not _HOST.match(hn) or i.get('host') not in nodes or i.get('network') not in networks:
            raise TopologyError('instance %r: a hostname, a host among the nodes and a network are needed' % i)
        net = networks[i['network']]
        ip = ipaddress.ip_address(str(i['fixed_ip']))
        if ip not in ipaddress.ip_network(net['cidr']):
            raise TopologyError('instance %s: %s is outside %s' % (hn, ip, net['cidr']))
        port = _uuid(seed, 'port', hn)
        fip = i.get('floating_ip')
        instances[hn] = {'hostname': hn, 'uuid': _uuid(seed, 'instance', hn), 'name': 'instance-%08x' % k,
                         'host': i['host'], 'network': i['network'], 'fixed_ip': str(ip), 'port_id': port,
                         'mac': _mac('fa:16:3e', seed, 'port', hn), 'tap': 'tap' + port[:11], 'state': 'active',
                         'floating_ip': str(ipaddress.ip_address(str(fip))) if fip else None,
                         'floating_ip_id': _uuid(seed, 'floatingip', hn) if fip else None}
    model = {'name': name, 'seed': seed, 'backend': backend, 'file': os.path.abspath(path), 'tunnel': str(tunnel), 'nodes': nodes,
             'networks': networks, 'instances': instances, 'public': None, 'external': None, 'router': None}
    if t.get('router'):
        pub, ext, r = t.get('public') or {}, t.get('external') or {}, t['router']
        pcidr = ipaddress.ip_network(str(pub['cidr']))
        model['public'] = {'name': 'public', 'id': _uuid(seed, 'network', 'public'), 'subnet_id': _uuid(seed, 'subnet', 'public'),
                           'cidr': str(pcidr), 'prefixlen': pcidr.prefixlen, 'gateway': str(pub['gateway']),
                           'physnet': str(pub.get('physical_network') or 'physnet1'), 'segment_id': _uuid(seed, 'segment', 'public')}
        model['public']['switch'] = 'neutron-%s' % model['public']['id']
        model['external'] = {'cidr': str(ext['cidr']), 'gateway': str(ext['gateway']),
                             'servers': [{'name': s_['name'], 'address': str(s_['address'])} for s_ in ext.get('servers') or []]}
        rid = _uuid(seed, 'router', r.get('name') or 'router1')
        model['router'] = {'name': r.get('name') or 'router1', 'id': rid, 'lr': 'neutron-%s' % rid,
                           'gateway_ip': str(r['gateway_ip']), 'gw_port_id': _uuid(seed, 'port', 'router-gw'),
                           'gw_mac': _mac('fa:16:3e', seed, 'router-gw'), 'interfaces': {}}
        for net in networks.values():
            pid = _uuid(seed, 'port', 'router-if-%s' % net['name'])
            model['router']['interfaces'][net['name']] = {'port_id': pid, 'mac': _mac('fa:16:3e', seed, 'router-if', net['name']),
                                                          'ip': net['gateway']}
        for i in instances.values():
            if i['floating_ip'] and ipaddress.ip_address(i['floating_ip']) not in pcidr:
                raise TopologyError('instance %s: floating IP %s is outside the public network %s' % (i['hostname'], i['floating_ip'], pcidr))
    if backend == 'ml2ovs':
        from lab.ml2ovs import extend_model
        extend_model(model, t, lambda kind, key: _uuid(seed, kind, key), lambda *parts: _mac('fa:16:3e', seed, *parts))
    return model


def parallel(jobs):
    """Run ``jobs`` [(fn, *args)] in threads; the first failure is raised."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        for f in [ex.submit(*j) for j in jobs]:
            f.result()


class OvnLab(object):
    """Builds the OVN lab into a ``lab.core.Lab`` (its state, namespaces and process records)."""

    # who answers the instances' DHCP, for the lab's error messages
    DHCP_SERVER = 'OVN'

    def __init__(self, lab):
        self.lab = lab

    # ------------------------------------------------------------------ paths and commands
    def ovsdir(self, node):
        return self.lab.hostdir(node, 'ovs')

    def central(self):
        return os.path.join(self.lab.root, 'ovn-central')

    def vsctl(self, node, *args, check=True):
        d = self.ovsdir(node)
        return nsrun(self.lab.ns(node), ['ovs-vsctl', '--db=unix:%s/db.sock' % d, '--timeout=10'] + list(args), check=check)

    def nbctl(self, *args, check=True):
        return run(['ovn-nbctl', '--db=unix:%s/nb.sock' % self.central(), '--timeout=10'] + list(args), check=check)

    def sbctl(self, *args, check=True):
        return run(['ovn-sbctl', '--db=unix:%s/sb.sock' % self.central(), '--timeout=10'] + list(args), check=check)

    def _daemon(self, key, node, argv, pidfile, env):
        """Start a daemon that detaches, inside ``node``'s namespace; record its pid."""
        ns = self.lab.ns(node)
        run(['ip', 'netns', 'exec', ns, 'env'] + ['%s=%s' % kv for kv in sorted(env.items())] + argv, timeout=30)
        pid = read_pidfile(pidfile, wait=5)
        if not pid:
            raise LabError('%s on %s did not start (no live pid in %s)' % (argv[0], node, pidfile))
        self.lab._record_process(key, pid, argv, node, ns, pidfile)   # pylint: disable=protected-access
        return pid

    def _env(self, d):
        return {'OVS_RUNDIR': d, 'OVS_DBDIR': d, 'OVS_LOGDIR': d, 'OVN_RUNDIR': d, 'OVN_DBDIR': d, 'OVN_LOGDIR': d}

    # ------------------------------------------------------------------ up
    def up(self, model):
        lab = self.lab
        for tool in TOOLS:
            which(tool)
        for schema in (OVS_SCHEMA, NB_SCHEMA, SB_SCHEMA):
            if not os.path.exists(schema):
                raise LabError('%s is missing (Debian packages openvswitch-switch, ovn-central, ovn-host)' % schema)
        hosts = self.plan_hosts(model)
        self.read_versions()

        def switches():
            parallel([(self._start_ovs, n) for n in model['nodes']] + [(self._start_central, model)])
            for n in model['nodes'].values():
                self._chassis(n)

        def logical():
            self._logical(model)
            if model.get('router'):
                self._provider(model)
        metadata = sorted({(i['host'], i['network']) for i in model['instances'].values()})
        return lab.build(model, hosts, self._db_start,
                         [lambda: self._underlay(model), switches, logical,
                          lambda: parallel([(self._metadata, model, n, net) for n, net in metadata]),
                          lambda: parallel([(self._instance, model, i) for i in model['instances'].values()])],
                         [lambda: self._db_fill(model), lambda: self._write_inventory(model)], backend='ovn')

    def plan_hosts(self, model):
        """The lab hosts of a Neutron topology: the switch, the nodes, the instances, the provider gateway and the external
        servers."""
        hosts = {'switch': {'role': 'switch'}}
        for n in model['nodes'].values():
            hosts[n['name']] = {'role': n['role']}
        for i in model['instances'].values():
            hosts[i['hostname']] = {'role': 'instance'}
        if model.get('router'):
            hosts['gateway'] = {'role': 'gateway'}
            for srv in model['external']['servers']:
                hosts[srv['name']] = {'role': 'external'}
        return hosts

    def read_versions(self):
        """What ovs-ctl records in each switch at start: the versions of the switch and of its schema."""
        self.versions = (run(['ovs-vswitchd', '--version']).stdout.split('\n')[0].rsplit(' ', 1)[-1],
                         run(['ovsdb-tool', 'schema-version', OVS_SCHEMA]).stdout.strip())

    def _db_start(self):
        from lab.mariadb import MariaDB
        lab = self.lab
        db = MariaDB(os.path.join(lab.root, 'mariadb'))
        db.start()
        db.create_database('neutron', NEUTRON_DDL)
        db.create_database('nova', NOVA_DDL)
        lab._mariadb = db   # pylint: disable=protected-access
        with lab._lock:     # pylint: disable=protected-access
            lab.state['db'].update({'base_dir': db.base_dir, 'port': db.port, 'pid': db.pid, 'socket': db.socket})
        lab._record_process('mariadbd', db.pid, ['mariadbd', '--datadir=%s' % db.datadir], None, None, db.pid_file,  # pylint: disable=protected-access
                            match='--datadir=%s' % db.datadir)

    def _db_fill(self, model):
        import secrets
        from lab import neutrondb
        db = self.lab.mariadb()
        self.lab.state['db']['rows'] = neutrondb.fill(db, model, lambda kind, key: _uuid(model.get('seed') or model['name'], kind, key))
        password = self.lab.state['db'].setdefault('neutron_password', secrets.token_urlsafe(12))
        # the collection only reads: its user has SELECT on the neutron database and nothing else
        params = db.create_user('netdiag', password, grants=('SELECT ON neutron.*', 'SELECT ON nova.*'))
        params['login_db'] = 'neutron'
        self.lab.state['db']['conn_params'] = params
        proj = next(iter(model['networks'].values()))['project_id'] if model['networks'] else ''
        neutrondb.fill_nova(db, model, (proj, _uuid(model.get('seed') or model['name'], 'user', 'demo').replace('-', '')))

    def _underlay(self, model):
        lab = self.lab
        for h in lab.state['hosts'].values():
            run(['ip', 'netns', 'add', h['netns']])
        sw = ['link set lo up', 'link add tunnel type bridge stp_state 0 forward_delay 0', 'link set tunnel up']
        for node in model['nodes']:
            port = '%s-tun' % node[:10]
            sw += ['link add %s type veth peer name eth1 netns %s' % (port, lab.ns(node)),
                   'link set %s master tunnel' % port, 'link set %s up' % port]
            lab.state['links'].append({'a': ['switch', port], 'b': [node, 'eth1'], 'type': 'veth'})
        if model.get('router'):
            pub, ext = model['public'], model['external']
            ctl = next(n for n, v in model['nodes'].items() if v['role'] == 'controller')
            sw += ['link add public type bridge stp_state 0 forward_delay 0', 'link set public up',
                   'link add external type bridge stp_state 0 forward_delay 0', 'link set external up']
            for host, dev, br in [(ctl, 'eth0', 'public'), ('gateway', 'eth0', 'public'), ('gateway', 'eth1', 'external')] + [
                    (srv['name'], 'eth0', 'external') for srv in ext['servers']]:
                port = '%s-%s' % (host[:8], dev)
                sw += ['link add %s type veth peer name %s netns %s' % (port, dev, lab.ns(host)), 'link set %s master %s' % (port, br),
                       'link set %s up' % port]
                lab.state['links'].append({'a': ['switch', port], 'b': [host, dev], 'type': 'veth'})
        ip_batch(lab.ns('switch'), sw)
        for node in model['nodes']:
            ip_batch(lab.ns(node), ['link set lo up', 'link set eth1 up'])
        if model.get('router'):
            ip_batch(lab.ns(ctl), ['link set eth0 up'])
            plen = ipaddress.ip_network(ext['cidr']).prefixlen
            ip_batch(lab.ns('gateway'), ['link set lo up', 'link set eth0 up', 'link set eth1 up',
                                         'addr add %s/%d dev eth0' % (pub['gateway'], pub['prefixlen']),
                                         'addr add %s/%d dev eth1' % (ext['gateway'], plen)])
            nsrun(lab.ns('gateway'), ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
            for srv in ext['servers']:
                ip_batch(lab.ns(srv['name']), ['link set lo up', 'link set eth0 up', 'addr add %s/%d dev eth0' % (srv['address'], plen),
                                               'route add default via %s' % ext['gateway']])

    def _start_ovs(self, node):
        d = self.ovsdir(node)
        os.makedirs(d, mode=0o755, exist_ok=True)
        env = self._env(d)
        run(['ovsdb-tool', 'create', '%s/conf.db' % d, OVS_SCHEMA])
        self._daemon('%s-ovsdb-server' % node, node,
                     ['ovsdb-server', '%s/conf.db' % d, '--remote=punix:%s/db.sock' % d, '--pidfile=%s/ovsdb-server.pid' % d,
                      '--detach', '--log-file=%s/ovsdb-server.log' % d, '--unixctl=%s/ovsdb-server.ctl' % d],
                     '%s/ovsdb-server.pid' % d, env)
        self.vsctl(node, '--no-wait', 'init', '--', 'set', 'open_vswitch', '.', 'ovs_version=%s' % self.versions[0],
                   'db_version=%s' % self.versions[1])
        self._daemon('%s-ovs-vswitchd' % node, node,
                     ['ovs-vswitchd', 'unix:%s/db.sock' % d, '--pidfile=%s/ovs-vswitchd.pid' % d, '--detach',
                      '--log-file=%s/ovs-vswitchd.log' % d, '--unixctl=%s/ovs-vswitchd.ctl' % d],
                     '%s/ovs-vswitchd.pid' % d, env)

    def _start_central(self, model):
        c = self.central()
        os.makedirs(c, mode=0o755, exist_ok=True)
        ctl = next(n for n, v in model['nodes'].items() if v['role'] == 'controller')
        env = self._env(c)
        for db, schema in (('nb', NB_SCHEMA), ('sb', SB_SCHEMA)):
            run(['ovsdb-tool', 'create', '%s/%s.db' % (c, db), schema])
            self._daemon('ovn-%s-ovsdb-server' % db, ctl,
                         ['ovsdb-server', '%s/%s.db' % (c, db), '--remote=punix:%s/%s.sock' % (c, db),
                          '--pidfile=%s/%s.pid' % (c, db), '--detach', '--log-file=%s/%s.log' % (c, db),
                          '--unixctl=%s/%s.ctl' % (c, db)], '%s/%s.pid' % (c, db), env)
        self.nbctl('init')
        self.sbctl('init')
        self._daemon('ovn-northd', ctl,
                     ['ovn-northd', '--ovnnb-db=unix:%s/nb.sock' % c, '--ovnsb-db=unix:%s/sb.sock' % c,
                      '--pidfile=%s/northd.pid' % c, '--detach', '--log-file=%s/northd.log' % c, '--unixctl=%s/northd.ctl' % c],
                     '%s/northd.pid' % c, env)

    def _chassis(self, n):
        node = n['name']
        self.vsctl(node, 'add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', 'eth1')
        ip_batch(self.lab.ns(node), ['addr add %s/%d dev br-phy' % (n['tunnel_address'], n['prefixlen']), 'link set br-phy up'])
        self.vsctl(node, 'set', 'open_vswitch', '.', 'external_ids:system-id=%s' % n['system_id'],
                   'external_ids:hostname=%s' % node, 'external_ids:ovn-remote=unix:%s/sb.sock' % self.central(),
                   'external_ids:ovn-encap-type=geneve', 'external_ids:ovn-encap-ip=%s' % n['tunnel_address'],
                   'external_ids:ovn-bridge-datapath-type=netdev', 'external_ids:ovn-bridge=br-int')
        if n['role'] == 'controller':
            self.vsctl(node, 'set', 'open_vswitch', '.', 'external_ids:ovn-cms-options=enable-chassis-as-gw')
            if self.lab.model.get('router'):
                # the provider network's bridge on the gateway chassis, its uplink the node's eth0
                physnet = self.lab.model['public']['physnet']
                self.vsctl(node, 'add-br', 'br-ex', '--', 'set', 'bridge', 'br-ex', 'datapath_type=netdev', '--', 'add-port', 'br-ex', 'eth0',
                           '--', 'set', 'open_vswitch', '.', 'external_ids:ovn-bridge-mappings=%s:br-ex' % physnet)
                ip_batch(self.lab.ns(node), ['link set br-ex up'])
        self.start_ovn_controller(node)

    def start_ovn_controller(self, node):
        """ovn-controller of ``node``, on the node's switch (at build time, and when a fault that killed it is healed)."""
        d = self.ovsdir(node)
        pidfile = '%s/ovn-controller.pid' % d
        if os.path.exists(pidfile) and read_pidfile(pidfile, wait=0.1) is None:
            os.unlink(pidfile)      # left by a killed one
        self._daemon('%s-ovn-controller' % node, node,
                     ['ovn-controller', 'unix:%s/db.sock' % d, '--pidfile=%s' % pidfile, '--detach',
                      '--log-file=%s/ovn-controller.log' % d], pidfile, self._env(d))

    def _logical(self, model):
        """What neutron-server's OVN driver writes into the NB DB for the networks and the instances' ports."""
        dhcp = {}
        for net in model['networks'].values():
            self.nbctl('ls-add', net['switch'], '--', 'set', 'logical_switch', net['switch'],
                       'external_ids:"neutron:network_name"=%s' % net['name'], 'other_config:mcast_snoop=false',
                       'external_ids:"neutron:mtu"=%d' % net['mtu'], 'external_ids:"neutron:revision_number"=1')
            # the route to the metadata service through the network's metadata port (option 121), beside the default route
            routes = '{169.254.169.254/32,%s, 0.0.0.0/0,%s}' % (net['metadata_ip'], net['gateway'])
            out = self.nbctl('create', 'dhcp_options', 'cidr=%s' % net['cidr'],
                             'options:server_id=%s' % net['gateway'], 'options:server_mac=%s' % net['dhcp_mac'],
                             'options:lease_time=43200', 'options:router=%s' % net['gateway'], 'options:mtu=%d' % net['mtu'],
                             'options:classless_static_route="%s"' % routes,
                             'external_ids:"neutron:subnet_id"=%s' % net['subnet_id'], 'external_ids:subnet_id=%s' % net['subnet_id'])
            dhcp[net['name']] = out.stdout.strip()
            mp, addr = net['metadata_port_id'], '%s %s' % (net['metadata_mac'], net['metadata_ip'])
            self.nbctl('lsp-add', net['switch'], mp, '--', 'lsp-set-type', mp, 'localport', '--', 'lsp-set-addresses', mp, addr,
                       '--', 'set', 'logical_switch_port', mp, 'external_ids:"neutron:device_owner"="network:distributed"',
                       'external_ids:"neutron:device_id"=%s' % net['ovnmeta'],
                       'external_ids:"neutron:cidrs"="%s/%d"' % (net['metadata_ip'], net['prefixlen']),
                       'external_ids:"neutron:network_name"=%s' % net['switch'], 'external_ids:"neutron:project_id"=%s' % net['project_id'],
                       'external_ids:"neutron:revision_number"=1')
        self.lab.state['ovn'] = {'dhcp_options': dhcp}
        self._security_groups(model)
        for i in model['instances'].values():
            self.port(model, i)

    def security_group(self, model, net):
        """The default security group of ``net``'s project (lab/neutrondb.py writes the same rows) and its port group's name
        (``pg_<group id>``, dashes as underscores, as Neutron names it)."""
        from lab.neutrondb import security_group
        sg = security_group(lambda kind, key: _uuid(model.get('seed') or model['name'], kind, key), net['project_id'])
        return sg, 'pg_%s' % sg['id'].replace('-', '_')

    @staticmethod
    def sg_rule_match(pg, r):
        """The match of the ACL of security group rule ``r`` on port group ``pg``, as Neutron's OVN driver writes it."""
        ver = 'ip4' if r['ethertype'] == 'IPv4' else 'ip6'
        match = '%s == @%s && %s' % ('outport' if r['direction'] == 'ingress' else 'inport', pg, ver)
        side = 'src' if r['direction'] == 'ingress' else 'dst'
        if r['remote_ip_prefix']:
            match += ' && %s.%s == %s' % (ver, side, r['remote_ip_prefix'])
        if r['remote_group_id']:
            match += ' && %s.%s == $pg_%s_%s' % (ver, side, r['remote_group_id'].replace('-', '_'), ver)
        if r['protocol'] in ('tcp', 'udp'):
            match += ' && %s' % r['protocol']
            if r['port_range_min'] is not None and r['port_range_min'] == r['port_range_max']:
                match += ' && %s.dst == %d' % (r['protocol'], r['port_range_min'])
        elif r['protocol'] == 'icmp':
            match += ' && icmp4'
        return match

    def sg_acl(self, pg, r):
        """The allow-related ACL of rule ``r`` on port group ``pg`` (priority 1002, the rule's id in its external_ids)."""
        uid = self.nbctl('--id=@acl', 'create', 'acl', 'direction=%s' % ('to-lport' if r['direction'] == 'ingress' else 'from-lport'),
                         'priority=1002', 'action=allow-related', 'match="%s"' % self.sg_rule_match(pg, r).replace('"', '\\"'),
                         'external_ids:"neutron:security_group_rule_id"=%s' % r['id'], '--', 'add', 'port_group', pg, 'acls', '@acl')
        return uid.stdout.strip()

    def sg_rule_acls(self, rule_id):
        """The uuids of the ACLs of security group rule ``rule_id`` (its ``neutron:security_group_rule_id``)."""
        return self.nbctl('--bare', '--columns=_uuid', 'find', 'acl', 'external_ids:"neutron:security_group_rule_id"=%s' % rule_id).stdout.split()

    def _security_groups(self, model):
        """Security groups as Neutron's OVN driver writes them: the port group ``neutron_pg_drop`` with its two drop ACLs
        (priority 1000, every port with port security is in it) and per group ``pg_<group id>`` with one allow-related ACL
        per rule (priority 1002)."""
        self.nbctl('pg-add', 'neutron_pg_drop', '--', 'set', 'port_group', 'neutron_pg_drop', 'external_ids:"neutron:security_group_id"=""')
        for direction, side in (('from-lport', 'inport'), ('to-lport', 'outport')):
            self.nbctl('acl-add', 'neutron_pg_drop', direction, '1000', '%s == @neutron_pg_drop && ip' % side, 'drop')
        done = set()
        for net in model['networks'].values():
            sg, pg = self.security_group(model, net)
            if pg in done:
                continue
            done.add(pg)
            self.nbctl('pg-add', pg, '--', 'set', 'port_group', pg, 'external_ids:"neutron:security_group_id"=%s' % sg['id'])
            for r in sg['rules']:
                self.sg_acl(pg, r)

    def _provider(self, model):
        """The provider network, the router with its gateway on the gateway chassis, SNAT and the floating IPs, as
        neutron-server's OVN driver writes them."""
        pub, r = model['public'], model['router']
        ctl = next(v for v in model['nodes'].values() if v['role'] == 'controller')
        self.nbctl('ls-add', pub['switch'], '--', 'set', 'logical_switch', pub['switch'],
                   'external_ids:"neutron:network_name"=public', 'external_ids:"neutron:mtu"=1500')
        self.nbctl('lsp-add', pub['switch'], 'provnet-%s' % pub['segment_id'], '--', 'lsp-set-type', 'provnet-%s' % pub['segment_id'],
                   'localnet', '--', 'lsp-set-addresses', 'provnet-%s' % pub['segment_id'], 'unknown',
                   '--', 'lsp-set-options', 'provnet-%s' % pub['segment_id'], 'network_name=%s' % pub['physnet'])
        self.nbctl('lr-add', r['lr'], '--', 'set', 'logical_router', r['lr'], 'external_ids:"neutron:router_name"=%s' % r['name'])
        gw = 'lrp-%s' % r['gw_port_id']
        self.nbctl('lrp-add', r['lr'], gw, r['gw_mac'], '%s/%d' % (r['gateway_ip'], pub['prefixlen']),
                   '--', 'lrp-set-gateway-chassis', gw, ctl['system_id'], '1')
        self.nbctl('lsp-add', pub['switch'], r['gw_port_id'], '--', 'lsp-set-type', r['gw_port_id'], 'router',
                   '--', 'lsp-set-addresses', r['gw_port_id'], 'router', '--', 'lsp-set-options', r['gw_port_id'], 'router-port=%s' % gw,
                   '--', 'set', 'logical_switch_port', r['gw_port_id'], 'external_ids:"neutron:device_owner"="network:router_gateway"',
                   'external_ids:"neutron:device_id"=%s' % r['id'])
        for netname, itf in r['interfaces'].items():
            net = model['networks'][netname]
            lrp = 'lrp-%s' % itf['port_id']
            self.nbctl('lrp-add', r['lr'], lrp, itf['mac'], '%s/%d' % (itf['ip'], net['prefixlen']))
            self.nbctl('lsp-add', net['switch'], itf['port_id'], '--', 'lsp-set-type', itf['port_id'], 'router',
                       '--', 'lsp-set-addresses', itf['port_id'], 'router', '--', 'lsp-set-options', itf['port_id'], 'router-port=%s' % lrp,
                       '--', 'set', 'logical_switch_port', itf['port_id'],
                       'external_ids:"neutron:device_owner"="network:router_interface"', 'external_ids:"neutron:device_id"=%s' % r['id'])
            self.nbctl('lr-nat-add', r['lr'], 'snat', r['gateway_ip'], net['cidr'])
        self.nbctl('lr-route-add', r['lr'], '0.0.0.0/0', pub['gateway'])
        for i in model['instances'].values():
            if i['floating_ip']:
                self.nat(model, i)

    def nat(self, model, i):
        """The floating IP of instance ``i``: a dnat_and_snat entry of the router (centralized, on the gateway chassis)."""
        r = model['router']
        self.nbctl('lr-nat-add', r['lr'], 'dnat_and_snat', i['floating_ip'], i['fixed_ip'])
        uid = self.nbctl('--bare', '--columns=_uuid', 'find', 'nat', 'type=dnat_and_snat', 'external_ip="%s"' % i['floating_ip']).stdout.split()[0]
        self.nbctl('set', 'nat', uid, 'external_ids:"neutron:fip_id"=%s' % i['floating_ip_id'],
                   'external_ids:"neutron:fip_port_id"=%s' % i['port_id'])

    def port(self, model, i):
        """The logical switch port of instance ``i``, as neutron-server's OVN driver creates it."""
        net = model['networks'][i['network']]
        sg, pg = self.security_group(model, net)
        addr = '%s %s' % (i['mac'], i['fixed_ip'])
        self.nbctl('lsp-add', net['switch'], i['port_id'], '--', 'lsp-set-addresses', i['port_id'], addr,
                   '--', 'lsp-set-port-security', i['port_id'], addr,
                   '--', 'lsp-set-dhcpv4-options', i['port_id'], self.lab.state['ovn']['dhcp_options'][net['name']],
                   '--', 'set', 'logical_switch_port', i['port_id'],
                   'external_ids:"neutron:device_owner"="compute:nova"', 'external_ids:"neutron:device_id"=%s' % i['uuid'],
                   'external_ids:"neutron:cidrs"="%s/%d"' % (i['fixed_ip'], net['prefixlen']),
                   'external_ids:"neutron:network_name"=%s' % net['switch'],
                   'external_ids:"neutron:project_id"=%s' % net['project_id'],
                   'external_ids:"neutron:port_name"=""', 'external_ids:"neutron:revision_number"=1',
                   'external_ids:"neutron:security_group_ids"=%s' % sg['id'])
        # the port in its security group's port group and in neutron_pg_drop
        lsp = self.nbctl('get', 'logical_switch_port', i['port_id'], '_uuid').stdout.strip()
        self.nbctl('add', 'port_group', pg, 'ports', lsp, '--', 'add', 'port_group', 'neutron_pg_drop', 'ports', lsp)

    def _metadata(self, model, node, netname):
        """What neutron-ovn-metadata-agent provisions on chassis ``node`` for network ``netname``: ``ovnmeta-<network id>``
        (a namespace of the node), the veth pair whose outer end is on br-int bound to the metadata port (iface-id), the
        port's MAC and address and 169.254.169.254/32 inside, and the metadata proxy listening on 169.254.169.254:80."""
        lab, net = self.lab, model['networks'][netname]
        out, inner = net['metadata_veth']
        lab.local_netns_add(node, net['ovnmeta'])
        have = run(['ip', '-n', lab.ns(node), 'link', 'show', out], check=False).returncode == 0
        if not have:
            lab.local_nsrun(node, net['ovnmeta'], ['ip', '-batch', '-'], input='\n'.join([
                'link add %s address %s mtu %d type veth peer name %s netns %s' % (inner, net['metadata_mac'], net['mtu'], out, lab.ns(node)),
                'addr add %s/%d dev %s' % (net['metadata_ip'], net['prefixlen'], inner), 'addr add 169.254.169.254/32 dev %s' % inner,
                'link set %s up' % inner]) + '\n')
            # the userspace datapath does not fill checksums a veth left to offload (the lab's guests turn it off too)
            lab.local_nsrun(node, net['ovnmeta'], ['ethtool', '-K', inner, 'rx', 'off', 'tx', 'off'], check=False)
            # the agent on a netdev datapath (LP#1904871): the proxy's TCP checksums filled before they leave the namespace
            lab.local_nsrun(node, net['ovnmeta'], ['iptables', '-w', '-t', 'mangle', '-A', 'POSTROUTING', '-p', 'tcp', '-m', 'tcp',
                                                   '-j', 'CHECKSUM', '--checksum-fill'])
            ip_batch(lab.ns(node), ['link set %s mtu %d' % (out, net['mtu']), 'link set %s up' % out])
        self.vsctl(node, '--may-exist', 'add-port', 'br-int', out, '--', 'set', 'interface', out,
                   'external_ids:iface-id=%s' % net['metadata_port_id'])
        self.start_metadata_proxy(model, node, netname)

    def start_metadata_proxy(self, model, node, netname):
        """The metadata proxy of ``netname`` on ``node`` in its ovnmeta namespace, on 169.254.169.254:80, its pid file where
        neutron-ovn-metadata-agent keeps it (``<state_path>/external/pids/<network id>.pid``). At build time and when a
        fault that killed it is healed."""
        net = model['networks'][netname]
        return self.spawn_metadata_server('metadata-proxy:%s:%s' % (node, netname), node, net['ovnmeta'],
                                          ['nsenter', '--net=%s' % self.lab.local_netns_path(node, net['ovnmeta'])],
                                          net['id'], 'ovn-metadata-proxy', '169.254.169.254:80',
                                          [i for i in model['instances'].values() if i['network'] == netname])

    def spawn_metadata_server(self, key, node, netns, enter, resource_id, map_dir, listen, instances):
        """The lab's metadata server (lab/metadata.py) playing an agent's haproxy, the metadata agent and nova: it answers
        ``instances`` by their fixed IP. Started with ``enter`` (the argv that puts it in namespace ``netns`` of ``node``),
        listening on ``listen``; its pid file ``<state_path>/external/pids/<resource_id>.pid`` as the agents keep it, its
        map under ``<state_path>/<map_dir>/``; recorded as process ``key``."""
        import json
        import subprocess
        import sys
        state = self.lab.hostdir(node, 'var', 'lib', 'neutron')
        pidfile = os.path.join(state, 'external', 'pids', '%s.pid' % resource_id)
        mfile = os.path.join(state, map_dir, '%s.json' % resource_id)
        for d in (pidfile, mfile):
            os.makedirs(os.path.dirname(d), mode=0o755, exist_ok=True)
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass
        write_file(mfile, json.dumps({i['fixed_ip']: {'instance-id': i['name'], 'hostname': i['hostname'], 'local-ipv4': i['fixed_ip'],
                                                      'public-ipv4': i['floating_ip'] or '', 'local-hostname': i['hostname']}
                                      for i in instances}))
        argv = [sys.executable, '-m', 'lab.metadata', '--pidfile', pidfile, '--listen', listen, '--map', mfile]
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run(enter + argv, cwd=repo, check=True, timeout=15, stdin=subprocess.DEVNULL)
        pid = read_pidfile(pidfile)
        if not pid:
            raise LabError('the metadata proxy in %s on %s did not start' % (netns, node))
        self.lab._record_process(key, pid, argv, node, netns, pidfile)  # pylint: disable=protected-access
        return pid

    def _instance(self, model, i):
        lab = self.lab
        host, guest = i['host'], i['hostname']
        net = model['networks'][i['network']]
        ip_batch(lab.ns(host), ['link add %s address fe:16:3e:%s type veth peer name eth0 address %s netns %s'
                                % (i['tap'], i['mac'][9:], i['mac'], lab.ns(guest)),
                                'link set %s mtu %d' % (i['tap'], net['mtu']), 'link set %s up' % i['tap']])
        lab.state['links'].append({'a': [host, i['tap']], 'b': [guest, 'eth0'], 'type': 'veth'})
        # a guest's virtio NIC sends complete checksums; a veth leaves them to offload, which the userspace datapath does
        # not do: TCP (the metadata request) would arrive with bad checksums
        nsrun(lab.ns(guest), ['ethtool', '-K', 'eth0', 'rx', 'off', 'tx', 'off'], check=False)
        ip_batch(lab.ns(guest), ['link set lo up', 'link set eth0 up'])
        self.vsctl(host, '--may-exist', 'add-port', 'br-int', i['tap'], '--', 'set', 'interface', i['tap'],
                   'external_ids:iface-id=%s' % i['port_id'], 'external_ids:attached-mac=%s' % i['mac'],
                   'external_ids:iface-status=active', 'external_ids:vm-uuid=%s' % i['uuid'])
        self.nbctl('--timeout=20', 'wait-until', 'logical_switch_port', i['port_id'], 'up=true')
        self.dhcp(i)
        lab.state['instances'][guest] = {'lease': i['fixed_ip']}

    def dhcp(self, i, expect=True, tries=5):
        """Instance ``i`` asks for its address (busybox udhcpc, as Cirros at boot); True when it got its fixed IP.
        With ``expect``, no lease is a LabError."""
        guest = i['hostname']
        idir = self.lab.hostdir(guest)
        os.makedirs(idir, mode=0o755, exist_ok=True)
        try:
            os.unlink(os.path.join(idir, 'lease'))
        except FileNotFoundError:
            pass
        res = nsrun(self.lab.ns(guest), [which('busybox'), 'udhcpc', '-i', 'eth0', '-s', UDHCPC_SCRIPT, '-q', '-n', '-t', str(tries),
                                         '-T', '1', '-O', 'mtu', '-O', 'staticroutes'], check=False, timeout=30,
                    env=dict(os.environ, NETDIAG_LAB_INSTANCE_DIR=idir, PATH='/usr/sbin:/usr/bin:/sbin:/bin'))
        lease = self.lab.lease(guest)
        got = res.returncode == 0 and bool(lease) and lease.get('ip') == i['fixed_ip']
        if expect and not got:
            why = (res.stderr or res.stdout).strip()[-300:]
            raise LabError('instance %s got no DHCP lease from %s (%s): %s' % (guest, self.DHCP_SERVER, lease, why))
        return got

    def inventory_vars(self):
        """What the inventory tells of an OVN cloud beyond the hosts: its NB and SB databases."""
        return {'netdiag_ovn_nb_db': 'unix:%s/nb.sock' % self.central(), 'netdiag_ovn_sb_db': 'unix:%s/sb.sock' % self.central()}

    def _write_inventory(self, model):
        lab = self.lab
        hosts = lab.state['hosts']
        for h, rec in hosts.items():
            if rec['role'] != 'switch':
                lab.write_python_wrapper(h)

        def base(h):
            return {'ansible_connection': 'local', 'ansible_python_interpreter': hosts[h]['python'], 'netdiag_lab_netns': hosts[h]['netns']}

        def node_vars(h):
            return dict(base(h), netdiag_nova_host=h, netdiag_ovs_db='unix:%s/db.sock' % self.ovsdir(h))
        conn = {k: v for k, v in lab.state['db']['conn_params'].items() if k != 'login_unix_socket'}
        inv = {'all': {
            'vars': dict(self.inventory_vars(), netdiag_lab=lab.name, netdiag_lab_root=lab.root, netdiag_neutron_db=conn,
                         netdiag_nova_db=dict(conn, login_db='nova'), netdiag_report_dir=os.path.join(lab.root, 'reports')),
            'children': {
                'netdiag_controllers': {'hosts': {n: node_vars(n) for n, v in model['nodes'].items() if v['role'] == 'controller'}},
                # a controller that runs instances (all in one) is a compute node too
                'compute': {'hosts': {n: node_vars(n) for n, v in model['nodes'].items()
                                      if v['role'] == 'compute' or any(i['host'] == n for i in model['instances'].values())}},
                'netdiag_instances': {'hosts': {i: dict(base(i), netdiag_instance=i) for i in model['instances']}},
                'netdiag_external': {'hosts': {srv['name']: base(srv['name']) for srv in (model.get('external') or {}).get('servers') or []}},
                'netdiag_lab_gateways': {'hosts': {'gateway': base('gateway')} if model.get('router') else {}},
            }}}
        os.makedirs(os.path.join(lab.root, 'reports'), mode=0o755, exist_ok=True)
        write_file(lab.inventory_path, '# netdiag lab %s (topology %s), written by lab up\n' % (lab.name, model['name'])
                   + yaml.safe_dump(inv, default_flow_style=False, sort_keys=False), 0o600)
