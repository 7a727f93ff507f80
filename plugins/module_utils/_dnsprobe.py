# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal DNS client over UDP for latency-measured A / AAAA / PTR probes (private).

Standard library only, on purpose: the probe must run on any target (and inside any namespace)
without dnspython, it must send exactly one datagram per query (no retries, no search list, no
fallback to TCP) so that the measured latency is that of the server, and it must report the
server's own answer code (NXDOMAIN, REFUSED, SERVFAIL) rather than an exception.
All queries are sent at once from sockets created in the caller's namespace, then awaited with
one select() loop bounded by the timeout.
"""

from __future__ import annotations

import ipaddress
import os
import re
import select
import socket
import struct
import time

QTYPES = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'MX': 15, 'TXT': 16, 'AAAA': 28, 'SRV': 33}
QTYPE_NAMES = dict((v, k) for k, v in QTYPES.items())
RCODES = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED'}
STATUS_BY_RCODE = {'NXDOMAIN': 'nxdomain', 'REFUSED': 'refused', 'SERVFAIL': 'servfail'}


NAME_RE = re.compile(r'^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?)*\.?$')
LOOKUP_SPEC = dict(
    server=dict(type='str', required=True),
    port=dict(type='int', default=53),
    names=dict(type='list', elements='str', default=[]),
    types=dict(type='list', elements='str', default=['A'], choices=['A', 'AAAA']),
    addresses=dict(type='list', elements='str', default=[]),
    timeout=dict(type='float', default=3),
    slow_threshold=dict(type='float', default=500),
)


class DnsError(Exception):
    """Malformed input or a malformed DNS message."""


def lookup_plan(p):
    """The queries of one set of lookup options (``LOOKUP_SPEC``: dns_probe's, or one of ping_probe's ``dns``);
    DnsError names the first thing wrong with them, in one sentence."""
    try:
        ipaddress.ip_address(p['server'])
    except ValueError:
        raise DnsError('server must be an IP address, got %r' % (p['server'],))
    if not 1 <= p['port'] <= 65535:
        raise DnsError('port must be between 1 and 65535, got %d' % p['port'])
    if not 0 < p['timeout'] <= 60:
        raise DnsError('timeout must be more than 0 and at most 60 seconds, got %s' % p['timeout'])
    if not p['names'] and not p['addresses']:
        raise DnsError('nothing to ask: give names and/or addresses')
    for name in p['names']:
        if not NAME_RE.match(name):
            raise DnsError('invalid DNS name %r' % (name,))
    try:
        return plan_queries(p['names'], p['addresses'], p['types'])
    except DnsError as exc:
        raise DnsError('invalid query: %s' % exc)


def problem(result, slow):
    """The problem entry of one query that did not end ``ok``."""
    status = result['status']
    if status == 'slow':
        message = '%s %s via %s answered in %s ms (threshold %s ms)' % (
            result['type'], result['query'], result['server'], result['latency_ms'], slow)
    elif status in ('nxdomain', 'refused', 'servfail', 'nodata'):
        message = '%s %s via %s: %s' % (result['type'], result['query'], result['server'], result['rcode'] if status != 'nodata'
                                        else 'no %s record' % result['type'])
    else:
        message = '%s %s via %s: %s' % (result['type'], result['query'], result['server'], result['error'] or status)
    return {'code': 'dns_%s' % status, 'message': message, 'object': result['query']}


def reverse_name(address):
    """``10.0.2.24`` -> ``24.2.0.10.in-addr.arpa.`` (and ip6.arpa for IPv6)."""
    try:
        return ipaddress.ip_address(address).reverse_pointer + '.'
    except ValueError:
        raise DnsError('%r is not an IP address' % (address,))


def encode_name(name):
    labels = name.rstrip('.').split('.') if name not in ('', '.') else []
    out = b''
    for label in labels:
        raw = label.encode('idna') if any(ord(c) > 127 for c in label) else label.encode('ascii')
        if not 0 < len(raw) < 64:
            raise DnsError('invalid DNS name %r' % (name,))
        out += struct.pack('!B', len(raw)) + raw
    if len(out) > 254:
        raise DnsError('DNS name %r is too long' % (name,))
    return out + b'\x00'


def build_query(qname, qtype, qid):
    """One standard query with recursion desired."""
    if qtype not in QTYPES:
        raise DnsError('unsupported query type %r' % (qtype,))
    header = struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    return header + encode_name(qname) + struct.pack('!HH', QTYPES[qtype], 1)


def _read_name(data, offset, depth=0):
    labels = []
    jumped_end = None
    while True:
        if offset >= len(data):
            raise DnsError('truncated name')
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data) or depth > 20:
                raise DnsError('bad compression pointer')
            pointer = ((length & 0x3F) << 8) | data[offset + 1]
            if jumped_end is None:
                jumped_end = offset + 2
            offset = pointer
            depth += 1
            continue
        offset += 1
        if length == 0:
            break
        labels.append(data[offset:offset + length].decode('ascii', 'replace'))
        offset += length
    return '.'.join(labels) + '.', (jumped_end if jumped_end is not None else offset)


def _rdata(data, rtype, start, length):
    raw = data[start:start + length]
    if rtype == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if rtype == 28 and length == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    if rtype in (2, 5, 12):
        return _read_name(data, start)[0]
    if rtype == 15 and length >= 3:
        return '%d %s' % (struct.unpack('!H', raw[:2])[0], _read_name(data, start + 2)[0])
    if rtype == 16:
        parts, pos = [], 0
        while pos < len(raw):
            size = raw[pos]
            parts.append(raw[pos + 1:pos + 1 + size].decode('utf-8', 'replace'))
            pos += 1 + size
        return ' '.join(parts)
    return raw.hex()


def parse_response(data):
    """Header flags, rcode, question and answer records of a DNS message."""
    if len(data) < 12:
        raise DnsError('DNS message shorter than its header')
    qid, flags, qdcount, ancount, nscount, arcount = struct.unpack('!HHHHHH', data[:12])
    offset = 12
    question = None
    for _index in range(qdcount):
        name, offset = _read_name(data, offset)
        qtype, _qclass = struct.unpack('!HH', data[offset:offset + 4])
        offset += 4
        question = question or {'name': name, 'type': QTYPE_NAMES.get(qtype, str(qtype))}
    answers = []
    for _index in range(ancount):
        name, offset = _read_name(data, offset)
        if offset + 10 > len(data):
            raise DnsError('truncated resource record')
        rtype, _rclass, ttl, rdlength = struct.unpack('!HHIH', data[offset:offset + 10])
        offset += 10
        if offset + rdlength > len(data):
            raise DnsError('truncated resource record data')
        answers.append({'name': name, 'type': QTYPE_NAMES.get(rtype, str(rtype)), 'ttl': ttl,
                        'data': _rdata(data, rtype, offset, rdlength)})
        offset += rdlength
    rcode = flags & 0x000F
    return {'id': qid, 'response': bool(flags & 0x8000), 'authoritative': bool(flags & 0x0400),
            'truncated': bool(flags & 0x0200), 'recursion_available': bool(flags & 0x0080),
            'rcode': RCODES.get(rcode, str(rcode)), 'question': question, 'answers': answers,
            'authority_count': nscount, 'additional_count': arcount}


def classify(rcode, answers, latency_ms, slow_ms):
    """ok / slow / nodata / nxdomain / refused / servfail / error from a received answer."""
    if rcode in STATUS_BY_RCODE:
        return STATUS_BY_RCODE[rcode]
    if rcode != 'NOERROR':
        return 'error'
    if not answers:
        return 'nodata'
    return 'slow' if latency_ms > slow_ms else 'ok'


def plan_queries(names, addresses, types):
    """The list of (query text, qname, qtype) to send: each name for each type, each address as PTR."""
    plan = []
    for name in names or []:
        for qtype in types:
            plan.append((name, name if name.endswith('.') else name + '.', qtype))
    for address in addresses or []:
        plan.append((address, reverse_name(address), 'PTR'))
    return plan


def run_queries(server, port, plan, timeout, slow_ms, family=None):
    """Send every query at once, wait at most ``timeout`` seconds, classify each.

    Sockets are created here, so they live in the network namespace of the calling thread.
    """
    if family is None:
        family = socket.AF_INET6 if ':' in server else socket.AF_INET
    pending = {}
    results = []
    for index, (query, qname, qtype) in enumerate(plan):
        result = {'query': query, 'qname': qname, 'type': qtype, 'server': server, 'port': port,
                  'status': None, 'rcode': None, 'latency_ms': None, 'answers': [], 'error': None}
        results.append(result)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        qid = struct.unpack('!H', os.urandom(2))[0]
        try:
            sock.connect((server, port))
            sock.send(build_query(qname, qtype, qid))
        except OSError as exc:
            result.update(status='unreachable', error='cannot send to %s port %d: %s' % (server, port, exc.strerror))
            sock.close()
            continue
        pending[sock] = (index, qid, time.time())
    end = time.time() + timeout
    try:
        while pending:
            remaining = end - time.time()
            if remaining <= 0:
                break
            readable, _w, _x = select.select(list(pending), [], [], remaining)
            now = time.time()
            for sock in readable:
                index, qid, sent = pending[sock]
                result = results[index]
                try:
                    data = sock.recv(65535)
                except OSError as exc:
                    # ICMP port unreachable on a connected UDP socket: nothing listens there.
                    result.update(status='unreachable', latency_ms=round((now - sent) * 1000, 3),
                                  error='%s port %d: %s' % (server, port, exc.strerror))
                    del pending[sock]
                    sock.close()
                    continue
                try:
                    msg = parse_response(data)
                except (DnsError, struct.error) as exc:
                    result.update(status='error', error='malformed answer: %s' % exc)
                    del pending[sock]
                    sock.close()
                    continue
                if msg['id'] != qid or not msg['response']:
                    continue
                latency = round((now - sent) * 1000, 3)
                answers = msg['answers']
                result.update(rcode=msg['rcode'], latency_ms=latency, answers=answers,
                              authoritative=msg['authoritative'], truncated=msg['truncated'],
                              status=classify(msg['rcode'], answers, latency, slow_ms))
                del pending[sock]
                sock.close()
    finally:
        for sock, (index, _qid, _sent) in pending.items():
            results[index].update(status='timeout', error='no answer from %s port %d within %s s' % (server, port, timeout))
            sock.close()
    return results
