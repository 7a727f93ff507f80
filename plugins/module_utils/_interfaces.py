# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interface facts: a raw rtnetlink dump, and the problems found in it (private).

Two ways in, one shape out (a list of plain dicts, one per link):

* ``dump_interfaces(netns=None)`` asks the kernel directly over an ``AF_NETLINK`` socket: one
  ``RTM_GETLINK`` dump and one ``RTM_GETADDR`` dump on the same socket, decoded by the small
  attribute decoder below (stdlib ``socket`` and ``struct`` only).  This is the path the module
  uses; ``docs/performance.md`` has the measurements that made it win over pyroute2 and over
  ``ip -j -d addr show`` (no third-party import, no subprocess, no JSON round trip).
* ``parse_ip_addr(text)`` / ``parse_ip_json`` / ``parse_ip_text`` read the text of ``ip a``,
  ``ip -d addr show``, the chapter's ``ip a | grep state`` or ``ip -j addr show`` for offline
  analysis of collected output (in ``_interfaces_text``: the netlink path neither needs nor compiles them).

``evaluate_problems(interfaces)`` then fills each interface's ``problems`` list and ``ignorable``
flag; it works on either source.  Everything here is pure or talks to the kernel read-only.
"""

from __future__ import annotations

import fnmatch
import operator
import os
import socket
import struct

from ansible_collections.cloudops.netdiag.plugins.module_utils._gcpause import paused_gc
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
# Open vSwitch's own devices that stay down by design: the datapath devices, and the internal ports of the bridges
# Neutron's agents and OVN never bring up (traffic goes through the datapath, not through these ports)
IGNORABLE_WHEN_DOWN = ('ovs-system', 'ovs-netdev', 'br-int', 'br-tun')

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


# Attribute layouts.  Walking the ~40 attributes of every RTM_NEWLINK message in Python was most of
# the decoding time; but the kernel writes the attributes of similar links (all the veths of a
# host, all the taps of a bridge) in the same order with the same lengths.  The first message of a
# given length is walked and its layout kept: one precompiled Struct that reads, in a single call,
# the attribute headers (length, type) at every place the walk visited, and a decoding plan (where
# each attribute the decoder reads sits, one more precompiled Struct for all its numbers).  A later
# message of the same length whose headers read back identical has exactly the same layout (a walk
# would visit the same places and read the same lengths), so it is decoded with the plan, without
# walking.  Any difference falls back to a walk, whose layout is then kept too.
_LINK_LAYOUTS = {}
_ADDR_LAYOUTS = {}
_MAX_LAYOUTS = 512              # message lengths remembered per kind (bounded; cleared when full)
_MAX_LAYOUTS_PER_LENGTH = 8
_NONE = (None,)


def _walk(buf, off, end, hdrlen, _unpack=_NLA.unpack_from):
    """(header Struct format, {type: (payload offset relative to off, payload length)}) of a message body."""
    attrs = {}
    fmt = ['=']
    pos = 0
    o = off + hdrlen
    while o + 4 <= end:
        rel = o - off
        fmt.append('%dxI' % (rel - pos) if rel > pos else 'I')
        pos = rel + 4
        alen, atype = _unpack(buf, o)
        if alen < 4:
            break
        attrs[atype & NLA_TYPE_MASK] = (rel + 4, alen - 4)     # the last one wins, as in _attrs
        o += (alen + 3) & -4
    return ''.join(fmt), attrs


def _plan(buf, off, end, hdrlen, layouts, make_plan):
    """The decoding plan of one message body, from its layout (learnt on first sight, see above)."""
    known = layouts.get(end - off)
    if known is not None:
        for unpack, headers, plan in known:
            if unpack(buf, off) == headers:
                return plan
    else:
        if len(layouts) >= _MAX_LAYOUTS:
            layouts.clear()
        known = layouts[end - off] = []
    fmt, attrs = _walk(buf, off, end, hdrlen)
    unpack = struct.Struct(fmt).unpack_from
    plan = make_plan(attrs)
    if len(known) >= _MAX_LAYOUTS_PER_LENGTH:
        del known[0]
    known.append((unpack, unpack(buf, off), plan))
    return plan


def _span(attrs, atype):
    """(start, stop) of an attribute's payload relative to the message body, or None."""
    v = attrs.get(atype)
    return (v[0], v[0] + v[1]) if v else None


def _numbers(fields, attrs):
    """(unpack, pick): one Struct reading the numbers ``fields`` names, and an itemgetter putting them
    in the order of ``fields`` (None for an attribute that is absent or too short).

    ``fields``: (attribute type or None for the fixed header, offset in the header, struct code, size).
    """
    where = []
    for slot, (atype, hoff, code, size) in enumerate(fields):
        if atype is None:
            where.append((hoff, code, slot))
        else:
            v = attrs.get(atype)
            if v and v[1] >= size:
                where.append((v[0], code, slot))
    where.sort()
    fmt = ['=']
    pos = 0
    index = [None] * len(fields)
    count = 0
    for rel, code, slot in where:
        fmt.append('%dx%s' % (rel - pos, code) if rel > pos else code)
        size = struct.calcsize('=' + code)
        pos = rel + size
        n = len(struct.unpack('=' + code, b'\0' * size))
        index[slot] = count if n == 1 else tuple(range(count, count + n))
        count += n
    picks = []
    for slot, (atype, hoff, code, size) in enumerate(fields):
        i = index[slot]
        n = len(struct.unpack('=' + code, b'\0' * struct.calcsize('=' + code)))
        if i is None:
            picks.extend([count] * n)       # -> the None appended to every unpacked tuple
        elif isinstance(i, tuple):
            picks.extend(i)
        else:
            picks.append(i)
    return struct.Struct(''.join(fmt)).unpack_from, operator.itemgetter(*picks)


# What decode_link reads as numbers: ifinfomsg type, index, flags, then attributes.
_LINK_NUMBERS = ((None, 2, 'H', 2), (None, 4, 'i', 4), (None, 8, 'I', 4), (IFLA_MTU, 0, 'I', 4),
                 (IFLA_OPERSTATE, 0, 'B', 1), (IFLA_CARRIER, 0, 'B', 1), (IFLA_MASTER, 0, 'I', 4),
                 (IFLA_LINK, 0, 'i', 4), (IFLA_LINK_NETNSID, 0, 'i', 4), (IFLA_STATS64, 0, '8Q', 64))


def _link_plan(attrs):
    unpack, pick = _numbers(_LINK_NUMBERS, attrs)
    return (unpack, pick, _span(attrs, IFLA_IFNAME), _span(attrs, IFLA_ADDRESS), _span(attrs, IFLA_QDISC),
            _span(attrs, IFLA_IFALIAS), _span(attrs, IFLA_LINKINFO))


def _addr_plan(attrs):
    return (_span(attrs, IFA_LOCAL), _span(attrs, IFA_ADDRESS), _span(attrs, IFA_BROADCAST),
            _span(attrs, IFA_LABEL), attrs[IFA_FLAGS][0] if attrs.get(IFA_FLAGS, (0, 0))[1] >= 4 else None)


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


def _decode_linkinfo(buf, start, length):
    """(kind or None, {extra link keys}) of an IFLA_LINKINFO payload."""
    a = _attrs(buf, start, start + length)
    kind = _cstr(buf, *a[IFLA_INFO_KIND]) if IFLA_INFO_KIND in a else None
    extra = {}
    if IFLA_INFO_SLAVE_KIND in a:
        extra['slave_kind'] = slave_kind = _cstr(buf, *a[IFLA_INFO_SLAVE_KIND])
        if slave_kind == 'bridge' and IFLA_INFO_SLAVE_DATA in a:
            extra['bridge_port'] = _decode_brport(buf, *a[IFLA_INFO_SLAVE_DATA])
    data = a.get(IFLA_INFO_DATA)
    if kind == 'vlan' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 1 in d:      # IFLA_VLAN_ID
            extra['vlan_id'] = _U16.unpack_from(buf, d[1][0])[0]
    elif kind == 'vxlan' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 1 in d:      # IFLA_VXLAN_ID
            extra['vxlan_id'] = _U32.unpack_from(buf, d[1][0])[0]
    elif kind == 'tun' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 3 in d:      # IFLA_TUN_TYPE: IFF_TUN=1, IFF_TAP=2
            kind = 'tap' if buf[d[3][0]] == 2 else 'tun'
    elif kind == 'bridge' and data:
        extra['bridge'] = _decode_bridge(buf, *data)
    elif kind == 'bond' and data:
        d = _attrs(buf, data[0], data[0] + data[1])
        if 1 in d:      # IFLA_BOND_MODE u8
            extra['bond_mode'] = buf[d[1][0]]
    return kind, extra


# Decoded IFLA_LINKINFO payloads by their bytes (every veth of a host has the same one).
_LINKINFO_CACHE = {}
_MAX_LINKINFO_CACHE = 4096


def _linkinfo(raw):
    info = _LINKINFO_CACHE.get(raw)
    if info is None:
        info = _decode_linkinfo(raw, 0, len(raw))
        if len(_LINKINFO_CACHE) >= _MAX_LINKINFO_CACHE:
            _LINKINFO_CACHE.clear()
        _LINKINFO_CACHE[raw] = info
    return info


def decode_link(buf, off, end):
    """One RTM_NEWLINK message body (after nlmsghdr) into an interface dict."""
    unpack, pick, name, mac, qdisc, alias, info = _plan(buf, off, end, 16, _LINK_LAYOUTS, _link_plan)
    (ltype, index, flags, mtu, oper, carrier, master, link_index, netnsid,
     rxp, txp, rxb, txb, rxe, txe, rxd, txd) = pick(unpack(buf, off) + _NONE)
    kind = extra = None
    if info:
        kind, extra = _linkinfo(bytes(buf[off + info[0]:off + info[1]]))
    link_type = ARPHRD.get(ltype) or str(ltype)
    if kind is None:
        kind = 'loopback' if ltype == 772 else ('device' if ltype == 1 else link_type)
    oper = oper or 0
    # One dict display with every key (growing a dict key by key resizes it twice); _resolve fills
    # the last five.
    link = {'index': index,
            'name': buf[off + name[0]:off + name[1]].split(b'\0', 1)[0].decode('utf-8', 'replace') if name else str(index),
            'link_type': link_type, 'flags': flag_names(flags), 'up': bool(flags & IFF_UP),
            'lower_up': bool(flags & 0x10000), 'kind': kind,
            'operstate': OPERSTATES[oper] if oper < len(OPERSTATES) else str(oper),
            'carrier': bool(carrier) if carrier is not None else bool(flags & 0x10000),
            'mtu': mtu, 'mac': buf[off + mac[0]:off + mac[1]].hex(':') if mac and mac[1] > mac[0] else None,
            'qdisc': _cstr(buf, off + qdisc[0], qdisc[1] - qdisc[0]) if qdisc else None,
            'master_index': master, 'link_index': link_index, 'link_netnsid': netnsid,
            'alias': _cstr(buf, off + alias[0], alias[1] - alias[0]) if alias else None,
            'counters': None if rxp is None else {
                'rx_packets': rxp, 'tx_packets': txp, 'rx_bytes': rxb, 'tx_bytes': txb,
                'rx_errors': rxe, 'tx_errors': txe, 'rx_dropped': rxd, 'tx_dropped': txd},
            'addresses': [], 'netns': None, 'master': None, 'link': None, 'link_netns': None, 'peer_index': None}
    if extra:
        for key, value in extra.items():
            link[key] = dict(value) if isinstance(value, dict) else value
    return link


_addr_flag_cache = {}


def _addr_flags(aflags):
    names = _addr_flag_cache.get(aflags)
    if names is None:
        names = _addr_flag_cache[aflags] = [n for bit, n in IFA_FLAG_NAMES if aflags & bit]
    return list(names)


_FAMILIES = {socket.AF_INET: ('inet', 4), socket.AF_INET6: ('inet6', 16)}


def decode_addr(buf, off, end, _ntop=socket.inet_ntop, _head=_IFADDR.unpack_from):
    """One RTM_NEWADDR message body into ``(ifindex, address dict)``."""
    family, prefixlen, aflags, scope, index = _head(buf, off)
    fam = _FAMILIES.get(family)
    if fam is None:
        return index, None
    fam, alen = fam
    local, peer, brd, label, flags_at = _plan(buf, off, end, 8, _ADDR_LAYOUTS, _addr_plan)
    main = local or peer
    if not main or main[1] - main[0] < alen:
        return index, None
    p = off + main[0]
    addr = {'family': fam, 'address': _ntop(family, buf[p:p + alen]),
            'prefixlen': prefixlen, 'scope': SCOPES.get(scope) or str(scope)}
    if local and peer:
        lp, pp = off + local[0], off + peer[0]
        if buf[lp:lp + alen] != buf[pp:pp + alen]:
            addr['peer'] = _ntop(family, buf[pp:pp + alen])
    if brd and brd[1] - brd[0] >= alen:
        p = off + brd[0]
        addr['broadcast'] = _ntop(family, buf[p:p + alen])
    addr['label'] = _cstr(buf, off + label[0], label[1] - label[0]) if label else None
    if flags_at is not None:
        aflags = _U32.unpack_from(buf, off + flags_at)[0]
    addr['flags'] = _addr_flags(aflags)
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

    def dump(self, msg_type, body, reply_type, decode, _head=_HDR.unpack_from):
        """Send a dump request; return [decode(buffer, body_offset, end)] of every ``reply_type`` reply.

        The same as iterating ``request`` (one loop per received buffer instead of a generator step
        per message: a dump of 2000 links is 5000 messages).
        """
        self.seq += 1
        seq = self.seq
        self.sock.send(_HDR.pack(16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
        buf = self.buf
        view = memoryview(buf)
        recv_into = self.sock.recv_into
        out = []
        append = out.append
        while True:
            n = recv_into(view)
            off = 0
            while off + 16 <= n:
                mlen, mtype, _fl, mseq, _pid = _head(buf, off)
                if mlen < 16:
                    return out
                end = off + mlen
                if mseq == seq:
                    if mtype == reply_type:
                        append(decode(buf, off + 16, end))
                    elif mtype == NLMSG_DONE:
                        return out
                    elif mtype == NLMSG_ERROR:
                        err = -_I32.unpack_from(buf, off + 16)[0]
                        if err:
                            raise InterfaceError('netlink request %d failed: %s' % (msg_type, os.strerror(err)))
                        return out
                off = (end + 3) & ~3


def _dump_current(with_addresses=True):
    """Links (+ addresses) of the namespace this thread is in."""
    sock = _Rtnl()
    try:
        # IFLA_EXT_MASK (29) = RTEXT_FILTER_VF(1) | RTEXT_FILTER_SKIP_STATS(8) would shrink the
        # messages, but we want the counters: ask with no mask.
        links = sock.dump(RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0), RTM_NEWLINK, decode_link)
        if with_addresses:
            by_index = {link['index']: link['addresses'] for link in links}
            for index, addr in sock.dump(RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0), RTM_NEWADDR, decode_addr):
                if addr is not None:
                    addresses = by_index.get(index)
                    if addresses is not None:
                        addresses.append(addr)
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
    a list -> those names (an empty one: the current namespace).  Raises NetnsError naming a namespace that does
    not exist.
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
        if not name:
            name = None     # an empty name: the namespace the module runs in, beside named ones
        elif name not in out:
            netns_path(name, run_dir)
        if name not in out:
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
    with paused_gc(pause_gc):    # the decoded dicts are acyclic: the cyclic GC only costs time here
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
    never carry problems; neither do ports of an ignorable bridge, nor Open vSwitch's ``ovs-system``,
    ``ovs-netdev``, ``br-int`` and ``br-tun`` while down (they stay down by design).
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
        ignorable = (name in IGNORABLE_NAMES or bool(master and master['name'] in IGNORABLE_NAMES)
                     or (name in IGNORABLE_WHEN_DOWN and itf.get('up') is False))
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
