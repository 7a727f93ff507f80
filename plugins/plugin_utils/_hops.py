# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hop list of an instance's path, the ping ladder and the per-hop capture (private).

Nothing here knows the lab: every name (bridge, vnet, NIC, gateway) comes from the inputs.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import (
    _addresses, _first, _truthy, bridges_ports, default_route, domain_interfaces, iface_mac, instance_summary,
    interfaces_by_name, nova_settings, tap_by_mac)


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
