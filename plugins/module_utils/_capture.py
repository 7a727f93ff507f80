# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded tcpdump captures and a parser for ``tcpdump -r FILE -nn -e -v -tt`` text (private).

The parser is a pure function: text in, a list of plain dicts out. It understands the forms the
chapter shows (``-n -v`` without ``-e``, wall-clock ``HH:MM:SS.usec`` stamps), Ethernet ``-e``
headers, and Linux cooked v2 headers (``-i any``: interface name and In/Out/B/M/P direction).

The runner starts one tcpdump per interface at the same moment, each one bounded four times over:
``-c`` (packet count, chosen so that count x (snaplen + 16) + 24 never exceeds the file size cap),
a deadline enforced by the caller's loop (SIGINT, then SIGKILL), ``alarm()`` armed in the child
before exec (SIGALRM is kept across execve and kills tcpdump at the hard deadline even if the
caller hangs), and ``PR_SET_PDEATHSIG`` (SIGTERM the moment the process that started it dies,
so an interrupted play or a killed connection never leaves a capture behind).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import os
import re
import signal
import subprocess
import time

PCAP_FILE_HEADER = 24
PCAP_RECORD_HEADER = 16
PR_SET_PDEATHSIG = 1
KILL_GRACE = 2.0

_TS = r'(?P<ts>\d{9,}\.\d+|\d{1,2}:\d{2}:\d{2}\.\d+)'
_RECORD_START = re.compile(r'^' + _TS + r' (?P<rest>.*)$')
_SLL2 = re.compile(r'^(?P<ifname>\S+)\s+(?P<dir>In|Out|B|M|P)\s+(?:ifindex \d+ )?(?P<mac>[0-9a-f:]{17})?\s*'
                   r'ethertype (?P<ethertype>[^,]+?) \(0x[0-9a-f]{4}\), length \d+: (?P<rest>.*)$')
_SLL2_NOE = re.compile(r'^(?P<ifname>\S+)\s+(?P<dir>In|Out|B|M|P)\s+(?P<rest>(?:IP6?|ARP|\().*)$')
_SLL1 = re.compile(r'^(?P<dir>In|Out|B|M|P) (?P<mac>[0-9a-f:]{17})?\s*ethertype (?P<ethertype>[^,]+?) \(0x[0-9a-f]{4}\), '
                   r'length \d+: (?P<rest>.*)$')
_ETHER = re.compile(r'^(?P<src>[0-9a-f:]{17}) > (?P<dst>[0-9a-f:]{17}|Broadcast), ethertype (?P<ethertype>[^,]+?) '
                    r'\(0x[0-9a-f]{4}\), length \d+: (?P<rest>.*)$')
_VLAN = re.compile(r'^vlan (?P<vlan>\d+), p \d+, ethertype (?P<ethertype>[^,]+?)(?: \(0x[0-9a-f]{4}\))?, (?P<rest>.*)$')
_IPV4_HDR = re.compile(r'^\(tos (?P<tos>\S+), ttl (?P<ttl>\d+), id (?P<id>\d+), offset \d+, flags \[(?P<flags>[^\]]*)\], '
                       r'proto (?P<proto>\S+) \(\d+\), length (?P<length>\d+)(?:, [^)]*)?\)\s*(?P<rest>.*)$')
_IPV6_HDR = re.compile(r'^\((?:flowlabel \S+, )?hlim (?P<ttl>\d+), next-header (?P<proto>\S+) \(\d+\) '
                       r'payload length: (?P<length>\d+)\)\s*(?P<rest>.*)$')
_ADDRS = re.compile(r'^(?P<src>\S+) > (?P<dst>[^\s:]+(?::[^\s:]+)*?):\s*(?P<body>.*)$')
_ECHO = re.compile(r'^ICMP6? ?,? ?echo (?P<kind>request|reply), id (?P<id>\d+), seq (?P<seq>\d+)(?:, length (?P<len>\d+))?')
_DHCP_HEAD = re.compile(r'BOOTP/DHCP, (?P<op>Request|Reply)(?: from (?P<mac>[0-9a-f:]{17}))?, length \d+'
                        r'(?:, xid (?P<xid>0x[0-9a-f]+))?')
_DHCP_OPT = re.compile(r'^\s*(?P<name>[A-Za-z][\w-]*) \((?P<code>\d+)\), length \d+:\s*(?P<value>.*)$')
_DHCP_FIELD = re.compile(r'^\s*(?P<name>Client-IP|Your-IP|Server-IP|Gateway-IP|Client-Ethernet-Address) (?P<value>\S+)')
_DNS_QUERY = re.compile(r'^(?P<id>\d+)(?P<flags>[+%*-]*) (?:\[[^\]]*\] )*(?P<qtype>[A-Z0-9]+)\? (?P<qname>\S+) \(\d+\)')
_DNS_RESP = re.compile(r'^(?P<id>\d+)(?P<flags>[*|$-]*)(?: q: (?P<qtype>[A-Z0-9]+)\? (?P<qname>\S+))?'
                       r'(?: (?P<rcode>[A-Z][A-Za-z]+)(?P<rflags>[*|$-]*))? (?P<an>\d+)/(?P<ns>\d+)/(?P<ar>\d+)'
                       r'(?P<answers>.*?)(?: \(\d+\))?$')
_DNS_RR = re.compile(r'^(?P<name>\S+) (?:\[[^\]]*\] )?(?P<type>A|AAAA|PTR|CNAME|MX|NS|TXT|SOA|SRV) (?P<data>.+)$')
_TCP = re.compile(r'Flags \[(?P<flags>[^\]]*)\]')
_DIRECTIONS = {'In': 'in', 'Out': 'out', 'B': 'broadcast', 'M': 'multicast', 'P': 'otherhost'}
_DNS_RCODES = {'NXDomain': 'NXDOMAIN', 'Refused': 'REFUSED', 'ServFail': 'SERVFAIL', 'FormErr': 'FORMERR', 'NotImp': 'NOTIMP'}


class CaptureError(Exception):
    """A capture could not be set up, started or read."""


def _split_port(addr, proto):
    """``10.0.2.24.68`` -> (``10.0.2.24``, 68) for UDP/TCP; addresses of other protocols untouched."""
    if proto not in ('udp', 'tcp') or '.' not in addr:
        return addr, None
    head, _sep, tail = addr.rpartition('.')
    if tail.isdigit() and (head.count('.') == 3 or ':' in head):
        return head, int(tail)
    return addr, None


def _parse_time(text):
    if ':' in text:
        hours, minutes, seconds = text.split(':')
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return float(text)


def _icmp(body):
    match = _ECHO.match(body)
    if match:
        return {'type': 'echo-' + match.group('kind'), 'id': int(match.group('id')), 'seq': int(match.group('seq'))}
    if 'unreachable' in body:
        return {'type': 'unreachable', 'id': None, 'seq': None}
    if 'time exceeded' in body:
        return {'type': 'time-exceeded', 'id': None, 'seq': None}
    if 'redirect' in body:
        return {'type': 'redirect', 'id': None, 'seq': None}
    return {'type': 'other', 'id': None, 'seq': None}


def _dhcp(body, detail_lines):
    head = _DHCP_HEAD.search(body)
    if not head:
        return None
    result = {'op': head.group('op').lower(), 'xid': head.group('xid'), 'message_type': None,
              'client_mac': head.group('mac'), 'your_ip': None, 'server_id': None, 'requested_ip': None,
              'options': {}}
    for line in detail_lines:
        field = _DHCP_FIELD.match(line)
        if field:
            name, value = field.group('name'), field.group('value')
            if name == 'Client-Ethernet-Address':
                result['client_mac'] = value
            elif name == 'Your-IP':
                result['your_ip'] = value
            continue
        opt = _DHCP_OPT.match(line)
        if not opt:
            continue
        name, value = opt.group('name'), opt.group('value').strip().strip('"')
        if name == 'DHCP-Message':
            result['message_type'] = value.upper()
        elif name == 'Server-ID':
            result['server_id'] = value
        elif name == 'Requested-IP':
            result['requested_ip'] = value
        elif value:
            result['options'][name] = value
    return result


def _dns(body, src_port, dst_port):
    if 53 not in (src_port, dst_port) and 5353 not in (src_port, dst_port):
        return None
    query = _DNS_QUERY.match(body)
    if query and dst_port in (53, 5353):
        return {'id': int(query.group('id')), 'response': False, 'qtype': query.group('qtype'),
                'qname': query.group('qname'), 'rcode': None, 'answers': []}
    resp = _DNS_RESP.match(body)
    if not resp:
        return None
    rcode_text = resp.group('rcode')
    answers = []
    text = (resp.group('answers') or '').strip()
    if text:
        for part in text.split(', '):
            rr = _DNS_RR.match(part.strip())
            if rr:
                answers.append({'name': rr.group('name'), 'type': rr.group('type'), 'data': rr.group('data')})
    return {'id': int(resp.group('id')), 'response': True, 'qtype': resp.group('qtype'), 'qname': resp.group('qname'),
            'rcode': _DNS_RCODES.get(rcode_text, rcode_text) if rcode_text else 'NOERROR', 'answers': answers}


def _new_packet(ts_text):
    return {'time': _parse_time(ts_text), 'time_text': ts_text, 'interface': None, 'direction': None,
            'link_src': None, 'link_dst': None, 'vlan': None, 'ethertype': None, 'ip_id': None, 'ttl': None,
            'length': None, 'proto': None, 'src': None, 'dst': None, 'sport': None, 'dport': None,
            'icmp': None, 'dhcp': None, 'dns': None, 'tcp_flags': None, 'summary': ''}


def _parse_header(packet, rest):
    """Fill link and IP header fields from the first line; return the text after the IP header."""
    for pattern in (_SLL2, _SLL1):
        match = pattern.match(rest)
        if match:
            if 'ifname' in match.groupdict():
                packet['interface'] = match.group('ifname')
            packet['direction'] = _DIRECTIONS[match.group('dir')]
            packet['link_src'] = match.group('mac')
            packet['ethertype'] = match.group('ethertype')
            rest = match.group('rest')
            break
    else:
        match = _SLL2_NOE.match(rest)
        if match:
            packet['interface'] = match.group('ifname')
            packet['direction'] = _DIRECTIONS[match.group('dir')]
            rest = match.group('rest')
        else:
            match = _ETHER.match(rest)
            if match:
                packet['link_src'] = match.group('src')
                packet['link_dst'] = match.group('dst')
                packet['ethertype'] = match.group('ethertype')
                rest = match.group('rest')
    vlan = _VLAN.match(rest)
    if vlan:
        packet['vlan'] = int(vlan.group('vlan'))
        packet['ethertype'] = vlan.group('ethertype')
        rest = vlan.group('rest')
    if rest.startswith('IP6 '):
        packet['ethertype'] = 'IPv6'
        rest = rest[4:]
    elif rest.startswith('IP '):
        packet['ethertype'] = 'IPv4'
        rest = rest[3:]
    elif rest.startswith('ARP'):
        packet['ethertype'] = 'ARP'
        packet['proto'] = 'arp'
        packet['summary'] = rest
        return None
    hdr = _IPV4_HDR.match(rest)
    if hdr:
        packet['ip_id'] = int(hdr.group('id'))
        packet['ethertype'] = packet['ethertype'] or 'IPv4'
    else:
        hdr = _IPV6_HDR.match(rest)
        if hdr:
            packet['ethertype'] = 'IPv6'
    if hdr:
        packet['ttl'] = int(hdr.group('ttl'))
        packet['length'] = int(hdr.group('length'))
        packet['proto'] = hdr.group('proto').lower().replace('ipv6-icmp', 'icmp6')
        return hdr.group('rest')
    return rest


def _finish(packet, first, details):
    """Parse the address line (``first``) and protocol details of one record."""
    match = _ADDRS.match(first.strip()) if first is not None else None
    if not match:
        if first and not packet['summary']:
            packet['summary'] = first.strip()
        return packet
    body = match.group('body')
    packet['summary'] = body
    proto = packet['proto']
    if proto is None:
        if body.startswith('ICMP6'):
            proto = 'icmp6'
        elif body.startswith('ICMP'):
            proto = 'icmp'
        elif body.startswith('Flags ['):
            proto = 'tcp'
        elif body.startswith('UDP') or 'BOOTP' in body or _DNS_QUERY.match(body) or _DNS_RESP.match(body):
            proto = 'udp'
        packet['proto'] = proto
    if proto == 'icmp6':
        proto = 'icmp'
    src, sport = _split_port(match.group('src'), proto)
    dst, dport = _split_port(match.group('dst'), proto)
    packet.update(src=src, dst=dst, sport=sport, dport=dport)
    if proto == 'icmp':
        packet['icmp'] = _icmp(body)
    elif proto == 'udp':
        if {sport, dport} & {67, 68}:
            packet['dhcp'] = _dhcp(body, details)
        else:
            packet['dns'] = _dns(body, sport, dport)
    elif proto == 'tcp':
        tcp = _TCP.search(body)
        packet['tcp_flags'] = tcp.group('flags') if tcp else None
    return packet


def parse_tcpdump(text, interface=None, local_macs=None):
    """Parse tcpdump text output into a list of packet dicts (in file order).

    ``interface`` names the capture interface when the text has none (not ``-i any``);
    ``local_macs`` (the capture interface's own MACs) turns Ethernet ``-e`` headers into an
    ``in``/``out`` direction.
    """
    packets = []
    records = []
    current = None
    for raw in text.splitlines():
        line = raw.rstrip()
        match = _RECORD_START.match(line)
        if match:
            current = [match.group('ts'), match.group('rest'), []]
            records.append(current)
        elif current is not None and line[:1] in (' ', '\t') and line.strip():
            current[2].append(line)
    macs = set(m.lower() for m in (local_macs or []))
    for ts_text, rest, cont in records:
        packet = _new_packet(ts_text)
        after = _parse_header(packet, rest)
        if after is None:
            pass
        elif after.strip():
            _finish(packet, after, cont)
        elif cont:
            _finish(packet, cont[0], cont[1:])
        if packet['interface'] is None:
            packet['interface'] = interface
        if packet['direction'] is None and macs and packet['link_src']:
            packet['direction'] = 'out' if packet['link_src'].lower() in macs else 'in'
        packets.append(packet)
    return packets


def annotate_duplicates(packets, window=1.0):
    """Mark copies of one IP packet seen several times (bridge port + bridge, ``-i any``).

    Two records are the same packet when source, destination, protocol, IP id, length, the ICMP
    id/seq (or ports and TCP flags) agree and the TTL is the same: a routed copy has a lower TTL and is a
    new hop, not a duplicate. Copies more than ``window`` seconds apart are retransmissions, not
    duplicates. Adds ``duplicate_of`` (index of the first copy, or None).
    """
    first = {}
    for index, pkt in enumerate(packets):
        pkt['duplicate_of'] = None
        if pkt['ip_id'] is None or pkt['src'] is None:
            continue
        icmp = pkt['icmp'] or {}
        dhcp = pkt['dhcp'] or {}
        dns = pkt['dns'] or {}
        # length and TCP flags too: a stack that sends IP id 0 (Linux on a SYN-ACK, an ACK, a RST) gives two different
        # segments of one connection the same id; a copy of one packet agrees on both
        key = (pkt['src'], pkt['dst'], pkt['proto'], pkt['ip_id'], pkt['ttl'], pkt['length'], pkt['sport'], pkt['dport'],
               pkt['tcp_flags'], icmp.get('type'), icmp.get('id'), icmp.get('seq'), dhcp.get('xid'), dhcp.get('message_type'),
               dns.get('id'), dns.get('response'))
        seen = first.get(key)
        if seen is not None and abs(pkt['time'] - packets[seen]['time']) <= window:
            pkt['duplicate_of'] = seen
        else:
            first[key] = index
    return packets


def parse_tcpdump_stats(stderr):
    """Counters tcpdump prints on exit (captured / received by filter / dropped by kernel)."""
    stats = {}
    for key, pattern in (('captured', r'(\d+) packets? captured'), ('received_by_filter', r'(\d+) packets? received by filter'),
                         ('dropped_by_kernel', r'(\d+) packets? dropped by kernel')):
        match = re.search(pattern, stderr or '')
        stats[key] = int(match.group(1)) if match else None
    return stats


def tcpdump_error(stderr):
    """The meaningful line of a tcpdump failure (without the usage banner)."""
    lines = [ln.strip() for ln in (stderr or '').splitlines() if ln.strip()]
    for line in lines:
        if line.startswith('tcpdump:') and 'listening on' not in line and 'data link type' not in line:
            return line
    return lines[-1] if lines else 'tcpdump failed without a message'


def effective_count(count, snaplen, max_file_size):
    """Largest packet count <= ``count`` whose worst-case pcap file fits in ``max_file_size`` bytes."""
    fit = (max_file_size - PCAP_FILE_HEADER) // (snaplen + PCAP_RECORD_HEADER)
    return max(0, min(count, fit))


def parse_start_at(value, now=None):
    """Epoch seconds of ``value``: a number (epoch), ISO 8601 (``Z`` or offset; naive = UTC), or None."""
    if value in (None, ''):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        stamp = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        raise CaptureError('start_at %r is neither epoch seconds nor an ISO 8601 instant' % (value,))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


MAX_START_WAIT = 600


def start_instant(value, max_wait=MAX_START_WAIT):
    """``start_at`` of a capture or probe as epoch seconds (None when not given); CaptureError when it is not an
    instant or lies more than ``max_wait`` seconds ahead."""
    instant = parse_start_at(value)
    if instant is not None and instant - time.time() > max_wait:
        raise CaptureError('start_at %s is more than %d seconds in the future' % (value, max_wait))
    return instant


def module_start_instant(module, value):
    """``start_instant`` for a module's ``start_at`` option: the instant, or the module fails with its message."""
    try:
        return start_instant(value)
    except CaptureError as exc:
        module.fail_json(msg=str(exc))


def sleep_until(instant):
    """Sleep until epoch ``instant`` (no-op for None or an instant in the past)."""
    if instant is not None:
        wait = instant - time.time()
        if wait > 0:
            time.sleep(wait)


def tcpdump_argv(tcpdump, interface, pcap_path, snaplen, count, bpf_filter):
    """argv of one bounded capture writing ``pcap_path`` (packet-buffered, root kept for the file)."""
    argv = [tcpdump, '-i', interface, '-nn', '-U', '--immediate-mode', '-Z', 'root', '-s', str(snaplen),
            '-c', str(count), '-w', pcap_path]
    if bpf_filter:
        argv.append(bpf_filter)
    return argv


def read_argv(tcpdump, pcap_path):
    return [tcpdump, '-r', pcap_path, '-nn', '-e', '-v', '-tt']


_libc = None


def _child_bounds(hard_seconds):
    """preexec_fn: die with the parent (SIGTERM) and at the hard deadline (SIGALRM, kept across exec)."""
    def _apply():
        global _libc
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(max(1, int(hard_seconds + 0.999)))
        if os.getppid() == 1:
            os._exit(1)
    return _apply


class Capture(object):
    """One running tcpdump (started by ``start_captures``)."""

    def __init__(self, interface, pcap_path, argv, proc, err_path):
        self.interface = interface
        self.pcap_path = pcap_path
        self.argv = argv
        self.proc = proc
        self.err_path = err_path
        self.stopped_by = None
        self.stderr = ''
        self.max_size_seen = 0


def start_captures(specs, hard_seconds):
    """Start one process per spec at once (all from the calling thread, so PDEATHSIG binds to it).

    ``specs``: list of dicts ``{interface, argv, pcap_path, err_path}``. Returns Capture objects.
    """
    captures = []
    try:
        for spec in specs:
            err = open(spec['err_path'], 'wb')
            try:
                proc = subprocess.Popen(spec['argv'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                        close_fds=True, preexec_fn=_child_bounds(hard_seconds),
                                        env=dict(os.environ, LC_ALL='C'))
            finally:
                err.close()
            captures.append(Capture(spec['interface'], spec['pcap_path'], spec['argv'], proc, spec['err_path']))
    except OSError as exc:
        stop_captures(captures, 'error')
        raise CaptureError('cannot start tcpdump: %s' % exc)
    return captures


def _read_err(capture):
    try:
        with open(capture.err_path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def wait_listening(captures, until):
    """Wait until every tcpdump said ``listening on`` (or exited); returns {interface: error or None}."""
    pending = list(captures)
    errors = {}
    while pending and time.time() < until:
        for cap in list(pending):
            text = _read_err(cap)
            if 'listening on' in text:
                pending.remove(cap)
            elif cap.proc.poll() is not None:
                errors[cap.interface] = tcpdump_error(text)
                pending.remove(cap)
        if pending:
            time.sleep(0.02)
    for cap in pending:
        errors[cap.interface] = 'tcpdump did not start listening on %s in time' % cap.interface
    return errors


def _file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def supervise(captures, deadline, max_file_size, poll=0.05, window_file=None, side=None):
    """Run until all captures exit, the deadline passes, a file reaches the cap or ``window_file``
    disappears (someone closed the window early); then stop all. The captures of ``side`` (a subset of
    ``captures``) do not hold the window open: they are stopped once every other capture has ended."""
    side = side or []
    while True:
        alive = [c for c in captures if c.proc.poll() is None]
        for cap in captures:
            cap.max_size_seen = max(cap.max_size_seen, _file_size(cap.pcap_path))
        for cap in alive:
            if cap.max_size_seen >= max_file_size:
                cap.stopped_by = 'size'
                _signal(cap, signal.SIGINT)
        if side and alive and all(c in side for c in alive):
            stop_captures(alive, 'main_closed')
            break
        if not alive:
            break
        if time.time() >= deadline:
            stop_captures(alive, 'deadline')
            break
        if window_file and not os.path.lexists(window_file):
            stop_captures(alive, 'window_closed')
            break
        time.sleep(poll)
    for cap in captures:
        if cap.stopped_by is None:
            cap.stopped_by = 'count' if cap.proc.returncode == 0 else 'exit'
        cap.max_size_seen = max(cap.max_size_seen, _file_size(cap.pcap_path))
        cap.stderr = _read_err(cap)
    return captures


def _signal(capture, signum):
    try:
        capture.proc.send_signal(signum)
    except OSError:
        pass


def stop_captures(captures, reason):
    """SIGINT (tcpdump flushes and exits), SIGKILL after a grace period; reaps every child."""
    for cap in captures:
        if cap.proc.poll() is None:
            cap.stopped_by = cap.stopped_by or reason
            _signal(cap, signal.SIGINT)
    end = time.time() + KILL_GRACE
    for cap in captures:
        try:
            cap.proc.wait(timeout=max(0.0, end - time.time()))
        except subprocess.TimeoutExpired:
            _signal(cap, signal.SIGKILL)
            cap.proc.wait()
