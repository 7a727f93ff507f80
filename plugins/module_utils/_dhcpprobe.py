# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCPDISCOVER probe: build the DISCOVER, send it, collect and decode every OFFER (private).

The probe uses a UDP socket bound to port 68 and to the interface (SO_BINDTODEVICE) with the
broadcast flag set in the DISCOVER, so servers answer to 255.255.255.255. A UDP socket (rather
than AF_PACKET) is deliberate: on a nova-network compute node dnsmasq runs on the same host as the
probe, and only an IP-level broadcast is looped back to local listeners; a frame injected with
AF_PACKET would leave through the bridge and never reach the local dnsmasq.
It never sends a REQUEST, so no lease is ever bound: a dnsmasq OFFER reserves nothing.
"""

from __future__ import annotations

import os
import re
import select
import socket
import struct
import time

MAGIC_COOKIE = b'\x63\x82\x53\x63'
MESSAGE_TYPES = {1: 'DISCOVER', 2: 'OFFER', 3: 'REQUEST', 4: 'DECLINE', 5: 'ACK', 6: 'NAK', 7: 'RELEASE', 8: 'INFORM'}
SO_BINDTODEVICE = getattr(socket, 'SO_BINDTODEVICE', 25)
PARAMETER_REQUEST = [1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 121]
_MAC = re.compile(r'^([0-9a-fA-F]{2})(?::[0-9a-fA-F]{2}){5}$')


class DhcpError(Exception):
    """Bad MAC, malformed packet or a socket that cannot be set up."""


def random_mac(rand=None):
    """A random unicast, locally administered MAC (first octet: 0x02 bit set, 0x01 bit clear)."""
    raw = bytearray(rand if rand is not None else os.urandom(6))
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ':'.join('%02x' % b for b in raw)


def validate_mac(mac):
    """Lower-cased MAC if it is unicast and locally administered, else DhcpError."""
    if not isinstance(mac, str) or not _MAC.match(mac):
        raise DhcpError('invalid MAC address %r' % (mac,))
    first = int(mac[:2], 16)
    if not first & 0x02:
        raise DhcpError('MAC %s is not locally administered (the 0x02 bit of the first octet must be set) so it could '
                        'collide with a real NIC' % mac)
    if first & 0x01:
        raise DhcpError('MAC %s is a multicast address' % mac)
    return mac.lower()


def build_discover(mac, xid, hostname=None):
    """A BOOTREQUEST/DHCPDISCOVER with the broadcast flag, padded to the classic 300 bytes."""
    chaddr = bytes(int(part, 16) for part in mac.split(':'))
    packet = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, xid, 0, 0x8000, b'\0' * 4, b'\0' * 4, b'\0' * 4,
                         b'\0' * 4, chaddr, b'', b'')
    options = MAGIC_COOKIE + bytes([53, 1, 1])
    options += bytes([55, len(PARAMETER_REQUEST)] + PARAMETER_REQUEST)
    options += bytes([61, 7, 1]) + chaddr
    if hostname:
        raw = hostname.encode('ascii')[:63]
        options += bytes([12, len(raw)]) + raw
    options += bytes([255])
    packet += options
    if len(packet) < 300:
        packet += b'\0' * (300 - len(packet))
    return packet


def _ip(raw):
    return socket.inet_ntoa(raw)


def _ips(raw):
    return [socket.inet_ntoa(raw[i:i + 4]) for i in range(0, len(raw) - len(raw) % 4, 4)]


def parse_options(raw):
    """DHCP options after the magic cookie -> {code: bytes}."""
    options = {}
    pos = 0
    while pos < len(raw):
        code = raw[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= len(raw):
            raise DhcpError('truncated option %d' % code)
        length = raw[pos + 1]
        value = raw[pos + 2:pos + 2 + length]
        if len(value) != length:
            raise DhcpError('truncated option %d' % code)
        options[code] = options.get(code, b'') + value
        pos += 2 + length
    return options


def parse_reply(data):
    """Decode a BOOTREPLY into plain fields (None for a packet that is not a DHCP reply)."""
    if len(data) < 240 or data[236:240] != MAGIC_COOKIE:
        return None
    op, _htype, hlen, _hops, xid, _secs, flags = struct.unpack('!BBBBIHH', data[:12])
    if op != 2:
        return None
    opts = parse_options(data[240:])
    msg_type = MESSAGE_TYPES.get(opts.get(53, b'\0')[0], 'UNKNOWN') if 53 in opts else 'BOOTP'
    chaddr = ':'.join('%02x' % b for b in data[28:28 + min(hlen, 16)])

    def u32(code):
        return struct.unpack('!I', opts[code])[0] if len(opts.get(code, b'')) == 4 else None

    def text(code):
        return opts[code].rstrip(b'\0').decode('utf-8', 'replace') if code in opts else None

    return {
        'xid': xid, 'message_type': msg_type, 'client_mac': chaddr, 'broadcast': bool(flags & 0x8000),
        'offered_address': _ip(data[16:20]), 'next_server': _ip(data[20:24]), 'relay': _ip(data[24:28]),
        'server_id': _ip(opts[54]) if len(opts.get(54, b'')) == 4 else None,
        'lease_time': u32(51), 'renewal_time': u32(58), 'rebinding_time': u32(59),
        'subnet_mask': _ip(opts[1]) if len(opts.get(1, b'')) == 4 else None,
        'router': _ips(opts[3]) if 3 in opts else [],
        'dns_servers': _ips(opts[6]) if 6 in opts else [],
        'domain_name': text(15), 'hostname': text(12), 'broadcast_address': _ip(opts[28]) if len(opts.get(28, b'')) == 4 else None,
        'mtu': struct.unpack('!H', opts[26])[0] if len(opts.get(26, b'')) == 2 else None,
        'message': text(56),
        'options': sorted(opts),
    }


def open_socket(interface):
    """UDP socket on 0.0.0.0:68 bound to ``interface``, broadcast allowed (raises DhcpError)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode('ascii') + b'\0')
        except OSError as exc:
            raise DhcpError('cannot bind to interface %s: %s' % (interface, exc.strerror))
        try:
            sock.bind(('0.0.0.0', 68))
        except OSError as exc:
            raise DhcpError('cannot listen on UDP port 68 on %s: %s (a DHCP client may hold it)' % (interface, exc.strerror))
    except DhcpError:
        sock.close()
        raise
    return sock


def probe(sock, mac, xid, timeout, hostname=None, server_port=67):
    """Send one DISCOVER and collect every reply to this ``xid`` until ``timeout`` seconds passed."""
    offers = []
    sent = time.time()
    try:
        sock.sendto(build_discover(mac, xid, hostname), ('255.255.255.255', server_port))
    except OSError as exc:
        raise DhcpError('cannot send DHCPDISCOVER: %s' % exc.strerror)
    end = sent + timeout
    while True:
        remaining = end - time.time()
        if remaining <= 0:
            break
        readable, _w, _x = select.select([sock], [], [], remaining)
        if not readable:
            break
        data, peer = sock.recvfrom(4096)
        now = time.time()
        try:
            reply = parse_reply(data)
        except DhcpError:
            continue
        if reply is None or reply['xid'] != xid or reply['client_mac'][:17] != mac:
            continue
        reply['from'] = peer[0]
        reply['latency_ms'] = round((now - sent) * 1000, 3)
        offers.append(reply)
    return sent, offers
