# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interface facts from collected text: ``ip a`` / ``ip -d addr show`` and ``ip -j [-d] addr show`` (private).

The same interface dicts as ``_interfaces.dump_interfaces`` (netlink), from text, for offline
analysis of collected output.  Kept apart from the netlink decoder so that the module process that
dumps over netlink does not load (compile) them.  ``_interfaces.parse_ip_*`` still resolve here.
"""

from __future__ import annotations

import json
import re

from ansible_collections.cloudops.netdiag.plugins.module_utils._interfaces import InterfaceError

_LINK_RE = re.compile(r'^(\d+):\s+([^\s:@]+)(?:@([^\s:]+))?:\s+<([^>]*)>(.*)$')
_KIND_WORDS = {'veth', 'bridge', 'vlan', 'vxlan', 'bond', 'tun', 'macvlan', 'macvtap', 'ipvlan', 'dummy',
               'gre', 'gretap', 'ipip', 'sit', 'geneve', 'team', 'vrf', 'wireguard', 'ip6tnl', 'ip6gre',
               'openvswitch', 'ifb', 'nlmon', 'vcan', 'vti', 'xfrm', 'erspan', 'netdevsim'}
_ADDR_FLAGS = {'secondary', 'nodad', 'optimistic', 'dadfailed', 'home', 'deprecated', 'tentative', 'permanent',
               'mngtmpaddr', 'noprefixroute', 'dynamic', 'temporary', 'autojoin', 'stable-privacy'}


def _kv(tokens):
    out = {}
    i = 0
    while i + 1 < len(tokens):
        out[tokens[i]] = tokens[i + 1]
        i += 2
    return out


def parse_ip_addr(text):
    """Parse ``ip a`` / ``ip -d addr show`` / ``ip a | grep state`` text into interface dicts.

    The shape is the one ``dump_interfaces`` returns, with what the text holds (``counters`` is
    None, ``master_index`` is None; ``carrier`` comes from NO-CARRIER/LOWER_UP).  Raises
    InterfaceError when no line looks like ``ip`` output.
    """
    interfaces = []
    cur = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        m = _LINK_RE.match(line)
        if m:
            index, name, at, flags, rest = m.groups()
            flag_list = [f for f in flags.split(',') if f]
            kv = _kv(rest.split())
            up = 'UP' in flag_list
            cur = {'index': int(index), 'name': name, 'flags': flag_list, 'up': up,
                   'lower_up': 'LOWER_UP' in flag_list,
                   'carrier': 'LOWER_UP' in flag_list and 'NO-CARRIER' not in flag_list,
                   'operstate': kv.get('state', 'UNKNOWN'), 'mtu': int(kv['mtu']) if kv.get('mtu', '').isdigit() else None,
                   'qdisc': kv.get('qdisc'), 'master': kv.get('master'), 'master_index': None,
                   'kind': 'loopback' if 'LOOPBACK' in flag_list else None, 'link_type': None, 'mac': None,
                   'link': None, 'link_index': None, 'link_netnsid': None, 'link_netns': None, 'peer_index': None,
                   'alias': None, 'counters': None, 'addresses': [], 'netns': None}
            if at:
                if at.startswith('if') and at[2:].isdigit():
                    cur['link_index'] = int(at[2:])
                elif at != 'NONE':
                    cur['link'] = at
            interfaces.append(cur)
            continue
        if cur is None:
            continue
        tokens = line.split()
        head = tokens[0]
        if head.startswith('link/'):
            cur['link_type'] = head[5:]
            if len(tokens) > 1 and ':' in tokens[1]:
                cur['mac'] = tokens[1]
            for i, t in enumerate(tokens[:-1]):
                if t == 'link-netnsid' and tokens[i + 1].isdigit():
                    cur['link_netnsid'] = int(tokens[i + 1])
                elif t == 'link-netns':
                    cur['link_netns'] = tokens[i + 1]
                elif t == 'promiscuity':
                    cur['_detailed'] = True
        elif head in ('inet', 'inet6') and len(tokens) > 1:
            addr, _sep, plen = tokens[1].partition('/')
            entry = {'family': head, 'address': addr, 'prefixlen': int(plen) if plen.isdigit() else None,
                     'scope': None, 'label': None, 'flags': []}
            i = 2
            while i < len(tokens):
                t = tokens[i]
                if t in ('brd', 'scope', 'peer', 'metric') and i + 1 < len(tokens):
                    if t == 'brd':
                        entry['broadcast'] = tokens[i + 1]
                    elif t == 'peer':
                        entry['peer'] = tokens[i + 1].partition('/')[0]
                    elif t == 'scope':
                        entry['scope'] = tokens[i + 1]
                    i += 2
                    continue
                if t in _ADDR_FLAGS:
                    entry['flags'].append(t)
                elif head == 'inet' and i == len(tokens) - 1:
                    entry['label'] = t
                i += 1
            cur['addresses'].append(entry)
        elif head == 'valid_lft' or head == 'altname':
            continue
        elif head in _KIND_WORDS:
            kind = head
            kv = _kv(tokens[1:])
            if head == 'tun' and kv.get('type') == 'tap':
                kind = 'tap'
            cur['kind'] = kind
            if head == 'vlan':
                vid = kv.get('id') or _kv(tokens[3:]).get('id')
                if vid and vid.isdigit():
                    cur['vlan_id'] = int(vid)
            elif head == 'vxlan' and kv.get('id', '').isdigit():
                cur['vxlan_id'] = int(kv['id'])
            elif head == 'bridge':
                br = {}
                if kv.get('stp_state', '').isdigit():
                    br['stp_state'] = int(kv['stp_state'])
                if 'bridge_id' in kv:
                    br['bridge_id'] = kv['bridge_id']
                cur['bridge'] = br
        elif head in ('bridge_slave', 'bond_slave'):
            cur['slave_kind'] = head[:-6]
            if head == 'bridge_slave':
                kv = _kv(tokens[1:])
                port = {}
                if 'state' in kv:
                    port['state'] = kv['state']
                for key in ('priority', 'cost'):
                    if kv.get(key, '').isdigit():
                        port[key] = int(kv[key])
                cur['bridge_port'] = port
    if not interfaces:
        raise InterfaceError('no interface found: the text is not the output of "ip a" or "ip -d addr show"')
    names = {i['index']: i['name'] for i in interfaces}
    for itf in interfaces:
        if itf['link_index'] is not None and itf['link_netnsid'] is None and itf['link_netns'] is None:
            itf['link'] = names.get(itf['link_index'])
        elif itf['link'] and itf['link_index'] is None:
            for idx, nm in names.items():
                if nm == itf['link']:
                    itf['link_index'] = idx
        if itf['kind'] == 'veth':
            itf['peer_index'] = itf['link_index']
        if itf['kind'] is None:
            # "ip -d" prints a kind line for every virtual device: none means a real device.
            itf['kind'] = 'device' if itf.pop('_detailed', False) and itf['link_type'] == 'ether' else 'unknown'
        itf.pop('_detailed', None)
    return interfaces


def parse_ip_json(data):
    """Parse ``ip -j [-d] addr show`` output (text or the decoded list) into interface dicts.

    Same shape as ``parse_ip_addr``; with ``-s`` in the command the counters are filled too.
    Raises InterfaceError when the data is not that JSON.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InterfaceError('not the JSON output of "ip -j addr show": %s' % exc)
    if not isinstance(data, list) or not all(isinstance(e, dict) and 'ifname' in e for e in data):
        raise InterfaceError('not the JSON output of "ip -j addr show": expected a list of objects with "ifname"')
    out = []
    for e in data:
        flags = list(e.get('flags') or [])
        info = e.get('linkinfo') or {}
        kind = info.get('info_kind')
        if kind == 'tun' and (info.get('info_data') or {}).get('type') == 'tap':
            kind = 'tap'
        link_type = e.get('link_type')
        if kind is None:
            if link_type == 'loopback':
                kind = 'loopback'
            elif 'linkinfo' in e or 'promiscuity' in e:
                kind = 'device' if link_type == 'ether' else link_type
            else:
                kind = 'unknown'
        itf = {'index': e.get('ifindex'), 'name': e['ifname'], 'flags': flags, 'up': 'UP' in flags,
               'lower_up': 'LOWER_UP' in flags, 'carrier': 'LOWER_UP' in flags and 'NO-CARRIER' not in flags,
               'operstate': e.get('operstate', 'UNKNOWN'), 'mtu': e.get('mtu'), 'qdisc': e.get('qdisc'),
               'master': e.get('master'), 'master_index': None, 'kind': kind, 'link_type': link_type,
               'mac': e.get('address') or None, 'link': e.get('link'), 'link_index': e.get('link_index'),
               'link_netnsid': e.get('link_netnsid'), 'link_netns': None, 'peer_index': None,
               'alias': e.get('ifalias'), 'counters': None, 'addresses': [], 'netns': None}
        data_ = info.get('info_data') or {}
        if kind == 'vlan' and 'id' in data_:
            itf['vlan_id'] = data_['id']
        elif kind == 'vxlan' and 'id' in data_:
            itf['vxlan_id'] = data_['id']
        elif kind == 'bridge':
            itf['bridge'] = {k: data_[k] for k in ('stp_state', 'bridge_id') if k in data_}
        if info.get('info_slave_kind'):
            itf['slave_kind'] = info['info_slave_kind']
            sd = info.get('info_slave_data') or {}
            if info['info_slave_kind'] == 'bridge':
                itf['bridge_port'] = {k: sd[k] for k in ('state', 'priority', 'cost') if k in sd}
        stats = e.get('stats64')
        if stats:
            rx, tx = stats.get('rx', {}), stats.get('tx', {})
            itf['counters'] = {'rx_packets': rx.get('packets'), 'tx_packets': tx.get('packets'),
                               'rx_bytes': rx.get('bytes'), 'tx_bytes': tx.get('bytes'),
                               'rx_errors': rx.get('errors'), 'tx_errors': tx.get('errors'),
                               'rx_dropped': rx.get('dropped'), 'tx_dropped': tx.get('dropped')}
        for a in e.get('addr_info') or ():
            if a.get('family') not in ('inet', 'inet6'):
                continue
            entry = {'family': a['family'], 'address': a.get('local'), 'prefixlen': a.get('prefixlen'),
                     'scope': a.get('scope'), 'label': a.get('label'),
                     'flags': [f for f in ('secondary', 'nodad', 'optimistic', 'dadfailed', 'deprecated',
                                           'tentative', 'noprefixroute', 'dynamic') if a.get(f)]}
            if a.get('broadcast'):
                entry['broadcast'] = a['broadcast']
            if a.get('address') and a.get('address') != a.get('local'):
                entry['peer'] = a['address']
            itf['addresses'].append(entry)
        out.append(itf)
    names = {i['index']: i['name'] for i in out}
    indexes = {i['name']: i['index'] for i in out}
    for itf in out:
        if itf['link'] is None and itf['link_index'] is not None and itf['link_netnsid'] is None:
            itf['link'] = names.get(itf['link_index'])
        elif itf['link'] is not None and itf['link_index'] is None:
            itf['link_index'] = indexes.get(itf['link'])
        if itf['kind'] == 'veth':
            itf['peer_index'] = itf['link_index']
    return out


def parse_ip_text(text):
    """``parse_ip_json`` when the text is JSON (starts with ``[``), else ``parse_ip_addr``."""
    if text.lstrip()[:1] == '[':
        return parse_ip_json(text)
    return parse_ip_addr(text)
