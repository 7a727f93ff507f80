# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tolerant readers of the collection's facts (private): interfaces, bridges, domains, routes, nova.conf, instance.

Pure functions, plain dicts in and out, no Ansible import. They accept the small shape variations
(list or dict keyed by name) so that a saved fact file from ``collect`` reads the same as a live result.
"""

from __future__ import annotations

import ipaddress

DELETED_VM_STATES = ('deleted', 'soft_deleted', 'soft-delete', 'terminated', 'shelved_offloaded')


def _first(d, *keys, default=None):
    """Return the first present, non-None value of ``keys`` in dict ``d``."""
    if not isinstance(d, dict):
        return default
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return default


def _named_items(obj, name_keys=('name', 'ifname')):
    """Yield (name, dict) from a list of dicts with a name key or a dict keyed by name."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                yield _first(v, *name_keys, default=k), v
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict):
                n = _first(v, *name_keys)
                if n is not None:
                    yield n, v


def interfaces_by_name(interfaces):
    """Map interface name -> interface dict from ``interface_info.interfaces``.

    Accepts a list of interfaces, a dict keyed by name, or a dict keyed by namespace whose
    values are one of those (the first occurrence of a name wins, default namespace first).
    """
    out = {}
    if isinstance(interfaces, dict) and interfaces and all(isinstance(v, (list, dict)) for v in interfaces.values()):
        looks_nested = all(
            isinstance(v, list) or (isinstance(v, dict) and not any(k in v for k in ('ifname', 'flags', 'operstate', 'index')))
            for v in interfaces.values())
        if looks_nested:
            for ns in sorted(interfaces, key=lambda n: (n not in ('', 'default', None), str(n))):
                for n, v in _named_items(interfaces[ns]):
                    out.setdefault(n, v)
            return out
    for n, v in _named_items(interfaces):
        out.setdefault(n, v)
    return out


def _flags(iface):
    return [str(f).upper() for f in (_first(iface, 'flags', default=[]) or [])]


def admin_up(iface):
    """True when the interface is administratively up (IFF_UP)."""
    v = _first(iface, 'admin_up', 'up')
    if isinstance(v, bool):
        return v
    if _first(iface, 'flags') is not None:
        return 'UP' in _flags(iface)
    state = str(_first(iface, 'admin_state', 'operstate', default='')).upper()
    return state not in ('DOWN',)


def has_carrier(iface):
    """True when the link has carrier (lower layer up)."""
    v = _first(iface, 'carrier')
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v == 1
    if _first(iface, 'flags') is not None and 'LOWER_UP' in _flags(iface):
        return True
    state = str(_first(iface, 'operstate', default='')).upper()
    if state:
        return state in ('UP', 'UNKNOWN')
    return admin_up(iface)


def link_state_text(name, iface):
    """A short ``ip a``-like line for evidence."""
    flags = ','.join(_flags(iface)) or '?'
    parts = ['%s: <%s>' % (name, flags)]
    for key, label in (('mtu', 'mtu'), ('master', 'master'), ('operstate', 'state')):
        v = iface.get(key)
        if v not in (None, ''):
            parts.append('%s %s' % (label, v))
    if iface.get('carrier') is not None:
        parts.append('carrier %s' % iface.get('carrier'))
    return ' '.join(parts)


def _addresses(iface, family=4):
    out = []
    for a in _first(iface, 'addresses', 'addr_info', default=[]) or []:
        if isinstance(a, dict):
            addr = _first(a, 'address', 'local')
        else:
            addr = str(a)
        if not addr:
            continue
        addr = str(addr).split('/', maxsplit=1)[0]
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            continue
        if ip.version == family:
            out.append(str(ip))
    return out


def bridges_ports(bridges, interfaces=None):
    """Map bridge name -> list of port names from ``bridge_info.bridges``.

    Without bridge facts, the membership is read from the interfaces' ``master``.
    """
    out = {}
    if bridges is None and interfaces:
        ifs = interfaces_by_name(interfaces)
        for n, i in ifs.items():
            if str(_first(i, 'kind', default='')) == 'bridge':
                out.setdefault(n, [])
        for n, i in ifs.items():
            m = _first(i, 'master')
            if m and (m in out or str(_first(ifs.get(m, {}), 'kind', default='')) == 'bridge'):
                out.setdefault(m, []).append(n)
        return out
    for name, br in _named_items(bridges):
        ports = []
        for p in _first(br, 'ports', 'interfaces', 'members', default=[]) or []:
            pname = _first(p, 'name', 'ifname') if isinstance(p, dict) else p
            if pname:
                ports.append(str(pname))
        out[str(name)] = ports
    return out


def domain_interfaces(domains):
    """Flatten ``libvirt_domain_info.domains`` into interface dicts with their domain."""
    out = []
    doms = domains if isinstance(domains, list) else [v for dummy, v in _named_items(domains)]
    for d in doms:
        if not isinstance(d, dict):
            continue
        for i in _first(d, 'interfaces', default=[]) or []:
            if not isinstance(i, dict):
                continue
            out.append({
                'domain': _first(d, 'name'),
                'uuid': _first(d, 'instance_uuid', 'uuid'),
                'nova_name': _first(d, 'nova_name', 'nova_instance_name', 'instance_name'),
                'file': _first(d, 'file', 'path', 'source_file', 'source'),
                'dev': _first(i, 'target_dev', 'target', 'dev'),
                'mac': str(_first(i, 'mac', 'mac_address', default='')).lower() or None,
                'bridge': _first(i, 'source_bridge', 'bridge', 'source_network', 'network'),
            })
    return out


def iface_mac(iface):
    """The lower-case MAC of an interface dict (interface_info's ``mac``, or the ``address`` of ``ip -j``)."""
    return str(_first(iface, 'mac', 'address', 'mac_address', default='')).lower()


def tap_mac(guest_mac):
    """libvirt gives the host end of a guest's tap the guest MAC with its first octet set to 0xfe."""
    mac = str(guest_mac or '').lower()
    return 'fe' + mac[2:] if len(mac) == 17 else None


def tap_by_mac(dom_ifs, ifaces):
    """Fill in ``dev`` of domain interfaces whose XML names no target dev (libvirt leaves its generated
    ``vnetN`` names out of the persistent definition in /etc/libvirt/qemu) from the host interface that carries
    the tap MAC; such entries get ``dev_by_mac``."""
    wanted = {tap_mac(d['mac']): d for d in dom_ifs if not d.get('dev') and d.get('mac')}
    wanted.pop(None, None)
    if not wanted:
        return dom_ifs
    for name, i in (ifaces or {}).items():
        mac = iface_mac(i)
        d = wanted.get(mac)
        if d is not None and not d.get('dev'):
            d['dev'] = name
            d['dev_by_mac'] = mac
    return dom_ifs


def path_mtu_note(links):
    """A note when the MTUs of the instance's L2 path differ (``links``: (name, interface dict or None) from the
    guest NIC through the vnet and the bridge to its uplink): frames larger than the smallest MTU are dropped without
    an ICMP error, so small pings pass while ssh or HTTP transfers hang."""
    seen = [(n, _int_or_none(_first(i, 'mtu'))) for n, i in links if n and isinstance(i, dict)]
    seen = [(n, m) for n, m in seen if m]
    if len({m for dummy, m in seen}) < 2:
        return None
    low = min(m for dummy, m in seen)
    return ('MTU differs along the instance\'s path (%s): frames larger than %d bytes are dropped on this L2 path '
            'while small pings pass' % (', '.join('%s %d' % nm for nm in seen), low))


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_proc_route(text):
    """Routes from the text of ``/proc/net/route`` (the namespace's IPv4 table) as ``ip -j route`` dicts.

    ``text`` may start with other lines (for example the value of ``ip_forward``): only the lines after the
    ``Iface Destination Gateway ...`` header are read.
    """
    out = []
    in_table = False
    for line in (text or '').splitlines():
        fields = line.split()
        if fields[:3] == ['Iface', 'Destination', 'Gateway']:
            in_table = True
            continue
        if not in_table or len(fields) < 8:
            continue
        try:
            dst, gw, flags, metric, mask = (int(fields[1], 16), int(fields[2], 16), int(fields[3], 16), int(fields[6]),
                                            int(fields[7], 16))
        except ValueError:
            continue
        if not flags & 0x1:  # RTF_UP
            continue

        def addr(v):
            return '.'.join(str((v >> s) & 0xff) for s in (0, 8, 16, 24))
        prefix = bin(mask).count('1')
        r = {'dst': 'default' if dst == 0 and mask == 0 else '%s/%d' % (addr(dst), prefix), 'dev': fields[0], 'metric': metric}
        if flags & 0x2 and gw:  # RTF_GATEWAY
            r['gateway'] = addr(gw)
        out.append(r)
    return out


def default_route(routes):
    """Return (gateway, device) of the IPv4 default route from ``ip -j route`` output."""
    if isinstance(routes, str):
        routes = parse_proc_route(routes)
    best = None
    for r in routes or []:
        if not isinstance(r, dict):
            continue
        dst = str(_first(r, 'dst', 'destination', default=''))
        if dst not in ('default', '0.0.0.0/0'):
            continue
        metric = _first(r, 'metric', 'priority', default=0) or 0
        if best is None or metric < best[0]:
            best = (metric, _first(r, 'gateway', 'via'), _first(r, 'dev', 'device', 'oif'))
    if best is None:
        return None, None
    return best[1], best[2]


def nova_settings(nova_conf):
    """The network settings of ``nova_conf_info.nova_conf`` (its ``network`` block) or a flat dict."""
    conf = nova_conf or {}
    if isinstance(conf.get('network'), dict):
        return conf['network']
    return conf


def _truthy(v):
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    return str(v).strip().lower() in ('1', 'true', 'yes', 'on')


def instance_summary(instance):
    """Normalise ``nova_network_info.instance`` into the report's instance block."""
    inst = instance or {}
    fixed = []
    floating = []
    for f in _first(inst, 'fixed_ips', default=[]) or []:
        if isinstance(f, str):
            fixed.append({'address': f})
            continue
        net = _first(f, 'network', default={})
        if not isinstance(net, dict):
            net = {'label': net}
        vif = _first(f, 'virtual_interface', 'vif', default={}) or {}
        entry = {
            'address': _first(f, 'address'),
            'mac': str(_first(f, 'mac', 'mac_address', default=_first(vif, 'address', default='')) or '').lower() or None,
            'bridge': _first(f, 'bridge', default=_first(net, 'bridge')),
            'bridge_interface': _first(f, 'bridge_interface', default=_first(net, 'bridge_interface')),
            'vlan': _first(f, 'vlan', default=_first(net, 'vlan')),
            'gateway': _first(f, 'gateway', default=_first(net, 'gateway')),
            'dhcp_server': _first(f, 'dhcp_server', default=_first(net, 'dhcp_server')),
            'dns': _first(f, 'dns1', 'dns', default=_first(net, 'dns1')),
            'network': _first(net, 'label', 'cidr', 'id'),
            'cidr': _first(f, 'cidr', default=_first(net, 'cidr')),
            'multi_host': _first(net, 'multi_host'),
        }
        fixed.append(entry)
        for fl in _first(f, 'floating_ips', default=[]) or []:
            floating.append(_first(fl, 'address') if isinstance(fl, dict) else fl)
    for fl in _first(inst, 'floating_ips', default=[]) or []:
        a = _first(fl, 'address') if isinstance(fl, dict) else fl
        if a and a not in floating:
            floating.append(a)
    deleted = _first(inst, 'gone', default=None) or _first(inst, 'deleted', default=0)
    return {
        'uuid': _first(inst, 'uuid'),
        'hostname': _first(inst, 'hostname'),
        'display_name': _first(inst, 'display_name'),
        'host': _first(inst, 'host'),
        'vm_state': _first(inst, 'vm_state'),
        'deleted': bool(deleted) and str(deleted) not in ('0', 'False', 'false'),
        'fixed_ips': fixed,
        'floating_ips': [f for f in floating if f],
    }
