# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load a lab topology file and derive the full, deterministic model of the lab from it.

Everything the lab builds (names, addresses, MACs, uuids, vnet numbers, instance ids) comes
from the topology file or is derived from it here, deterministically: two ``up`` of the same
topology build the same cloud. The format is documented in docs/lab.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import uuid

import yaml

TOPOLOGY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'topologies')
MANAGERS = {
    'FlatDHCPManager': 'nova.network.manager.FlatDHCPManager',
    'VlanManager': 'nova.network.manager.VlanManager',
}
_NAME = re.compile(r'^[a-z][a-z0-9]{0,9}$')
_HOSTNAME = re.compile(r'^[a-z][a-z0-9-]{0,30}$')
_IFNAME = re.compile(r'^[a-z][a-z0-9]{0,7}$')
_MAC = re.compile(r'^fa:16:3e(:[0-9a-f]{2}){3}$')
_LAB_NS = uuid.UUID('4f0e4b8e-3c8a-5b7e-9d2a-6c1f0a9b8e71')


class TopologyError(Exception):
    """The topology file is missing, unreadable or inconsistent."""


def topology_path(name_or_path):
    """Path of a shipped topology (``seed``) or of a file given by path."""
    if os.path.sep in name_or_path or name_or_path.endswith(('.yml', '.yaml')):
        return os.path.abspath(name_or_path)
    return os.path.join(TOPOLOGY_DIR, name_or_path + '.yml')


def _uuid(topo, kind, key):
    return str(uuid.uuid5(_LAB_NS, '%s/%s/%s' % (topo, kind, key)))


def _mac(topo, key):
    h = hashlib.sha256(('%s/mac/%s' % (topo, key)).encode()).digest()
    return 'fa:16:3e:%02x:%02x:%02x' % (h[0], h[1], h[2])


def _ip(value, what):
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        raise TopologyError('%s: %r is not an IPv4 address' % (what, value))


def _net(value, what):
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        raise TopologyError('%s: %r is not an IPv4 network' % (what, value))


def _need(d, key, what):
    if not isinstance(d, dict) or d.get(key) in (None, ''):
        raise TopologyError('%s: missing %r' % (what, key))
    return d[key]


def load(name_or_path):
    """Read a topology file and return the derived model (a plain dict, JSON-serialisable)."""
    path = topology_path(name_or_path)
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except OSError as exc:
        raise TopologyError('cannot read topology %s: %s' % (path, exc.strerror))
    except yaml.YAMLError as exc:
        raise TopologyError('topology %s is not valid YAML: %s' % (path, exc))
    if not isinstance(raw, dict):
        raise TopologyError('topology %s: top level must be a mapping' % path)
    model = derive(raw)
    model['file'] = path
    return model


def derive(raw):
    """Validate ``raw`` (the parsed YAML) and derive every name, address, MAC, uuid and id."""
    topo = str(_need(raw, 'name', 'topology'))
    if not _NAME.match(topo):
        raise TopologyError('topology name %r must match %s' % (topo, _NAME.pattern))
    manager = raw.get('network_manager', 'FlatDHCPManager')
    if manager not in MANAGERS:
        raise TopologyError('network_manager must be one of %s' % ', '.join(sorted(MANAGERS)))
    vlan_mode = manager == 'VlanManager'
    domain = str(raw.get('dhcp_domain', 'novalocal'))

    public = _need(raw, 'public', 'topology')
    pub_net = _net(_need(public, 'cidr', 'public'), 'public.cidr')
    pub_gw = _ip(_need(public, 'gateway', 'public'), 'public.gateway')
    ext = _need(raw, 'external', 'topology')
    ext_net = _net(_need(ext, 'cidr', 'external'), 'external.cidr')
    ext_gw = _ip(_need(ext, 'gateway', 'external'), 'external.gateway')
    for net in (pub_net, ext_net):
        if not any(net.subnet_of(ipaddress.IPv4Network(d)) for d in ('192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24')):
            raise TopologyError('%s: public and external networks must be inside the documentation ranges' % net)
    mgmt = raw.get('management') or {}
    mgmt_net = _net(mgmt['cidr'], 'management.cidr') if mgmt.get('cidr') else None
    fixed_range = _net(_need(raw, 'fixed_range', 'topology'), 'fixed_range')

    servers = []
    for s in _need(ext, 'servers', 'external'):
        name = str(_need(s, 'name', 'external.servers[]'))
        addr = _ip(_need(s, 'address', 'external server %s' % name), 'external server %s' % name)
        if addr not in ext_net:
            raise TopologyError('external server %s: %s is not in %s' % (name, addr, ext_net))
        servers.append({'name': name, 'address': str(addr), 'prefixlen': ext_net.prefixlen, 'gateway': str(ext_gw)})
    if not servers:
        raise TopologyError('external: at least one server is needed')
    records = []
    for r in ext.get('dns_records') or []:
        records.append({'name': str(_need(r, 'name', 'dns_records[]')), 'address': str(_ip(_need(r, 'address', 'dns_records[]'), 'dns record'))})

    networks = {}
    for i, n in enumerate(_need(raw, 'networks', 'topology'), start=1):
        label = str(_need(n, 'label', 'networks[]'))
        cidr = _net(_need(n, 'cidr', 'network %s' % label), 'network %s cidr' % label)
        vlan = n.get('vlan')
        if vlan_mode and vlan is None:
            raise TopologyError('network %s: VlanManager needs a vlan id' % label)
        if not cidr.subnet_of(fixed_range):
            raise TopologyError('network %s: %s is outside fixed_range %s' % (label, cidr, fixed_range))
        gateway = _ip(_need(n, 'gateway', 'network %s' % label), 'network %s gateway' % label)
        dhcp_start = _ip(n.get('dhcp_start') or (gateway + 1), 'network %s dhcp_start' % label)
        networks[label] = {
            'id': i, 'label': label, 'cidr': str(cidr), 'netmask': str(cidr.netmask), 'prefixlen': cidr.prefixlen,
            'broadcast': str(cidr.broadcast_address), 'bridge': str(_need(n, 'bridge', 'network %s' % label)),
            'vlan': int(vlan) if vlan is not None else None, 'gateway': str(gateway), 'dhcp_start': str(dhcp_start),
            'project_id': n.get('project_id'), 'multi_host': bool(n.get('multi_host', True)),
            'uuid': _uuid(topo, 'network', label), 'size': cidr.num_addresses,
        }

    computes = {}
    for c in _need(raw, 'computes', 'topology'):
        name = str(_need(c, 'name', 'computes[]'))
        if not _HOSTNAME.match(name):
            raise TopologyError('compute name %r must match %s' % (name, _HOSTNAME.pattern))
        pub_addr = _ip(_need(c, 'public_address', 'compute %s' % name), 'compute %s public_address' % name)
        if pub_addr not in pub_net:
            raise TopologyError('compute %s: %s not in %s' % (name, pub_addr, pub_net))
        nets = {}
        for label, addr in (c.get('networks') or {}).items():
            if label not in networks:
                raise TopologyError('compute %s: unknown network %s' % (name, label))
            a = _ip(addr, 'compute %s on %s' % (name, label))
            if a not in ipaddress.IPv4Network(networks[label]['cidr']):
                raise TopologyError('compute %s: %s not in network %s' % (name, a, label))
            nets[label] = str(a)
        comp = {
            'name': name, 'public_interface': c.get('public_interface', 'eth0'), 'public_address': str(pub_addr),
            'public_prefixlen': pub_net.prefixlen, 'public_gateway': str(pub_gw), 'networks': nets,
            'flat_interface': None, 'vlan_interface': None, 'management_address': None, 'vnets': {},
            'libvirt_default_network': bool(c.get('libvirt_default_network', False)),
        }
        if vlan_mode:
            comp['vlan_interface'] = c.get('vlan_interface', 'eth1')
            if not mgmt_net or not c.get('management_address'):
                raise TopologyError('compute %s: VlanManager needs management.cidr and management_address' % name)
            comp['management_address'] = str(_ip(c['management_address'], 'compute %s management_address' % name))
            comp['management_prefixlen'] = mgmt_net.prefixlen
        else:
            comp['flat_interface'] = c.get('flat_interface', 'eth1')
        for key in ('public_interface', 'flat_interface', 'vlan_interface'):
            if comp[key] and not _IFNAME.match(comp[key]):
                raise TopologyError('compute %s: bad interface name %r' % (name, comp[key]))
        computes[name] = comp
    if not vlan_mode and len(networks) != 1:
        raise TopologyError('FlatDHCPManager: exactly one network expected')

    instances = {}
    used_macs = set()
    vnet_counter = {c: 0 for c in computes}
    for idx, inst in enumerate(_need(raw, 'instances', 'topology'), start=1):
        hn = str(_need(inst, 'hostname', 'instances[]'))
        if not _HOSTNAME.match(hn) or hn in computes or hn in [s['name'] for s in servers] or hn in ('gateway', 'switch'):
            raise TopologyError('instance hostname %r is invalid or clashes with another host' % hn)
        host = _need(inst, 'host', 'instance %s' % hn)
        if host not in computes:
            raise TopologyError('instance %s: unknown host %s' % (hn, host))
        label = _need(inst, 'network', 'instance %s' % hn)
        if label not in networks:
            raise TopologyError('instance %s: unknown network %s' % (hn, label))
        if label not in computes[host]['networks']:
            raise TopologyError('instance %s: compute %s has no address on network %s' % (hn, host, label))
        net = networks[label]
        fixed = _ip(_need(inst, 'fixed_ip', 'instance %s' % hn), 'instance %s fixed_ip' % hn)
        if fixed not in ipaddress.IPv4Network(net['cidr']):
            raise TopologyError('instance %s: %s not in %s' % (hn, fixed, net['cidr']))
        mac = str(inst.get('mac') or _mac(topo, hn)).lower()
        if not _MAC.match(mac) or mac in used_macs:
            raise TopologyError('instance %s: MAC %s invalid or duplicate' % (hn, mac))
        used_macs.add(mac)
        floating = inst.get('floating_ip')
        if floating is not None:
            floating = str(_ip(floating, 'instance %s floating_ip' % hn))
            if ipaddress.IPv4Address(floating) not in pub_net:
                raise TopologyError('instance %s: floating IP %s not in %s' % (hn, floating, pub_net))
        state = inst.get('state', 'active')
        if state not in ('active', 'deleted'):
            raise TopologyError('instance %s: state must be active or deleted' % hn)
        rec = {
            'id': idx, 'hostname': hn, 'display_name': inst.get('display_name', hn), 'host': host, 'network': label,
            'fixed_ip': str(fixed), 'mac': mac, 'floating_ip': floating, 'state': state,
            'uuid': str(inst.get('uuid') or _uuid(topo, 'instance', hn)), 'vif_uuid': _uuid(topo, 'vif', hn),
            'name': 'instance-%08x' % idx, 'project_id': net['project_id'],
            'user_id': hashlib.md5(('%s/user' % topo).encode()).hexdigest(),
            'bridge': net['bridge'], 'vnet': None,
        }
        if state == 'active':
            rec['vnet'] = 'vnet%d' % vnet_counter[host]
            vnet_counter[host] += 1
            computes[host]['vnets'][rec['vnet']] = hn
        instances[hn] = rec

    pool = raw.get('floating_pool') or {}
    free = [str(_ip(a, 'floating_pool.free')) for a in pool.get('free') or []]
    return {
        'name': topo, 'network_manager': manager, 'network_manager_class': MANAGERS[manager],
        'vlan_mode': vlan_mode, 'dhcp_domain': domain, 'fixed_range': str(fixed_range),
        'libvirt_target_dev': bool(raw.get('libvirt_target_dev', True)),
        'share_dhcp_address': bool(raw.get('share_dhcp_address', False)),
        'public': {'cidr': str(pub_net), 'gateway': str(pub_gw), 'prefixlen': pub_net.prefixlen},
        'external': {'cidr': str(ext_net), 'gateway': str(ext_gw), 'prefixlen': ext_net.prefixlen,
                     'servers': servers, 'dns_records': records},
        'management': {'cidr': str(mgmt_net)} if mgmt_net else None,
        'networks': networks, 'computes': computes, 'instances': instances,
        'floating_pool': {'name': pool.get('name', 'nova'), 'free': free},
    }
