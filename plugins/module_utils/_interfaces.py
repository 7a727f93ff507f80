# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interface facts: a raw rtnetlink dump and an ``ip a`` text parser (private).

Two ways in, one shape out (a list of plain dicts, one per link):

* ``dump_interfaces(netns=None)`` asks the kernel directly over an ``AF_NETLINK`` socket: one
  ``RTM_GETLINK`` dump and one ``RTM_GETADDR`` dump on the same socket, decoded by the small
  attribute decoder below (stdlib ``socket`` and ``struct`` only).  This is the path the module
  uses; ``docs/performance.md`` has the measurements that made it win over pyroute2 and over
  ``ip -j -d addr show`` (no third-party import, no subprocess, no JSON round trip).
* ``parse_ip_addr(text)`` reads the text of ``ip a``, ``ip -d addr show`` or the chapter's
  ``ip a | grep state`` for offline analysis of collected output.

``evaluate_problems(interfaces)`` then fills each interface's ``problems`` list and ``ignorable``
flag; it works on either source.  Everything here is pure or talks to the kernel read-only.
"""

from __future__ import annotations

import fnmatch
import gc
import json
import os
import re
import socket
import struct

from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import (
    NetnsError,
    enter_netns,
    list_netns,
    netns_path,
)

# ---------------------------------------------------------------------------------------------
# rtnetlink constants (linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h)
NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWNSID = 88
RTM_GETNSID = 90
NLA_TYPE_MASK = 0x3fff

IFLA_ADDRESS = 1
IFLA_BROADCAST = 2
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_QDISC = 6
IFLA_MASTER = 10
IFLA_TXQLEN = 13
IFLA_OPERSTATE = 16
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_STATS64 = 23
IFLA_CARRIER = 33
IFLA_LINK_NETNSID = 37
IFLA_PERM_ADDRESS = 54

IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_INFO_SLAVE_KIND = 4
IFLA_INFO_SLAVE_DATA = 5

IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_BROADCAST = 4
IFA_FLAGS = 8

NETNSA_NSID = 1
NETNSA_FD = 3

_HDR = struct.Struct('=IHHII')          # nlmsghdr
_IFINFO = struct.Struct('=BxHiII')      # ifinfomsg
_IFADDR = struct.Struct('=BBBBi')       # ifaddrmsg
_NLA = struct.Struct('=HH')
_U32 = struct.Struct('=I')
_I32 = struct.Struct('=i')
_U16 = struct.Struct('=H')
_STATS64 = struct.Struct('=8Q')         # first 8 counters of rtnl_link_stats64

ARPHRD = {1: 'ether', 772: 'loopback', 65534: 'none', 768: 'ipip', 776: 'sit', 778: 'gre', 823: 'ip6gre',
          32: 'infiniband', 801: 'ieee802.11', 65535: 'void'}
OPERSTATES = ('UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP')
SCOPES = {0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere'}
# (bit, name) in the order iproute2 prints them.
IFF_FLAGS = ((0x8, 'LOOPBACK'), (0x2, 'BROADCAST'), (0x10, 'POINTOPOINT'), (0x1000, 'MULTICAST'), (0x80, 'NOARP'),
             (0x200, 'ALLMULTI'), (0x100, 'PROMISC'), (0x20, 'NOTRAILERS'), (0x4, 'DEBUG'), (0x8000, 'DYNAMIC'),
             (0x4000, 'AUTOMEDIA'), (0x2000, 'PORTSEL'), (0x400, 'MASTER'), (0x800, 'SLAVE'), (0x1, 'UP'),
             (0x10000, 'LOWER_UP'), (0x20000, 'DORMANT'), (0x40000, 'ECHO'))
IFF_UP = 0x1
IFF_RUNNING = 0x40
IFA_FLAG_NAMES = ((0x01, 'secondary'), (0x02, 'nodad'), (0x04, 'optimistic'), (0x08, 'dadfailed'),
                  (0x10, 'home'), (0x20, 'deprecated'), (0x40, 'tentative'), (0x80, 'permanent'),
                  (0x100, 'mngtmpaddr'), (0x200, 'noprefixroute'))
BRPORT_STATES = ('disabled', 'listening', 'learning', 'forwarding', 'blocking')
COUNTER_KEYS = ('rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes', 'rx_errors', 'tx_errors', 'rx_dropped',
                'tx_dropped')

# libvirt's default network: never a problem (the chapter: "you can ignore virbr0").
IGNORABLE_NAMES = ('virbr0', 'virbr0-nic')

_flag_cache = {}


class InterfaceError(Exception):
    """The kernel could not be asked (socket error, namespace problem) or text is not ``ip`` output."""


def flag_names(flags):
    """ip(8)-style flag list for an ``ifi_flags`` value (with NO-CARRIER like ``ip a``)."""
    names = _flag_cache.get(flags)
    if names is None:
        names = []
        if flags & IFF_UP and not flags & IFF_RUNNING:
            names.append('NO-CARRIER')
        names.extend(name for bit, name in IFF_FLAGS if flags & bit)
        _flag_cache[flags] = names
    return list(names)


def _mac(raw):
    return bytes(raw).hex(':')


def _attrs(buf, off, end, _unpack=_NLA.unpack_from):
    """{type: (start, length)} of the netlink attributes in buf[off:end] (payload offsets)."""
    out = {}
    while off + 4 <= end:
        alen, atype = _unpack(buf, off)
        if alen < 4:
            break
        out[atype & NLA_TYPE_MASK] = (off + 4, alen - 4)
        off += (alen + 3) & -4
    return out


_LINK_ATTRS = frozenset((IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_QDISC, IFLA_MASTER, IFLA_OPERSTATE,
                         IFLA_LINKINFO, IFLA_IFALIAS, IFLA_STATS64, IFLA_CARRIER, IFLA_LINK_NETNSID))


def _link_attrs(buf, off, end, _unpack=_NLA.unpack_from, _want=_LINK_ATTRS):
    """Like ``_attrs`` for a link message, keeping only the attributes ``decode_link`` reads (faster)."""
    out = {}
    while off + 4 <= end:
        alen, atype = _unpack(buf, off)
        if alen < 4:
            break
        atype &= NLA_TYPE_MASK
        if atype in _want:
            out[atype] = (off + 4, alen - 4)
        off += (alen + 3) & -4
    return out


def _cstr(buf, start, length):
    return buf[start:start + length].split(b'\0', 1)[0].decode('utf-8', 'replace')


def _decode_bridge(buf, start, length):
    a = _attrs(buf, start, start + length)
    out = {}
    if 5 in a:          # IFLA_BR_STP_STATE u32
        out['stp_state'] = _U32.unpack_from(buf, a[5][0])[0]
    if 1 in a:          # IFLA_BR_FORWARD_DELAY (centiseconds)
        out['forward_delay'] = _U32.unpack_from(buf, a[1][0])[0]
    if 6 in a:          # IFLA_BR_PRIORITY u16
        out['priority'] = _U16.unpack_from(buf, a[6][0])[0]
    if 7 in a:          # IFLA_BR_VLAN_FILTERING u8
        out['vlan_filtering'] = buf[a[7][0]]
    if 11 in a:         # IFLA_BR_BRIDGE_ID: prio[2] + addr[6]
        s = a[11][0]
        out['bridge_id'] = '%02x%02x.%s' % (buf[s], buf[s + 1], ''.join('%02x' % b for b in buf[s + 2:s + 8]))
    return out


def _decode_brport(buf, start, length):
    a = _attrs(buf, start, start + length)
    out = {}
    if 1 in a:          # IFLA_BRPORT_STATE u8
        st = buf[a[1][0]]
        out['state'] = BRPORT_STATES[st] if st < len(BRPORT_STATES) else str(st)
    if 2 in a:          # IFLA_BRPORT_PRIORITY u16
        out['priority'] = _U16.unpack_from(buf, a[2][0])[0]
    if 3 in a:          # IFLA_BRPORT_COST u32
        out['cost'] = _U32.unpack_from(buf, a[3][0])[0]
    if 18 in a:         # IFLA_BRPORT_NO u16
        out['port_no'] = _U16.unpack_from(buf, a[18][0])[0]
    return out


def _decode_linkinfo(buf, start, length, link):
    a = _attrs(buf, start, start + length)
    kind = _cstr(buf, *a[IFLA_INFO_KIND]) if IFLA_INFO_KIND in a else None
    if IFLA_INFO_SLAVE_KIND in a:
        link['slave_kind'] = slave_kind = _cstr(buf, *a[IFLA_INFO_SLAVE_KIND])
        if slave_kind == 'bridge' and IFLA_INFO_SLAVE_DATA in a:
            link['bridge_port'] = _decode_brport(buf, *a[IFLA_INFO_SLAVE_DATA])
    data = a.get(IFLA_INFO_DATA)
    if kind == 'vlan' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 1 in d:      # IFLA_VLAN_ID
            link['vlan_id'] = _U16.unpack_from(buf, d[1][0])[0]
    elif kind == 'vxlan' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 1 in d:      # IFLA_VXLAN_ID
            link['vxlan_id'] = _U32.unpack_from(buf, d[1][0])[0]
    elif kind == 'tun' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 3 in d:      # IFLA_TUN_TYPE: IFF_TUN=1, IFF_TAP=2
            kind = 'tap' if buf[d[3][0]] == 2 else 'tun'
    elif kind == 'bridge' and data:
        link['bridge'] = _decode_bridge(buf, *data)
    elif kind == 'bond' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 1 in d:      # IFLA_BOND_MODE u8
            link['bond_mode'] = buf[d[1][0]]
    return kind


def decode_link(buf, off, end):
    """One RTM_NEWLINK message body (after nlmsghdr) into an interface dict."""
    _family, ltype, index, flags, _change = _IFINFO.unpack_from(buf, off)
    a = _link_attrs(buf, off + 16, end)
    link = {'index': index, 'name': _cstr(buf, *a[IFLA_IFNAME]) if IFLA_IFNAME in a else str(index),
            'link_type': ARPHRD.get(ltype, str(ltype)), 'flags': flag_names(flags),
            'up': bool(flags & IFF_UP), 'lower_up': bool(flags & 0x10000)}
    kind = None
    if IFLA_LINKINFO in a:
        kind = _decode_linkinfo(buf, a[IFLA_LINKINFO][0], a[IFLA_LINKINFO][1], link)
    if kind is None:
        kind = 'loopback' if ltype == 772 else ('device' if ltype == 1 else link['link_type'])
    link['kind'] = kind
    v = a.get(IFLA_OPERSTATE)
    st = buf[v[0]] if v else 0
    link['operstate'] = OPERSTATES[st] if st < len(OPERSTATES) else str(st)
    v = a.get(IFLA_CARRIER)
    link['carrier'] = bool(buf[v[0]]) if v else bool(flags & 0x10000)
    v = a.get(IFLA_MTU)
    link['mtu'] = _U32.unpack_from(buf, v[0])[0] if v else None
    v = a.get(IFLA_ADDRESS)
    link['mac'] = _mac(buf[v[0]:v[0] + v[1]]) if v and v[1] else None
    v = a.get(IFLA_QDISC)
    link['qdisc'] = _cstr(buf, *v) if v else None
    v = a.get(IFLA_MASTER)
    link['master_index'] = _U32.unpack_from(buf, v[0])[0] if v else None
    v = a.get(IFLA_LINK)
    link['link_index'] = _I32.unpack_from(buf, v[0])[0] if v else None
    v = a.get(IFLA_LINK_NETNSID)
    link['link_netnsid'] = _I32.unpack_from(buf, v[0])[0] if v else None
    v = a.get(IFLA_IFALIAS)
    link['alias'] = _cstr(buf, *v) if v else None
    v = a.get(IFLA_STATS64)
    if v and v[1] >= 64:
        link['counters'] = dict(zip(COUNTER_KEYS, _STATS64.unpack_from(buf, v[0])))
    else:
        link['counters'] = None
    link['addresses'] = []
    return link


def decode_addr(buf, off, end):
    """One RTM_NEWADDR message body into ``(ifindex, address dict)``."""
    family, prefixlen, aflags, scope, index = _IFADDR.unpack_from(buf, off)
    a = _attrs(buf, off + 8, end)
    if family == socket.AF_INET:
        fam, alen = 'inet', 4
    elif family == socket.AF_INET6:
        fam, alen = 'inet6', 16
    else:
        return index, None
    local = a.get(IFA_LOCAL)
    peer = a.get(IFA_ADDRESS)
    main = local or peer
    if not main or main[1] < alen:
        return index, None
    addr = {'family': fam, 'address': socket.inet_ntop(family, bytes(buf[main[0]:main[0] + alen])),
            'prefixlen': prefixlen, 'scope': SCOPES.get(scope, str(scope))}
    if local and peer and bytes(buf[local[0]:local[0] + alen]) != bytes(buf[peer[0]:peer[0] + alen]):
        addr['peer'] = socket.inet_ntop(family, bytes(buf[peer[0]:peer[0] + alen]))
    v = a.get(IFA_BROADCAST)
    if v and v[1] >= alen:
        addr['broadcast'] = socket.inet_ntop(family, bytes(buf[v[0]:v[0] + alen]))
    v = a.get(IFA_LABEL)
    addr['label'] = _cstr(buf, *v) if v else None
    v = a.get(IFA_FLAGS)
    if v:
        aflags = _U32.unpack_from(buf, v[0])[0]
    addr['flags'] = [n for bit, n in IFA_FLAG_NAMES if aflags & bit]
    return index, addr


class _Rtnl(object):
    """A minimal rtnetlink socket: send one dump request, iterate the replies."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.sock.bind((0, 0))
        except OSError:
            self.sock.close()
            raise
        self.seq = 0
        self.buf = bytearray(1 << 16)

    def close(self):
        self.sock.close()

    def request(self, msg_type, body, flags=NLM_F_REQUEST | NLM_F_DUMP):
        """Send a request; yield (type, buffer, body_offset, end) of every reply message."""
        self.seq += 1
        seq = self.seq
        self.sock.send(_HDR.pack(16 + len(body), msg_type, flags, seq, 0) + body)
        buf = self.buf
        view = memoryview(buf)
        while True:
            n = self.sock.recv_into(view)
            off = 0
            while off + 16 <= n:
                mlen, mtype, _fl, mseq, _pid = _HDR.unpack_from(buf, off)
                if mlen < 16:
                    return
                end = off + mlen
                if mseq == seq:
                    if mtype == NLMSG_DONE:
                        return
                    if mtype == NLMSG_ERROR:
                        err = -_I32.unpack_from(buf, off + 16)[0]
                        if err:
                            raise InterfaceError('netlink request %d failed: %s' % (msg_type, os.strerror(err)))
                        return
                    yield mtype, buf, off + 16, end
                off = (end + 3) & ~3
            if not flags & NLM_F_DUMP:
                return


def _dump_current(with_addresses=True):
    """Links (+ addresses) of the namespace this thread is in."""
    sock = _Rtnl()
    try:
        links = []
        by_index = {}
        # IFLA_EXT_MASK (29) = RTEXT_FILTER_VF(1) | RTEXT_FILTER_SKIP_STATS(8) would shrink the
        # messages, but we want the counters: ask with no mask.
        for mtype, buf, off, end in sock.request(RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0)):
            if mtype == RTM_NEWLINK:
                link = decode_link(buf, off, end)
                links.append(link)
                by_index[link['index']] = link
        if with_addresses:
            for mtype, buf, off, end in sock.request(RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0)):
                if mtype == RTM_NEWADDR:
                    index, addr = decode_addr(buf, off, end)
                    if addr is not None and index in by_index:
                        by_index[index]['addresses'].append(addr)
        return links, sock
    except Exception:
        sock.close()
        raise


def _nsid_map(sock, names, run_dir):
    """{nsid: name} for the named namespaces that have an id in the socket's namespace."""
    out = {}
    for name in names:
        try:
            fd = os.open(os.path.join(run_dir, name), os.O_RDONLY)
        except OSError:
            continue
        try:
            body = b'\0\0\0\0' + _NLA.pack(8, NETNSA_FD) + _U32.pack(fd)
            for mtype, buf, off, end in sock.request(RTM_GETNSID, body, flags=NLM_F_REQUEST):
                if mtype == RTM_NEWNSID:
                    a = _attrs(buf, off + 4, end)
                    if NETNSA_NSID in a:
                        nsid = _I32.unpack_from(buf, a[NETNSA_NSID][0])[0]
                        if nsid >= 0:
                            out[nsid] = name
        except (OSError, InterfaceError):
            pass
        finally:
            os.close(fd)
    return out


def _resolve(links, netns, nsids):
    """Names for master/link indexes, netns tags; done after the dump so order does not matter."""
    names = {link['index']: link['name'] for link in links}
    for link in links:
        link['netns'] = netns
        mi = link['master_index']
        link['master'] = names.get(mi) if mi else None
        li = link['link_index']
        nsid = link['link_netnsid']
        if nsid is None:
            link['link'] = names.get(li) if li and li != link['index'] else None
            link['link_netns'] = netns if link['link'] else None
        else:
            link['link'] = None
            link['link_netns'] = nsids.get(nsid)
        if link['kind'] == 'veth':
            link['peer_index'] = li
        else:
            link['peer_index'] = None


def _same_ns_as_self(path):
    try:
        a = os.stat('/proc/self/ns/net')
        b = os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def namespaces_for(netns, run_dir='/run/netns'):
    """Normalise the ``netns`` option into a list of names (None = the current namespace).

    ``None``/empty -> ``[None]``; a string -> that one; ``all`` -> the current namespace plus every
    named one (the current one is reported under its name when it is itself a named namespace);
    a list -> those names.  Raises NetnsError naming a namespace that does not exist.
    """
    if not netns:
        return [None]
    if isinstance(netns, str):
        netns = [netns]
    if list(netns) == ['all']:
        named = list_netns(run_dir)
        own = [n for n in named if _same_ns_as_self(os.path.join(run_dir, n))]
        return ([] if own else [None]) + named
    out = []
    for name in netns:
        if name not in out:
            netns_path(name, run_dir)
            out.append(name)
    return out


def dump_interfaces(netns=None, names=None, with_addresses=True, run_dir='/run/netns', pause_gc=True):
    """Interfaces of one or more namespaces from one netlink dump each (links + addresses).

    ``netns``: see ``namespaces_for`` (with ``all``, a namespace deleted while the dump runs is
    skipped).  ``names``: exact names or shell patterns (fnmatch).
    Returns the list of interface dicts (unevaluated: call ``evaluate_problems``).
    Raises NetnsError (missing namespace) or InterfaceError (netlink failure).
    """
    spaces = namespaces_for(netns, run_dir)
    every = netns == 'all' or (isinstance(netns, (list, tuple)) and list(netns) == ['all'])
    result = []
    gc_was = gc.isenabled()
    if pause_gc:
        gc.disable()    # the decoded dicts are acyclic: the cyclic GC only costs time here
    try:
        named = None
        for ns in spaces:
            try:
                with enter_netns(ns, run_dir):
                    links, sock = _dump_current(with_addresses)
                    try:
                        nsids = {}
                        if any(link['link_netnsid'] is not None for link in links):
                            if named is None:
                                named = list_netns(run_dir)
                            nsids = _nsid_map(sock, named, run_dir)
                    finally:
                        sock.close()
            except NetnsError:
                if every and ns and not os.path.exists(os.path.join(run_dir, ns)):
                    continue    # deleted between listing and entering: it has no interfaces any more
                raise
            except OSError as exc:
                raise InterfaceError('cannot dump interfaces of network namespace %s: %s'
                                     % (ns or '(current)', exc.strerror or exc))
            _resolve(links, ns, nsids)
            if names:
                links = [link for link in links if name_matches(link['name'], names)]
            result.extend(links)
    finally:
        if pause_gc and gc_was:
            gc.enable()
    return result


def name_matches(name, patterns):
    """True when ``name`` equals one of ``patterns`` or matches it as a shell pattern."""
    for pat in patterns:
        if name == pat or (any(c in pat for c in '*?[') and fnmatch.fnmatchcase(name, pat)):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Problems

def _problem(code, message, obj):
    return {'code': code, 'message': message, 'object': obj}


def evaluate_problems(interfaces):
    """Fill ``ignorable`` and ``problems`` on every interface (in place) and return the list.

    Codes: ``admin_down`` (not UP), ``no_carrier`` (UP without carrier), ``lower_layer_down``
    (operstate LOWERLAYERDOWN, or a veth whose peer - found in the same result, possibly in another
    namespace - is administratively down),
    ``enslaved_but_down`` (has a master but is not UP), ``master_down`` (its master bridge/bond is
    not UP), ``mtu_mismatch_with_master`` (port MTU differs from its bridge's), ``bridge_port_blocked``
    (bridge port in state disabled/blocking while UP).  ``virbr0``/``virbr0-nic`` are ignorable and
    never carry problems; neither do ports of an ignorable bridge.
    """
    by_key = {}
    by_index = {}
    for itf in interfaces:
        by_key[(itf.get('netns'), itf['name'])] = itf
        by_index[(itf.get('netns'), itf.get('index'))] = itf
    for itf in interfaces:
        ns = itf.get('netns')
        name = itf['name']
        master = by_key.get((ns, itf.get('master'))) if itf.get('master') else None
        ignorable = name in IGNORABLE_NAMES or bool(master and master['name'] in IGNORABLE_NAMES)
        itf['ignorable'] = ignorable
        problems = []
        itf['problems'] = problems
        if ignorable:
            continue
        obj = name if not ns else '%s/%s' % (ns, name)
        up = itf.get('up')
        if up is False:
            if itf.get('master'):
                problems.append(_problem('enslaved_but_down', '%s is a port of %s but administratively down'
                                         % (name, itf['master']), obj))
            else:
                problems.append(_problem('admin_down', '%s is administratively down' % name, obj))
        else:
            oper = itf.get('operstate')
            peer = None
            if itf.get('peer_index') is not None:
                peer_ns = itf.get('link_netns') if itf.get('link_netnsid') is not None else ns
                peer = by_index.get((peer_ns, itf['peer_index']))
            if oper == 'LOWERLAYERDOWN' or (peer is not None and peer.get('up') is False and not itf.get('carrier')):
                if peer is not None:
                    below = 'its veth peer %s%s' % (
                        peer['name'], ' (namespace %s)' % peer.get('netns') if peer.get('netns') != ns else '')
                else:
                    below = itf.get('link') or 'its lower device or peer'
                problems.append(_problem('lower_layer_down', '%s is up but %s is down' % (name, below), obj))
            elif itf.get('carrier') is False or oper == 'DOWN':
                problems.append(_problem('no_carrier', '%s is up but has no carrier (operstate %s)'
                                         % (name, oper), obj))
        if master is not None:
            if master.get('up') is False:
                problems.append(_problem('master_down', '%s is enslaved to %s, which is down'
                                         % (name, master['name']), obj))
            if itf.get('mtu') and master.get('mtu') and itf['mtu'] != master['mtu']:
                problems.append(_problem('mtu_mismatch_with_master', '%s has MTU %s but its master %s has MTU %s'
                                         % (name, itf['mtu'], master['name'], master['mtu']), obj))
        port = itf.get('bridge_port')
        if up and port and port.get('state') in ('disabled', 'blocking') and itf.get('carrier'):
            problems.append(_problem('bridge_port_blocked', '%s is up but its bridge port state is %s'
                                     % (name, port['state']), obj))
    return interfaces


def summarize(interfaces):
    """Counts for a quick look: total, up, with problems, ignorable, per problem code."""
    codes = {}
    for itf in interfaces:
        for p in itf.get('problems') or ():
            codes[p['code']] = codes.get(p['code'], 0) + 1
    return {'total': len(interfaces),
            'up': sum(1 for i in interfaces if i.get('up')),
            'with_problems': sum(1 for i in interfaces if i.get('problems')),
            'ignorable': sum(1 for i in interfaces if i.get('ignorable')),
            'problem_codes': codes}


# ---------------------------------------------------------------------------------------------
# Text parser: ``ip a``, ``ip -d addr show``, ``ip a | grep state``

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
