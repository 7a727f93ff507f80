# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side core of ``diagnose_instance``: the hop list and the verdict engine (private).

Pure functions, plain dicts in and out, no Ansible import: the same code runs inside the
``cloudops.netdiag.netdiag_*`` filters during a play and offline on saved evidence.

Inputs are the results of the collection's modules, as their RETURN docs describe them
(``nova_network_info.instance``, ``libvirt_domain_info.domains``, ``bridge_info.bridges``,
``nova_conf_info.nova_conf``, ``interface_info.interfaces``, ``iptables_info.iptables``,
``dnsmasq_info.dnsmasq``, ``console_log_info.console_log``, ``ping_probe.probes``,
``dns_probe``, ``dhcp_probe``, the ``path_capture`` role's per-hop result) and ``ip -j route``.
The readers below accept the small shape variations (list or dict keyed by name) so that a saved
fact file from ``collect`` can be analysed as well.

Nothing here knows the lab: every name (bridge, vnet, NIC, gateway) comes from the inputs.
"""

from __future__ import annotations

import ipaddress

SEGMENTS = ('instance', 'instance_to_compute', 'compute', 'compute_to_gateway', 'beyond_gateway', 'control_plane')

CAUSES = (
    'none', 'instance_interface_down', 'vnet_missing', 'vnet_down', 'vnet_not_in_bridge', 'bridge_down',
    'physical_interface_down', 'gateway_unreachable', 'forwarding_disabled', 'firewall_drop', 'nat_missing',
    'dhcp_server_down', 'dhcp_no_address_available', 'dhcp_request_not_seen', 'dhcp_reply_lost', 'dns_failure',
    'dns_reverse_slow', 'floating_ip_stale', 'unknown',
)

# The segment each cause lies in when nothing more specific is known (a physical NIC can sit
# in two places: its hop decides, see _physical_segment).
CAUSE_SEGMENT = {
    'instance_interface_down': 'instance',
    'vnet_missing': 'instance_to_compute',
    'vnet_down': 'instance_to_compute',
    'vnet_not_in_bridge': 'instance_to_compute',
    'bridge_down': 'instance_to_compute',
    'physical_interface_down': 'compute_to_gateway',
    'gateway_unreachable': 'compute_to_gateway',
    'forwarding_disabled': 'compute',
    'firewall_drop': 'compute',
    'nat_missing': 'compute',
    'dhcp_server_down': 'compute',
    'dhcp_no_address_available': 'control_plane',
    'dhcp_request_not_seen': 'instance_to_compute',
    'dhcp_reply_lost': 'instance_to_compute',
    'dns_failure': 'compute',
    'dns_reverse_slow': 'compute',
    'floating_ip_stale': 'control_plane',
}

# Most specific / most fundamental first: a lower-layer fault explains the symptoms of the
# layers above it (a vnet that is down also explains a DHCP timeout and a failed ping).
PRIORITY = (
    'floating_ip_stale', 'instance_interface_down', 'vnet_missing', 'vnet_down', 'vnet_not_in_bridge', 'bridge_down',
    'physical_interface_down', 'forwarding_disabled', 'firewall_drop', 'nat_missing', 'gateway_unreachable',
    'dhcp_server_down', 'dhcp_no_address_available', 'dhcp_request_not_seen', 'dhcp_reply_lost',
    'dns_failure', 'dns_reverse_slow',
)

# Where each cause lies, for the report's picture: ``hop`` (the verdict's hop), ``stack`` (the
# network stack of a host between its interfaces: firewall, NAT, forwarding, dnsmasq), ``segment``
# (the hops of the verdict's segment, no single place known) or ``db`` (the nova database); with
# the words an operator knows the place by.
CAUSE_PLACE = {
    'instance_interface_down': ('hop', 'the instance\'s NIC'),
    'vnet_missing': ('hop', 'the instance\'s tap'),
    'vnet_down': ('hop', 'the instance\'s tap'),
    'vnet_not_in_bridge': ('hop', 'the instance\'s tap'),
    'bridge_down': ('hop', 'the bridge'),
    'physical_interface_down': ('hop', 'the NIC'),
    'gateway_unreachable': ('hop', 'the default gateway'),
    'forwarding_disabled': ('stack', 'IP forwarding'),
    'firewall_drop': ('stack', 'iptables filter rules'),
    'nat_missing': ('stack', 'iptables NAT rules'),
    'dhcp_server_down': ('stack', 'dnsmasq (DHCP server)'),
    'dhcp_no_address_available': ('stack', 'dnsmasq hosts file'),
    'dhcp_request_not_seen': ('segment', 'the DHCP request\'s way to dnsmasq'),
    'dhcp_reply_lost': ('segment', 'the DHCP reply\'s way back'),
    'dns_failure': ('stack', 'DNS resolver (dnsmasq)'),
    'dns_reverse_slow': ('stack', 'DNS reverse lookups'),
    'floating_ip_stale': ('db', 'nova DB floating_ips'),
    'unknown': ('segment', 'cause not identified'),
}

DELETED_VM_STATES = ('deleted', 'soft_deleted', 'soft-delete', 'terminated', 'shelved_offloaded')


# --------------------------------------------------------------------------------------------
# tolerant readers
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# hop list
# --------------------------------------------------------------------------------------------

def build_hops(instance, domains=None, bridges=None, nova_conf=None, routes=None, interfaces=None,
               compute_host=None, guest_host=None, guest_interfaces=None, external_target=None,
               external_host=None):
    """Return the ordered hop list of one instance's path to the outside.

    guest NIC -> vnet (libvirt XML target dev) -> bridge (XML source bridge, else the DB network's
    bridge) -> bridge uplink (``flat_interface`` / the VLAN interface: a bridge port that is no
    domain's vnet) -> physical NIC (the default route's egress device) -> gateway -> external.
    Each hop: ``id``, ``kind``, ``host``, ``interface``, ``address``, ``mac``, ``label``,
    ``segment`` (the segment the link *towards the next hop* belongs to) and ``notes``.
    """
    inst = instance_summary(instance)
    conf = nova_settings(nova_conf)
    ifaces = interfaces_by_name(interfaces)
    ports = bridges_ports(bridges, interfaces)
    dom_ifs = domain_interfaces(domains)
    tap_by_mac(dom_ifs, ifaces)
    fixed = inst['fixed_ips'][0] if inst['fixed_ips'] else {}
    macs = {f.get('mac') for f in inst['fixed_ips'] if f.get('mac')}

    # the instance's domain interface: by MAC, else by the domain's uuid, else the only one
    mine = [d for d in dom_ifs if d['mac'] and d['mac'] in macs]
    if not mine and inst['uuid']:
        mine = [d for d in dom_ifs if d['uuid'] and str(d['uuid']) == str(inst['uuid'])]
    if not mine and len(dom_ifs) == 1:
        mine = dom_ifs
    dif = mine[0] if mine else {}
    mac = dif.get('mac') or fixed.get('mac')
    vnet = dif.get('dev')
    bridge = dif.get('bridge') or fixed.get('bridge') or _first(conf, 'flat_network_bridge')
    hops = []

    def add(kind, host, interface, label, segment, address=None, hop_mac=None, notes=None):
        hops.append({
            'index': len(hops), 'id': '%s:%s' % (kind, interface or address or host or '?'), 'kind': kind,
            'host': host, 'interface': interface, 'address': address, 'mac': hop_mac, 'label': label,
            'segment': segment, 'notes': notes or [], 'on_path': True,
        })

    # guest NIC
    gif_name = None
    gaddr = fixed.get('address')
    if guest_interfaces:
        for n, i in interfaces_by_name(guest_interfaces).items():
            if mac and iface_mac(i) == mac:
                gif_name = n
                break
    add('guest_nic', guest_host, gif_name, 'instance %s NIC' % (inst['hostname'] or inst['uuid'] or '?'),
        'instance', address=gaddr, hop_mac=mac)

    # vnet
    notes = []
    if dif.get('file'):
        notes.append('from %s' % dif['file'])
    if dif.get('dev_by_mac'):
        notes.append('the domain XML names no target dev: found by the tap MAC %s' % dif['dev_by_mac'])
    if vnet and ifaces and vnet not in ifaces:
        notes.append('%s is in the domain XML but not on the host' % vnet)
    add('vnet', compute_host, vnet, 'vnet %s' % (vnet or '(unknown)'), 'instance_to_compute', hop_mac=mac, notes=notes)

    # bridge
    notes = []
    if fixed.get('bridge') and dif.get('bridge') and fixed['bridge'] != dif['bridge']:
        notes.append('DB network bridge %s differs from the domain XML bridge %s' % (fixed['bridge'], dif['bridge']))
    baddr = _addresses(ifaces.get(bridge, {})) if bridge else []
    add('bridge', compute_host, bridge, 'bridge %s' % (bridge or '(unknown)'), 'instance_to_compute',
        address=baddr[0] if baddr else fixed.get('gateway'), notes=notes)

    # bridge uplink(s): ports of the bridge that are no domain's vnet
    vnet_devs = {d['dev'] for d in dom_ifs if d.get('dev')}
    gw, egress = default_route(routes)
    flat_if = _first(conf, 'flat_interface')
    vlan_if = _first(conf, 'vlan_interface')
    uplinks = []
    for p in ports.get(bridge, []) if bridge else []:
        if p in vnet_devs:
            continue
        kind = str(_first(ifaces.get(p, {}), 'kind', default='')).lower()
        if p in (flat_if, vlan_if, fixed.get('bridge_interface')) or kind in ('vlan', '', 'ether', 'bond', 'device', 'physical'):
            uplinks.append(p)
        elif not any(d.get('dev') == p for d in dom_ifs) and not p.startswith('tap'):
            uplinks.append(p)
    if not uplinks and flat_if and flat_if != egress and (not ports or flat_if in ports.get(bridge, [])):
        uplinks.append(flat_if)
    multi_host = _truthy(_first(conf, 'multi_host', default=fixed.get('multi_host')))
    for u in uplinks:
        if u == egress:
            continue
        n = []
        if u == flat_if:
            n.append('flat_interface in nova.conf')
        if u == vlan_if:
            n.append('vlan_interface in nova.conf')
        link = _first(ifaces.get(u, {}), 'link', 'parent')
        if link:
            n.append('on %s' % link)
        if multi_host:
            n.append('multi_host: traffic to the outside is routed by this compute node, not carried by this port')
        add('uplink', compute_host, u, 'bridge uplink %s' % u, 'instance_to_compute', notes=n)
        hops[-1]['on_path'] = not multi_host

    # physical egress NIC (default route; without one, nova.conf's public_interface)
    n = []
    if not egress and _first(conf, 'public_interface'):
        egress = _first(conf, 'public_interface')
        n.append('%s has no default route: public_interface from nova.conf' % (compute_host or 'the compute node'))
    if egress and egress == _first(conf, 'public_interface'):
        n.append('public_interface in nova.conf')
    if egress and egress == flat_if:
        n.append('flat_interface in nova.conf')
    eaddr = _addresses(ifaces.get(egress, {})) if egress else []
    add('physical', compute_host, egress, 'physical NIC %s' % (egress or '(no default route)'), 'compute_to_gateway',
        address=eaddr[0] if eaddr else None, notes=n)

    # gateway
    n = ['default route of %s' % compute_host] if compute_host else []
    if multi_host:
        n.append('multi_host: the compute node is the instance\'s own gateway')
    add('gateway', None, None, 'gateway %s' % (gw or '(none)'), 'beyond_gateway', address=gw, notes=n)

    # external
    add('external', external_host, None, 'external %s' % (external_target or '(not set)'), 'beyond_gateway',
        address=external_target)
    for h in hops:
        h['id'] = '%02d-%s' % (h['index'], h['kind'])
    return hops


# --------------------------------------------------------------------------------------------
# evidence helpers
# --------------------------------------------------------------------------------------------

def _ev(host, source, excerpt):
    return {'host': host or 'controller', 'source': source, 'excerpt': str(excerpt)}


def _walk_rules(obj, table=None, chain=None):
    """Yield (table, chain, rule) from any nesting of ``iptables_info.iptables``."""
    if isinstance(obj, list):
        for x in obj:
            if isinstance(x, dict) and any(k in x for k in ('target', 'jump', 'rule', 'raw')) and 'rules' not in x:
                yield table, chain, x
            else:
                yield from _walk_rules(x, table, chain)
    elif isinstance(obj, dict):
        if 'rules' in obj:
            ch = obj.get('name', chain)
            tb = obj.get('table', table)
            for r in obj.get('rules') or []:
                if isinstance(r, dict):
                    yield r.get('table', tb), r.get('chain', ch), r
        for k, v in obj.items():
            if k == 'rules' or not isinstance(v, (list, dict)):
                continue
            if k in ('tables',):
                yield from _walk_rules(v, table, chain)
            elif k in ('chains',):
                yield from _walk_rules(v, table, chain)
            elif table is None and k in ('filter', 'nat', 'mangle', 'raw', 'security'):
                yield from _walk_rules(v, k, chain)
            elif table is not None and chain is None and isinstance(v, dict):
                yield from _walk_rules(v, table, k)
            elif isinstance(v, list) and k not in ('moved', 'problems', 'nova_chains'):
                yield from _walk_rules(v, table, chain)


def _rule_text(table, chain, r):
    raw = _first(r, 'raw', 'rule', 'line', 'text')
    if raw:
        return '%s: %s' % (table, raw) if table else str(raw)
    parts = ['-A %s' % chain]
    for key, opt in (('source', '-s'), ('destination', '-d'), ('in_interface', '-i'), ('out_interface', '-o'),
                     ('protocol', '-p')):
        v = r.get(key)
        if v:
            parts.append('%s %s' % (opt, v))
    tgt = _first(r, 'target', 'jump')
    if tgt:
        parts.append('-j %s' % tgt)
    for key in ('to_destination', 'to_source'):
        v = r.get(key)
        if v:
            parts.append('--%s %s' % (key.replace('_', '-'), v))
    return '%s: %s' % (table or '?', ' '.join(parts))


def _target_args(r):
    args = _first(r, 'target_args', 'target_options', default={})
    out = {}
    if isinstance(args, dict):
        out.update({str(k).lstrip('-').replace('-', '_'): v for k, v in args.items()})
    elif isinstance(args, (list, str)):
        toks = args.split() if isinstance(args, str) else [str(a) for a in args]
        for i, t in enumerate(toks):
            if t.startswith('--') and i + 1 < len(toks):
                out[t[2:].replace('-', '_')] = toks[i + 1]
    for k in ('to_destination', 'to_source', 'to'):
        if r.get(k):
            out[k] = r[k]
    return out


def _net_contains(spec, ip):
    if not spec or not ip:
        return False
    spec = str(spec)
    neg = spec.startswith('!')
    spec = spec.lstrip('!').strip()
    try:
        hit = ipaddress.ip_address(ip) in ipaddress.ip_network(spec, strict=False)
    except ValueError:
        return False
    return hit and not neg


def _rule_addr(r, which):
    key = 'source' if which == 'src' else 'destination'
    v = _first(r, key, 'src' if which == 'src' else 'dst', 's' if which == 'src' else 'd')
    if v and key in (r.get('negated') or []):
        return '!' + str(v).lstrip('!')
    return v


def _rule_packets(r):
    c = _first(r, 'packets', 'pkts', default=None)
    if c is None:
        cnt = _first(r, 'counters', default={})
        if isinstance(cnt, dict):
            c = cnt.get('packets')
        elif isinstance(cnt, list) and cnt:
            c = cnt[0]
    try:
        return int(c)
    except (TypeError, ValueError):
        return None


def nat_for_floating(iptables, floating_ip, fixed_ip):
    """Return (dnat_rules, snat_rules) that map floating_ip <-> fixed_ip."""
    dnat, snat = [], []
    for table, chain, r in _walk_rules(iptables):
        if table not in (None, 'nat'):
            continue
        tgt = str(_first(r, 'target', 'jump', default='')).upper()
        args = _target_args(r)
        if tgt == 'DNAT' and _net_contains(_rule_addr(r, 'dst'), floating_ip):
            to = str(_first(args, 'to_destination', 'to', default=''))
            if not fixed_ip or not to or to.split(':', maxsplit=1)[0] == fixed_ip:
                dnat.append((table, chain, r))
        elif tgt == 'SNAT' and _net_contains(_rule_addr(r, 'src'), fixed_ip):
            to = str(_first(args, 'to_source', 'to', default=''))
            if not floating_ip or to.split(':', maxsplit=1)[0] == floating_ip:
                snat.append((table, chain, r))
    return dnat, snat


def drop_rules_for(iptables, addresses):
    """DROP/REJECT rules (filter table) that name one of ``addresses`` as source or destination."""
    out = []
    for table, chain, r in _walk_rules(iptables):
        if table not in (None, 'filter'):
            continue
        tgt = str(_first(r, 'target', 'jump', default='')).upper()
        if tgt not in ('DROP', 'REJECT'):
            continue
        for a in addresses:
            if a and (_net_contains(_rule_addr(r, 'src'), a) or _net_contains(_rule_addr(r, 'dst'), a)):
                src, dst = _rule_addr(r, 'src'), _rule_addr(r, 'dst')
                # a rule for a whole range is not "for this instance" unless it is a /32-like match
                specific = any(s and '/' not in str(s).lstrip('!') or str(s).endswith('/32') for s in (src, dst) if s)
                out.append((table, chain, r, specific))
                break
    return out


def _has_table(iptables, name):
    """True when the iptables facts include table ``name`` (even with no rule in it)."""
    tables = _first(iptables, 'tables', default=iptables) if isinstance(iptables, dict) else iptables
    if isinstance(tables, dict):
        return name in tables
    if isinstance(tables, list):
        return any(isinstance(t, dict) and _first(t, 'name', 'table') == name for t in tables)
    return False


def _same_rule(a, b, chain=None):
    """True when two rule dicts describe the same rule (its text, or chain + match + target)."""
    ra, rb = _first(a, 'raw', 'rule', 'line', 'text'), _first(b, 'raw', 'rule', 'line', 'text')
    if ra and rb:
        return str(ra).strip() == str(rb).strip()
    keys = ('source', 'destination', 'in_interface', 'out_interface', 'protocol', 'target')
    return (b.get('chain') in (None, chain, a.get('chain'))) and all(a.get(k) == b.get(k) for k in keys)


def _moved_rules(capture, counters):
    """Rules whose counters moved during the probe (from path_capture or an iptables compare)."""
    out = []
    for src in (capture or {}, counters or {}):
        if isinstance(src, list):
            items = src
        else:
            items = _first(src, 'moved_rules', 'moved', 'iptables_moved', default=[]) or []
        for item in items:
            if isinstance(item, dict):
                host = _first(item, 'host', 'inventory_hostname')
                inner = _first(item, 'moved', 'rules')
                if isinstance(inner, list):
                    for r in inner:
                        if isinstance(r, dict):
                            out.append((host, r))
                else:
                    out.append((host, item))
    return out


# --------------------------------------------------------------------------------------------
# probes (ping ladder)
# --------------------------------------------------------------------------------------------

def _probe_ok(p):
    v = _first(p, 'reachable')
    if isinstance(v, bool):
        return v
    rec = _first(p, 'received', 'packets_received')
    if rec is not None:
        try:
            return int(rec) > 0
        except (TypeError, ValueError):
            return None
    loss = _first(p, 'loss', 'packet_loss')
    if loss is not None:
        try:
            return float(str(loss).rstrip('%')) < 100
        except ValueError:
            return None
    return None


def normalise_probes(probes):
    """Flatten the ladder's probe list into dicts with ``step``, ``from_host``, ``target``, ``ok``."""
    out = []
    for p in probes or []:
        if not isinstance(p, dict):
            continue
        results = _first(p, 'probes', 'results')
        base = {k: p.get(k) for k in ('step', 'from_host', 'from', 'netns', 'target_role', 'kind') if p.get(k) is not None}
        if isinstance(results, list):
            for r in results:
                if isinstance(r, dict):
                    e = dict(base)
                    e.update(r)
                    out.append(e)
        else:
            out.append(dict(p))
    for e in out:
        e['ok'] = _probe_ok(e)
        e.setdefault('step', e.get('target_role') or 'ping')
        e.setdefault('from_host', e.get('from'))
    return out


def ladder(probes):
    """Reduce the probes to the chapter's ladder: {step: True/False/None}."""
    steps = {}
    for p in normalise_probes(probes):
        s = p['step']
        if p['ok'] is None:
            continue
        # a step is OK if any of its probes got through (several targets / sources)
        steps[s] = bool(steps.get(s)) or p['ok']
    res = {
        'guest_external': steps.get('guest_external'),
        'guest_compute': steps.get('guest_compute'),
        'guest_second_instance': steps.get('guest_second_instance'),
        'guest_gateway': steps.get('guest_gateway'),
        'compute_fixed_ip': steps.get('compute_fixed_ip'),
        'external_floating_ip': steps.get('external_floating_ip'),
        'compute_gateway': steps.get('compute_gateway'),
        'compute_external': steps.get('compute_external'),
    }
    # instance <-> outside: from the guest if it was probed, else compute->fixed and external->floating
    if res['guest_external'] is not None:
        res['external_ok'] = res['guest_external']
    elif res['external_floating_ip'] is not None:
        res['external_ok'] = res['external_floating_ip'] and res['compute_fixed_ip'] is not False
    else:
        res['external_ok'] = None
    if res['guest_compute'] is not None:
        res['compute_ok'] = res['guest_compute']
    else:
        res['compute_ok'] = res['compute_fixed_ip']
    if res['external_ok'] is None and not any(v is not None for k, v in res.items() if k != 'external_ok'):
        res['ladder_segment'] = None
    elif res['external_ok']:
        res['ladder_segment'] = None
    elif res['compute_ok'] is False:
        res['ladder_segment'] = 'instance_to_compute'
    elif res['compute_gateway'] is False:
        res['ladder_segment'] = 'compute_to_gateway'
    elif res['compute_ok']:
        res['ladder_segment'] = 'compute_to_gateway' if res['compute_gateway'] is None else 'beyond_gateway'
    else:
        res['ladder_segment'] = None
    return res


# --------------------------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------------------------

def capture_hops(capture):
    """Per-hop capture results from the path_capture role: list of {host, interface, request_seen, reply_seen}."""
    cap = capture or {}
    items = cap if isinstance(cap, list) else _first(cap, 'hops', 'per_hop', 'results', default=[])
    out = []
    for h in items or []:
        if not isinstance(h, dict):
            continue
        out.append({
            'hop': _first(h, 'hop', 'name'),
            'host': _first(h, 'host', 'inventory_hostname'),
            'interface': _first(h, 'interface', 'iface', 'dev'),
            'request_seen': _first(h, 'request_seen', 'request'),
            'reply_seen': _first(h, 'reply_seen', 'reply'),
            'request_count': _first(h, 'request_count', 'requests'),
            'reply_count': _first(h, 'reply_count', 'replies'),
            'first_time': _first(h, 'first_time', 'first'),
            'last_time': _first(h, 'last_time', 'last'),
            'error': _first(h, 'error', 'msg') if _first(h, 'failed') else _first(h, 'error'),
        })
    return out


def attach_capture(hops, capture):
    """Copy per-hop capture results onto the hop list (matched by host and interface)."""
    caps = capture_hops(capture)
    for h in hops:
        h['capture'] = None
        match = [c for c in caps if c['hop'] and c['hop'] == h.get('id')]
        if not match:
            match = [c for c in caps if c['interface'] and c['interface'] == h.get('interface')
                     and (not c['host'] or not h.get('host') or c['host'] == h['host'])]
        if match:
            c = match[0]
            h['capture'] = {
                'request_seen': None if c['error'] else bool(c['request_seen']),
                'reply_seen': None if c['error'] else bool(c['reply_seen']),
                'request_count': c['request_count'] if isinstance(c['request_count'], int) else (
                    c['request_seen'] if isinstance(c['request_seen'], int) and not isinstance(c['request_seen'], bool) else None),
                'reply_count': c['reply_count'] if isinstance(c['reply_count'], int) else (
                    c['reply_seen'] if isinstance(c['reply_seen'], int) and not isinstance(c['reply_seen'], bool) else None),
                'error': str(c['error']) if c['error'] else None,
            }
    seen_req = [h for h in hops if h.get('capture') and h['capture'].get('request_seen')]
    seen_rep = [h for h in hops if h.get('capture') and h['capture'].get('reply_seen')]
    out = {
        'request_last_seen': seen_req[-1]['id'] if seen_req else None,
        # the reply travels back towards the guest: the hop nearest the guest that saw it
        'reply_last_seen': seen_rep[0]['id'] if seen_rep else None,
        'captured_hops': len([h for h in hops if h.get('capture')]),
    }
    # path_capture knows the direction the probe travelled: its own last sightings win
    ids = {h['id'] for h in hops}
    if isinstance(capture, dict):
        for key in ('request', 'reply'):
            d = capture.get(key)
            if isinstance(d, dict) and 'last_seen' in d and (d['last_seen'] in ids or d['last_seen'] is None):
                out['%s_last_seen' % key] = d['last_seen']
        if capture.get('verdict'):
            out['verdict'] = str(capture['verdict'])
    return out


# --------------------------------------------------------------------------------------------
# the verdict
# --------------------------------------------------------------------------------------------

class _Cands(object):
    def __init__(self):
        self.items = {}

    def add(self, cause, evidence, advice, hop=None, segment=None, confirmed=True):
        c = self.items.get(cause)
        if c is None:
            self.items[cause] = {'cause': cause, 'evidence': list(evidence), 'advice': advice, 'hop': hop,
                                 'segment': segment or CAUSE_SEGMENT.get(cause), 'confirmed': confirmed}
        else:
            c['evidence'].extend(evidence)
            c['confirmed'] = c['confirmed'] or confirmed


def _problems(iface):
    out = []
    for p in _first(iface, 'problems', default=[]) or []:
        if isinstance(p, dict):
            out.append('%s: %s' % (p.get('code'), p.get('message')))
        else:
            out.append(str(p))
    return out


def _host_facts(inputs, host):
    return ((inputs.get('hosts') or {}).get(host) or {}) if host else {}


def _dnsmasq_processes(dnsmasq):
    d = dnsmasq or {}
    if isinstance(d, list):
        return d
    return _first(d, 'processes', 'instances', default=[]) or []


def _proc_bridge(p):
    return _first(p, 'bridge', 'serves_bridge', 'interface')


def _proc_alive(p):
    """dnsmasq_info lists live processes; a dead one only shows as a stale pid file."""
    v = _first(p, 'alive', 'running')
    if isinstance(v, bool):
        return v
    pf = _first(p, 'pid_file', 'pidfile', default={})
    if isinstance(pf, dict):
        v = _first(pf, 'alive', 'live', 'running')
        if isinstance(v, bool):
            return v
    return _first(p, 'pid') is not None


def _proc_pidfile(p):
    pf = _first(p, 'pid_file', 'pidfile')
    if isinstance(pf, dict):
        return _first(pf, 'path', 'file')
    if pf:
        return pf
    opts = _first(p, 'options', 'args', default={})
    if isinstance(opts, dict):
        return _first(opts, 'pid-file', 'pid_file')
    return None


def _proc_hostsfile_path(p):
    hf = _first(p, 'hostsfile')
    if isinstance(hf, dict):
        return _first(hf, 'path')
    opts = _first(p, 'options', 'args', default={}) or {}
    return _first(opts, 'hostsfile', 'dhcp-hostsfile', 'dhcp_hostsfile') if isinstance(opts, dict) else None


def _proc_hostsfile_macs(p, dnsmasq=None, bridge=None):
    """MACs of the hosts file of process ``p`` (its own entries or dnsmasq_info's ``hosts_files``)."""
    hf = _first(p, 'hostsfile', 'hosts_file', 'dhcp_hostsfile')
    entries = None
    if isinstance(hf, dict):
        entries = _first(hf, 'entries')
    if entries is None:
        entries = _first(p, 'hosts', 'hostsfile_entries', 'host_entries')
    if entries is None and isinstance(dnsmasq, dict):
        path = _proc_hostsfile_path(p)
        for f in _first(dnsmasq, 'hosts_files', default=[]) or []:
            if isinstance(f, dict) and ((path and f.get('path') == path) or (not path and bridge and f.get('bridge') == bridge)):
                if f.get('error') or f.get('readable') is False:
                    continue
                entries = _first(f, 'entries', default=[]) or []
                break
    if entries is None:
        return None
    macs = set()
    for e in entries:
        if isinstance(e, dict):
            ms = _first(e, 'macs', default=None) or [_first(e, 'mac', 'hwaddr')]
        else:
            ms = [str(e).split(',', maxsplit=1)[0]]
        for m in ms:
            if m:
                macs.add(str(m).lower())
    return macs


def _live_dnsmasq(dnsmasq, bridge):
    procs = [p for p in _dnsmasq_processes(dnsmasq) if isinstance(p, dict) and _proc_bridge(p) == bridge and _proc_alive(p)]
    procs.sort(key=lambda p: 0 if _first(p, 'role') in (None, 'main') else 1)
    return procs


def _dnsmasq_upstreams(p):
    args = _first(p, 'args', 'options', default={}) or {}
    ups = _first(args, 'servers', 'server', default=[]) if isinstance(args, dict) else []
    if isinstance(ups, str):
        ups = [ups]
    return [str(u) for u in ups or []]


def _dhcp_mac_result(dnsmasq, mac):
    """Return (result, events) for ``mac`` from the per-MAC log analysis of dnsmasq_info."""
    d = dnsmasq or {}
    per = {}
    if isinstance(d, dict):
        log = d.get('log') if isinstance(d.get('log'), dict) else {}
        per = _first(log, 'macs', default=None) or _first(d, 'dhcp_by_mac', 'macs', 'per_mac', 'dhcp', default={})
    entry = None
    if isinstance(per, dict):
        entry = per.get(mac) or per.get(str(mac).lower())
        if entry is None:
            for k, v in per.items():
                if str(k).lower() == mac:
                    entry = v
    elif isinstance(per, list):
        for v in per:
            if isinstance(v, dict) and str(v.get('mac', '')).lower() == mac:
                entry = v
    if entry is None:
        return None, []
    if isinstance(entry, str):
        return entry, []
    return _first(entry, 'result', 'status', 'state'), _first(entry, 'evidence', 'events', 'lines', default=[]) or []


def _ev_lines(events, limit=4):
    out = []
    for e in events[-limit:]:
        if isinstance(e, dict):
            out.append(str(_first(e, 'line', 'raw', 'message', default=e)))
        else:
            out.append(str(e))
    return '\n'.join(out)


def evaluate(inputs):
    """Turn the collected evidence into the verdict.

    ``inputs`` keys (all optional but ``instance``): ``instance`` (nova_network_info),
    ``audit`` (findings), ``compute_host``, ``guest_host``, ``second_instance``, ``hops``
    (build_hops), ``hosts`` ({inventory_hostname: {interfaces, bridges, iptables, dnsmasq,
    domains, nova_conf, console_log, routes, ip_forward}}), ``probes`` (ladder probes, each with a
    ``step``), ``capture`` (path_capture result), ``counters`` (moved rules), ``dhcp_probe``,
    ``dns`` (list of dns_probe results with ``query_type``), ``check_dns``.
    Returns {status, segment, cause, hop, summary, evidence, advice, suspects, ladder}.
    """
    inst = instance_summary(inputs.get('instance'))
    name = inst['hostname'] or inst['uuid'] or 'instance'
    hops = inputs.get('hops') or []
    chost = inputs.get('compute_host')
    ghost = inputs.get('guest_host')
    cf = _host_facts(inputs, chost)
    gf = _host_facts(inputs, ghost)
    cifs = interfaces_by_name(cf.get('interfaces'))
    gifs = interfaces_by_name(gf.get('interfaces'))
    fixed = inst['fixed_ips'][0] if inst['fixed_ips'] else {}
    fixed_ip = fixed.get('address')
    floating_ip = inst['floating_ips'][0] if inst['floating_ips'] else None
    hop_by_kind = {}
    for h in hops:
        hop_by_kind.setdefault(h['kind'], []).append(h)
    lad = ladder(inputs.get('probes'))
    cands = _Cands()
    notes = []
    on = chost or 'the compute node'

    # ---- control plane: the instance itself -------------------------------------------------
    findings = [f for f in (inputs.get('audit') or []) if isinstance(f, dict)]
    my_findings = []
    for f in findings:
        blob = repr(f)
        if (inst['uuid'] and inst['uuid'] in blob) or (floating_ip and "'%s'" % floating_ip in blob):
            my_findings.append(f)
    stale_codes = ('floating_ip_stale', 'stale_floating_ip', 'floating_ip_on_deleted_instance', 'floating_to_deleted_instance')
    if inst['deleted'] or str(inst['vm_state'] or '').lower() in DELETED_VM_STATES:
        if inst['floating_ips']:
            ev = [_ev('nova-db', 'nova_network_info', 'instance %s (uuid %s) is %s (deleted=%s) but floating IP %s is still '
                      'associated with its fixed IP %s' % (name, inst['uuid'], inst['vm_state'], inst['deleted'],
                                                           ', '.join(inst['floating_ips']), fixed_ip))]
            for f in my_findings:
                ev.append(_ev('nova-db', 'nova_network_info audit', _first(f, 'message', 'code', default=f)))
            cands.add('floating_ip_stale', ev,
                      'Release the floating IP %s in the DB, check mode first: `ansible-playbook playbooks/repair_floating_ip.yml '
                      '-e floating_ip=%s --check --diff`, then `ansible-playbook playbooks/repair_floating_ip.yml -e floating_ip=%s '
                      '-e confirm=true`.' % (inst['floating_ips'][0], inst['floating_ips'][0], inst['floating_ips'][0]))
    for f in my_findings:
        if str(_first(f, 'code', 'kind', default='')) in stale_codes and 'floating_ip_stale' not in cands.items:
            cands.add('floating_ip_stale', [_ev('nova-db', 'nova_network_info audit', _first(f, 'message', default=f))],
                      'Release the stale floating IP with `ansible-playbook playbooks/repair_floating_ip.yml --check --diff` '
                      '(check mode first), then again with `-e confirm=true`.')

    # ---- link layer along the path ------------------------------------------------------------
    vhop = (hop_by_kind.get('vnet') or [{}])[0]
    bhop = (hop_by_kind.get('bridge') or [{}])[0]
    vnet = vhop.get('interface')
    bridge = bhop.get('interface')
    ghop = (hop_by_kind.get('guest_nic') or [{}])[0]
    gname = ghop.get('interface')
    guest_has_addr = None
    if gifs:
        gi = gifs.get(gname) if gname else None
        if gi is None and ghop.get('mac'):
            for n, i in gifs.items():
                if iface_mac(i) == ghop['mac']:
                    gname, gi = n, i
        if gi is not None:
            guest_has_addr = bool(_addresses(gi))
            if not admin_up(gi):
                cands.add('instance_interface_down', [_ev(ghost, 'interface_info', link_state_text(gname, gi))]
                          + [_ev(ghost, 'interface_info', p) for p in _problems(gi)],
                          'Inside the instance %s bring its NIC up again: `ip link set %s up` (then renew DHCP: `udhcpc -i %s` '
                          'on Cirros, `dhclient %s` elsewhere), or reboot the instance.' % (name, gname, gname, gname),
                          hop=ghop.get('id'))
    # the instance's domain interface names no target dev and build_hops found no tap with its MAC either
    tmac = tap_mac(vhop.get('mac'))
    if cifs and not vnet and tmac and any(d['mac'] == vhop['mac'] for d in domain_interfaces(cf.get('domains'))):
        if not any(iface_mac(i) == tmac for i in cifs.values()):
            cands.add('vnet_missing', [
                _ev(chost, 'libvirt_domain_info', 'the domain XML of %s names no target dev for MAC %s' % (name, vhop['mac'])),
                _ev(chost, 'interface_info', 'no interface on %s carries the tap MAC %s' % (chost, tmac))],
                'The tap of %s is gone on %s: hard-reboot the instance (`nova reboot --hard %s`) so libvirt re-creates it and '
                'plugs it into %s.' % (name, chost, inst['uuid'] or name, bridge), hop=vhop.get('id'))
    if cifs and vnet:
        vi = cifs.get(vnet)
        if vi is None:
            cands.add('vnet_missing', [_ev(chost, 'libvirt_domain_info', 'domain XML of %s names target dev %s%s' % (
                name, vnet, (' (%s)' % vhop['notes'][0]) if vhop.get('notes') else '')),
                _ev(chost, 'interface_info', 'no interface named %s on %s' % (vnet, chost))],
                'The tap %s of %s is gone on %s: hard-reboot the instance (`nova reboot --hard %s`) so libvirt re-creates '
                'it and plugs it into %s.' % (vnet, name, chost, inst['uuid'] or name, bridge), hop=vhop.get('id'))
        else:
            if not admin_up(vi):
                cands.add('vnet_down', [_ev(chost, 'interface_info', link_state_text(vnet, vi))]
                          + [_ev(chost, 'interface_info', p) for p in _problems(vi)],
                          'On %s: `ip link set %s up` (the tap of %s).' % (chost, vnet, name), hop=vhop.get('id'))
            master = _first(vi, 'master', 'bridge')
            in_bridge = master == bridge if master is not None else None
            bports = bridges_ports(cf.get('bridges'), cf.get('interfaces'))
            if bridge in bports:
                in_bridge = vnet in bports[bridge]
            if bridge and in_bridge is False:
                cands.add('vnet_not_in_bridge', [
                    _ev(chost, 'bridge_info', 'bridge %s ports: %s' % (bridge, ', '.join(bports.get(bridge, [])) or '(none)')),
                    _ev(chost, 'interface_info', link_state_text(vnet, vi))],
                    'On %s: `ip link set %s master %s` (or `brctl addif %s %s`).' % (chost, vnet, bridge, bridge, vnet),
                    hop=vhop.get('id'))
            if admin_up(vi) and not has_carrier(vi) and 'instance_interface_down' not in cands.items and not gifs:
                cands.add('instance_interface_down', [_ev(chost, 'interface_info', link_state_text(vnet, vi) +
                                                          ' (the guest side of the tap is down)')],
                          'The tap %s is up on %s but has no carrier: the guest NIC of %s is down. From the console: '
                          '`ip link set eth0 up` in the guest, or reboot it.' % (vnet, chost, name), hop=ghop.get('id'))
    if cifs and bridge:
        bi = cifs.get(bridge)
        if bi is not None and not admin_up(bi):
            cands.add('bridge_down', [_ev(chost, 'interface_info', link_state_text(bridge, bi))]
                      + [_ev(chost, 'interface_info', p) for p in _problems(bi)],
                      'On %s: `ip link set %s up`.' % (chost, bridge), hop=bhop.get('id'))
        elif bi is None:
            cands.add('bridge_down', [_ev(chost, 'interface_info', 'bridge %s (from the domain XML) does not exist on %s' % (bridge, chost))],
                      'Bridge %s is missing on %s: restart nova-network there so it re-creates the bridge.' % (bridge, chost),
                      hop=bhop.get('id'))
    mtu_note = path_mtu_note([(gname, (gifs or {}).get(gname) if gname else None)]
                             + [(h.get('interface'), cifs.get(h.get('interface')) if cifs else None)
                                for k in ('vnet', 'bridge', 'uplink') for h in hop_by_kind.get(k, [])])
    if mtu_note:
        notes.append(mtu_note)
    for h in hop_by_kind.get('uplink', []) + hop_by_kind.get('physical', []):
        nic = h.get('interface')
        ni = cifs.get(nic) if (cifs and nic) else None
        if ni is None:
            continue
        if not admin_up(ni) or not has_carrier(ni):
            seg = 'compute_to_gateway' if h['kind'] == 'physical' else 'instance_to_compute'
            how = '`ip link set %s up`' % nic if not admin_up(ni) else 'check the cable/switch port of %s (no carrier)' % nic
            cands.add('physical_interface_down', [_ev(chost, 'interface_info', link_state_text(nic, ni))]
                      + [_ev(chost, 'interface_info', p) for p in _problems(ni)],
                      'On %s: %s.' % (chost, how), hop=h.get('id'), segment=seg)

    # ---- routing / forwarding / firewall / NAT on the compute node ----------------------------
    fwd = cf.get('ip_forward')
    if fwd is not None and str(fwd).strip() == '0':
        cands.add('forwarding_disabled', [_ev(chost, '/proc/sys/net/ipv4/ip_forward', '0')],
                  'On %s: `sysctl -w net.ipv4.ip_forward=1` (and find what turned it off: nova-network sets it on start).' % on)
    addrs = [a for a in (fixed_ip, floating_ip) if a]
    moved = _moved_rules(inputs.get('capture'), inputs.get('counters'))
    moved_drops = []
    for host, r in moved:
        tgt = str(_first(r, 'target', 'jump', default='')).upper()
        if tgt in ('DROP', 'REJECT'):
            moved_drops.append((host, r))
    ipt = cf.get('iptables')
    if ipt:
        drops = drop_rules_for(ipt, addrs)
        deletes = []
        for table, chain, r, specific in drops:
            moved_as = [r2 for dummy, r2 in moved_drops if _same_rule(r, r2, chain)]
            if specific or moved_as:
                text = _rule_text(table, chain, r)
                if moved_as:
                    delta = _first(moved_as[0], 'packets_delta', 'delta', 'packets')
                    text += ' (+%s packets during the probes)' % delta
                ev = [_ev(chost, 'iptables_info', text)]
                cands.add('firewall_drop', ev, '', confirmed=bool(moved_as))
                raw = str(_first(r, 'rule', 'raw', default='') or '')
                if raw.startswith('-A '):
                    deletes.append('`iptables -t %s -D %s`' % (table or 'filter', raw[3:]))
                else:
                    deletes.append('`iptables -t %s -D %s <same match>`' % (table or 'filter', chain))
        if 'firewall_drop' in cands.items:
            cands.items['firewall_drop']['advice'] = (
                'On %s, iptables drops the traffic of %s (%s). Nova manages iptables: remove the stray rule%s with %s, '
                'or restart nova-network there to rebuild its chains; fix the security group if nova put it there.' % (
                    on, name, fixed_ip, 's' if len(deletes) > 1 else '', ' and '.join(deletes)))
        if floating_ip and fixed_ip and _truthy(_first(nova_settings(cf.get('nova_conf')), 'multi_host', default=fixed.get('multi_host') or True)):
            dnat, snat = nat_for_floating(ipt, floating_ip, fixed_ip)
            if (not dnat or not snat) and _has_table(ipt, 'nat'):
                missing = [x for x, ok in (('DNAT %s -> %s' % (floating_ip, fixed_ip), dnat), ('SNAT %s -> %s' % (fixed_ip, floating_ip), snat)) if not ok]
                ev = [_ev(chost, 'iptables_info', 'nat table has no %s (nova-network-PREROUTING / nova-network-float-snat)' % ' and no '.join(missing))]
                for t, c, r in dnat + snat:
                    ev.append(_ev(chost, 'iptables_info', 'present: ' + _rule_text(t, c, r)))
                cands.add('nat_missing', ev,
                          'On %s restore the floating IP NAT: restart nova-network there (it re-adds DNAT/SNAT for every '
                          'associated floating IP), or disassociate and associate %s again (`nova floating-ip-disassociate` / '
                          '`nova floating-ip-associate %s %s`).' % (on, floating_ip, inst['uuid'] or name, floating_ip))
    for host, r in moved_drops:
        if 'firewall_drop' in cands.items:
            break
        cands.add('firewall_drop', [_ev(host, 'iptables counters', 'moved during the probe: ' + _rule_text(
            r.get('table', 'filter'), r.get('chain'), r))],
            'On %s a %s rule fired on the probe: inspect `iptables-save -c` around it and remove the stray rule or fix '
            'the security group.' % (host, str(_first(r, 'target', 'jump')).upper()), confirmed=True)

    # ---- gateway -------------------------------------------------------------------------------
    gw_hop = (hop_by_kind.get('gateway') or [{}])[0]
    if lad.get('compute_gateway') is False:
        phys_ok = 'physical_interface_down' not in cands.items
        if phys_ok:
            cands.add('gateway_unreachable', [_ev(chost, 'ping_probe', '%s -> gateway %s: no reply' % (chost, gw_hop.get('address')))],
                      'The default gateway %s does not answer %s: check the gateway/router and the link to it '
                      '(`ip neigh show %s` on %s).' % (gw_hop.get('address'), on, gw_hop.get('address'), on), hop=gw_hop.get('id'))

    # ---- DHCP ---------------------------------------------------------------------------------
    clog = cf.get('console_log') or {}
    lease_ok = _first(clog, 'lease_obtained', 'dhcp_ok')
    no_lease = _first(clog, 'no_lease', 'dhcp_failed') or _first(clog, 'result') == 'dhcp_no_lease'
    clog_ev = []
    runs = _first(clog, 'dhcp_runs', default=[]) or []
    if runs and isinstance(runs[-1], dict):
        clog_ev = ['%s: %s' % (e.get('line'), e.get('text')) if isinstance(e, dict) else str(e) for e in runs[-1].get('evidence') or []]
    for k in ('evidence', 'lines', 'dhcp_lines'):
        v = clog.get(k) if isinstance(clog, dict) else None
        if isinstance(v, list) and v and not clog_ev:
            clog_ev = v
            break
    dhcp_symptom = (guest_has_addr is False) or bool(no_lease) or (lease_ok is False)
    dm = cf.get('dnsmasq')
    mac = (ghop.get('mac') or fixed.get('mac') or '').lower()
    if dm is not None and bridge:
        procs = [p for p in _dnsmasq_processes(dm) if isinstance(p, dict)]
        mine = [p for p in procs if _proc_bridge(p) == bridge]
        live = [p for p in mine if _proc_alive(p)]
        live.sort(key=lambda p: 0 if _first(p, 'role') in (None, 'main') else 1)
        pidfiles = [x for x in (_proc_pidfile(p) for p in mine) if x]
        state_dir_pid = _first(dm, 'pid_files', default=None)
        if not live:
            ev = [_ev(chost, 'dnsmasq_info', 'no live dnsmasq serves %s (dnsmasq processes on the host: %s)' % (
                bridge, ', '.join('%s for %s' % (_first(p, 'pid'), _proc_bridge(p)) for p in procs) or 'none'))]
            if isinstance(state_dir_pid, list):
                for pf in state_dir_pid:
                    if isinstance(pf, dict) and (pf.get('bridge') == bridge or (not pf.get('bridge') and bridge in str(pf.get('path', '')))):
                        ev.append(_ev(chost, 'dnsmasq_info', 'pid file %s: pid %s, %s' % (
                            pf.get('path'), pf.get('pid'), pf.get('status') or ('alive' if pf.get('alive') else 'not alive'))))
                        pidfiles.append(pf.get('path'))
            for p in (dm.get('problems') or []) if isinstance(dm, dict) else []:
                if isinstance(p, dict) and bridge in str(p):
                    ev.append(_ev(chost, 'dnsmasq_info', '%s: %s' % (p.get('code'), p.get('message'))))
            pf = pidfiles[0] if pidfiles else None
            cands.add('dhcp_server_down', ev,
                      'On %s only the dnsmasq of %s is down%s: start just that one again (nova-network re-spawns it for %s on '
                      'restart; the other tenants\' dnsmasq keep running). Never `killall dnsmasq`.' % (
                          on, bridge, ' (stale pid file %s)' % pf if pf else '', bridge))
        else:
            p = live[0]
            pf = _proc_pidfile(p)
            hup = ('`kill -HUP $(cat %s)`' % pf) if pf else ('`kill -HUP %s`' % _first(p, 'pid'))
            hmacs = _proc_hostsfile_macs(p, dm, bridge)
            hpath = _proc_hostsfile_path(p) or 'its hosts file'
            res, events = _dhcp_mac_result(dm, mac) if mac else (None, [])
            res_s = str(res or '').lower()
            if mac and hmacs is not None and mac not in hmacs:
                ev = [_ev(chost, 'dnsmasq_info', 'MAC %s of %s is not in the dhcp-hostsfile %s of dnsmasq pid %s (%d entries)' % (
                    mac, name, hpath, _first(p, 'pid'), len(hmacs)))]
                if events:
                    ev.append(_ev(chost, 'dnsmasq log', _ev_lines(events)))
                cands.add('dhcp_no_address_available', ev,
                          'nova-network lost the host entry of %s: add `%s,%s,%s` back to %s (restart nova-network on %s '
                          'rewrites it), then reload only this dnsmasq: %s on %s.' % (
                              name, mac, inst['hostname'] or name, fixed_ip, hpath, on, hup, on))
            elif 'no_address' in res_s or 'no address' in res_s or res_s in ('discover_only', 'ignored', 'nak'):
                cands.add('dhcp_no_address_available', [_ev(chost, 'dnsmasq log', _ev_lines(events) or res)],
                          'dnsmasq has no address for %s: check the fixed IP allocation in the DB and the hosts file %s, then %s on %s.' % (
                              mac, hpath, hup, on))
            elif dhcp_symptom:
                if res_s in ('', 'never_seen', 'not_seen', 'none') or res is None:
                    ev = [_ev(chost, 'dnsmasq log', 'no DHCPDISCOVER from %s in the log of dnsmasq pid %s' % (mac, _first(p, 'pid')))]
                    if clog_ev:
                        ev.append(_ev(chost, 'console_log_info', _ev_lines(clog_ev)))
                    cands.add('dhcp_request_not_seen', ev,
                              'The DHCP request of %s never reached dnsmasq on %s: follow it with `tcpdump -i <hop> -n port 67 or port 68` '
                              'hop by hop (%s).' % (name, on, ' -> '.join(str(h.get('interface')) for h in hops if h.get('interface'))))
                elif 'complete' in res_s or 'ack' in res_s or res_s in ('offer_without_request', 'request_without_ack'):
                    cands.add('dhcp_reply_lost', [_ev(chost, 'dnsmasq log', _ev_lines(events) or res)],
                              'dnsmasq on %s answers %s (DISCOVER/OFFER/REQUEST/ACK) but the instance has no address: the replies '
                              'are lost on the way back; capture port 67/68 on %s and %s.' % (on, mac, bridge, vnet))
    dp = inputs.get('dhcp_probe')
    if isinstance(dp, dict) and dp and not dp.get('skipped'):
        # nova's dnsmasq runs in ``static`` mode: a probe MAC that is not in the hosts file gets no
        # offer even from a healthy server, so the active probe is supporting evidence only.
        offers = _first(dp, 'offers', default=[]) or []
        text = 'DHCPDISCOVER on %s: %s' % (_first(dp, 'interface', default=bridge), ', '.join(
            '%s from %s' % (_first(o, 'offered_address', 'yiaddr', 'address'), _first(o, 'server', 'server_id')) for o in offers
            if isinstance(o, dict)) or 'no offer')
        for cause in [c for c in cands.items if c.startswith('dhcp_')]:
            cands.items[cause]['evidence'].append(_ev(_first(dp, 'host', default=chost), 'dhcp_probe', text))
    if dhcp_symptom and not any(c.startswith('dhcp_') for c in cands.items):
        notes.append('DHCP symptom (no address / no lease in the console log) without a DHCP-side cause')

    # ---- DNS ----------------------------------------------------------------------------------
    # lookups that failed in the guest itself (console log): a reverse lookup that times out then is the same
    # broken resolver, not merely slow PTR records
    clog_dns = (cf.get('console_log') or {}).get('name_resolution') or {}
    guest_dns_failed = clog_dns.get('status') == 'failed'
    for d in inputs.get('dns') or []:
        if not isinstance(d, dict) or d.get('skipped'):
            continue
        qtype = str(_first(d, 'query_type', 'qtype', 'type', default='A')).upper()
        status = str(_first(d, 'status', 'result', default='')).lower()
        where = _first(d, 'from_host', 'host', default=ghost or chost)
        text = '%s %s via %s: %s%s' % (qtype, _first(d, 'query', 'name', default='?'), _first(d, 'server', default='?'), status,
                                       ' in %s ms' % d['latency_ms'] if d.get('latency_ms') is not None else '')
        if status in ('timeout', 'servfail', 'refused', 'error', 'unreachable') and (
                qtype in ('A', 'AAAA') or (qtype == 'PTR' and guest_dns_failed)):
            dns_live = _live_dnsmasq(cf.get('dnsmasq'), bridge)
            if dns_live and status in ('timeout', 'servfail'):
                # dnsmasq itself runs and listens: it forwards the name upstream and gets nothing back
                ups = _dnsmasq_upstreams(dns_live[0]) or [str(x) for x in [_first(cf.get('nova_conf') or {}, 'dns_server')] if x]
                if not ups:
                    other = (cf.get('nova_conf') or {}).get('other') or {}
                    ups = [str(_first(other.get('DEFAULT') or {}, 'dns_server'))] if _first(other.get('DEFAULT') or {}, 'dns_server') else []
                pf = _proc_pidfile(dns_live[0])
                cands.add('dns_failure', [_ev(where, 'dns_probe', text),
                                          _ev(chost, 'dnsmasq_info', 'dnsmasq pid %s serves %s and is alive; upstream: %s' % (
                                              _first(dns_live[0], 'pid'), bridge, ', '.join(ups) or 'the host\'s resolv.conf'))],
                          'dnsmasq of %s on %s is alive but its upstream DNS server (%s) does not answer: fix or replace the upstream '
                          'server; dnsmasq needs no restart (reload with `kill -HUP $(cat %s)` after changing its servers).' % (
                              bridge, on, ', '.join(ups) or 'see resolv.conf on %s' % on, pf or '<its pid file>'),
                          segment='beyond_gateway')
            else:
                cands.add('dns_failure', [_ev(where, 'dns_probe', text)],
                          'The instance\'s DNS server %s (dnsmasq of %s on %s) does not answer: check that this dnsmasq runs and '
                          'listens on %s, then restart only it (never `killall dnsmasq`).' % (_first(d, 'server'), bridge, on, _first(d, 'server')))
        elif qtype == 'PTR' and status in ('slow', 'timeout') and 'dns_failure' not in cands.items:
            cands.add('dns_reverse_slow', [_ev(where, 'dns_probe', text)],
                      'Reverse lookups through %s are slow: ssh logins wait for them. Give dnsmasq the PTR records of the fixed '
                      'range (or `UseDNS no` in sshd_config of the instance).' % _first(d, 'server'))

    if guest_dns_failed:
        clog_lines = '\n'.join('%s: %s' % (e.get('line'), e.get('text')) for e in (clog_dns.get('evidence') or [])[-4:]
                               if isinstance(e, dict))
        if 'dns_failure' in cands.items:
            cands.items['dns_failure']['evidence'].append(_ev(chost, 'console_log_info', clog_lines))
        elif inputs.get('dns'):
            notes.append('name resolution failed in the console log (%s) but the lookups through the instance\'s DNS server '
                         'succeed now' % ', '.join(clog_dns.get('names') or ['no name printed']))

    dcap = inputs.get('dns_capture')
    if isinstance(dcap, dict) and dcap and 'dns_failure' in cands.items:
        if dcap.get('error'):
            notes.append('DNS capture not available: %s' % dcap['error'])
        else:
            seen = []
            for c in capture_hops(dcap):
                seen.append('%s %s:%s query %s, answer %s' % (
                    c['hop'] or '', c['host'], c['interface'], 'seen' if c['request_seen'] else 'not seen',
                    'seen' if c['reply_seen'] else 'not seen'))
            if seen:
                cands.items['dns_failure']['evidence'].append(_ev('controller', 'path_capture udp/53', '\n'.join(
                    seen + ([str(dcap['verdict'])] if dcap.get('verdict') else []))))

    # ---- capture -------------------------------------------------------------------------------
    cap_summary = attach_capture(hops, inputs.get('capture')) if hops else {}

    # ---- choose ---------------------------------------------------------------------------------
    chosen = None
    symptoms = lad.get('external_ok') is False or lad.get('compute_ok') is False or dhcp_symptom
    for cause in PRIORITY:
        c = cands.items.get(cause)
        if not c:
            continue
        if cause == 'firewall_drop' and not c['confirmed'] and not symptoms:
            continue
        chosen = c
        break
    evidence_all = []
    for c in cands.items.values():
        evidence_all.extend(c['evidence'])
    ladder_ev = []
    for p in normalise_probes(inputs.get('probes')):
        ladder_ev.append(_ev(p.get('from_host'), 'ping_probe', '%s: %s -> %s %s (sent %s, received %s)' % (
            p['step'], p.get('from_host'), p.get('target'), 'ok' if p['ok'] else ('FAILED' if p['ok'] is False else '?'),
            p.get('sent'), p.get('received'))))
    ladder_ev = _kind(ladder_ev, 'probe')
    cap_ev = []
    if cap_summary.get('captured_hops'):
        cap_ev.append(_ev('controller', 'path_capture', '%srequest last seen at %s, reply last seen at %s' % (
            (cap_summary['verdict'] + '; ') if cap_summary.get('verdict') else '',
            cap_summary.get('request_last_seen'), cap_summary.get('reply_last_seen'))))
    cap_ev = _kind(cap_ev, 'capture')

    if chosen:
        seg = chosen['segment']
        verdict = {
            'status': 'fault', 'segment': seg, 'cause': chosen['cause'], 'hop': chosen.get('hop'),
            'summary': '%s: %s in segment %s' % (name, chosen['cause'].replace('_', ' '), seg),
            'evidence': _kind(chosen['evidence'], 'cause') + ladder_ev + cap_ev, 'advice': chosen['advice'],
        }
    elif symptoms:
        seg = lad.get('ladder_segment') or _capture_segment(hops, cap_summary) or 'instance_to_compute'
        if lad.get('external_ok') is False and lad.get('compute_ok') is False and lad.get('guest_second_instance'):
            advice = ('%s reaches the second instance but not its compute node: per the chapter, suspect the compute node\'s '
                      'firewall; read `iptables-save -c` on %s around the nova-network-INPUT chain.' % (name, on))
            seg = 'compute'
        else:
            advice = 'No single cause explains the symptoms; the evidence below locates the failing segment (%s). Capture by hand ' \
                     'along the hops from there.' % seg
        verdict = {
            'status': 'fault', 'segment': seg, 'cause': 'unknown', 'hop': None,
            'summary': '%s: path broken in segment %s, cause not identified' % (name, seg),
            'evidence': _kind(evidence_all, 'finding') + ladder_ev + cap_ev, 'advice': advice,
        }
    else:
        verdict = {
            'status': 'ok', 'segment': None, 'cause': 'none', 'hop': None,
            'summary': '%s: the path to the outside works' % name,
            'evidence': ladder_ev + cap_ev, 'advice': 'Nothing to do on the network path.',
        }
    verdict['suspects'] = [{'cause': c['cause'], 'segment': c['segment'], 'confirmed': c['confirmed']}
                           for c in sorted(cands.items.values(), key=lambda x: PRIORITY.index(x['cause']))]
    verdict['ladder'] = lad
    notes.extend('could not read: %s' % e for e in inputs.get('fact_errors') or [] if e)
    if isinstance(inputs.get('capture'), dict) and inputs['capture'].get('error'):
        notes.append('capture not available: %s' % inputs['capture']['error'])
    verdict['notes'] = notes + ['audit: %s' % _first(f, 'message', 'code', default=f) for f in findings if f not in my_findings][:20]
    verdict['capture'] = cap_summary
    verdict['place'] = fault_place(verdict, hops, chost)
    return verdict


def _kind(evidence, kind):
    """Copies of the evidence items marked with what they are: ``cause`` (behind the chosen cause),
    ``finding`` (some cause's evidence when none was chosen), ``probe`` or ``capture``."""
    return [dict(e, kind=kind) for e in evidence]


def fault_place(verdict, hops, compute_host=None):
    """Where the cause of a fault verdict lies, for the report's picture; None when the verdict is ok.

    ``kind`` (see CAUSE_PLACE) and ``label``; ``host``; ``hop`` (the hop id, kind ``hop``);
    ``after`` (kind ``stack``: the hop after which the host's network stack is drawn, the last hop
    of that host on the instance's side, else its last); ``hops`` (kind ``segment``: the hops of
    the failing segment); ``object`` (what exactly: the interface, the rule, the log line).
    """
    if verdict.get('status') != 'fault':
        return None
    cause = verdict.get('cause')
    kind, label = CAUSE_PLACE.get(cause, ('segment', str(cause)))
    seg = verdict.get('segment')
    by_id = {h['id']: h for h in hops}
    cause_ev = [e for e in verdict.get('evidence') or [] if e.get('kind') == 'cause']
    place = {'kind': kind, 'label': label, 'host': None, 'hop': None, 'after': None, 'hops': [],
             'object': str(cause_ev[0]['excerpt'])[:240] if cause_ev else None}
    if kind == 'hop':
        h = by_id.get(verdict.get('hop'))
        if h is not None:
            place.update(host=h.get('host'), hop=h['id'], object=h.get('interface') or h.get('address') or place['object'])
            return place
        kind = place['kind'] = 'segment'
    if kind == 'segment':
        place['hops'] = [h['id'] for h in hops if h.get('segment') == seg and h.get('on_path', True)]
        place['host'] = compute_host
        if place['hops']:
            return place
        kind = place['kind'] = 'stack'
    if kind == 'stack':
        if cause == 'dns_failure' and seg == 'beyond_gateway':
            gws = [h for h in hops if h.get('kind') == 'gateway']
            place.update(label='upstream DNS server of dnsmasq', after=gws[-1]['id'] if gws else None)
            return place
        host = next((e['host'] for e in cause_ev if e.get('host') not in (None, 'controller', 'nova-db')), compute_host)
        mine = [h for h in hops if h.get('host') == host]
        inner = [h for h in mine if h.get('segment') in ('instance', 'instance_to_compute') and h.get('on_path', True)]
        place['host'] = host
        place['after'] = (inner or mine)[-1]['id'] if (inner or mine) else None
        return place
    place['host'] = 'nova-db'
    return place


def _capture_segment(hops, cap_summary):
    last = cap_summary.get('request_last_seen') if cap_summary else None
    if not last:
        return None
    for h in hops:
        if h['id'] == last:
            return h.get('segment')
    return None
