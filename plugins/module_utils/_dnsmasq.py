# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnsmasq facts (private): processes, arguments, pid files, hosts/leases files, DHCP log events.

Pure functions, no AnsibleModule. Text or bytes in, plain JSON-able dicts out:

* ``parse_argv(argv)``: a dnsmasq command line (list) into options, with ``--opt=value``,
  ``--opt value``, short options (``-u user``, ``-uuser``, ``-kz``) handled as getopt does.
* ``parse_ps_aux(text)``: ``ps aux`` output (wrapped continuation lines allowed) into processes
  with parsed argv, for offline use on pasted output.
* ``scan_processes(proc)``: every dnsmasq process of /proc.
* ``pid_file_status(path, proc)``: is the pid in the file a live dnsmasq, a reused pid, stale?
* ``parse_hosts_file(text)`` / ``parse_leases(text)``: dnsmasq ``--dhcp-hostsfile`` and lease files.
* ``scan_log(path, ...)``: DHCP events of a syslog / dnsmasq log file, read from the END backwards in
  blocks within a byte/line cap, grouped per MAC with a per-MAC result.
* ``gather(...)``: everything above for one host, plus the problems list.
"""

from __future__ import annotations

import datetime
import glob
import os
import re

from ansible_collections.cloudops.netdiag.plugins.module_utils._gcpause import paused_gc

# Option tables derived from ``dnsmasq --help`` (dnsmasq 2.90). Long options taking a required
# argument (accepted as ``--opt=value`` or ``--opt value``), long options with an optional argument
# (only ``--opt=value``), and short option letters.
_LONG_REQUIRED = frozenset((
    'listen-address address bogus-nxdomain cache-size filter-rr dhcp-range group dhcp-host '
    'dhcp-hostsfile dhcp-optsfile dhcp-hostsdir dhcp-optsdir tag-if addn-hosts hostsdir interface '
    'except-interface dhcp-userclass dhcp-circuitid dhcp-remoteid dhcp-subscrid dhcp-pxe-vendor '
    'dhcp-ignore dhcp-leasefile mx-host dhcp-boot dhcp-option dhcp-option-force port edns-packet-max '
    'query-port port-limit resolv-file servers-file server rev-server local domain mx-target '
    'local-ttl neg-ttl max-ttl max-cache-ttl min-cache-ttl fast-dns-retry user dhcp-vendorclass alias '
    'srv-host pid-file dhcp-lease-max txt-record ptr-record interface-name no-dhcp-interface '
    'no-dhcpv6-interface no-dhcpv4-interface dhcp-mac bridge-interface shared-network dhcp-script '
    'dhcp-luascript dhcp-scriptuser conf-dir conf-script log-facility dns-forward-max tftp-root '
    'tftp-max tftp-mtu tftp-port-range rebind-domain-ok dhcp-match dhcp-name-match naptr-record '
    'min-port max-port dhcp-relay cname pxe-prompt pxe-service add-subnet add-cpe-id dhcp-duid '
    'host-record dynamic-host caa-record dns-rr auth-server auth-zone auth-ttl auth-soa '
    'auth-sec-servers auth-peer ipset nftset connmark-allowlist synth-domain trust-anchor '
    'dnssec-timestamp dnssec-limits ra-param ignore-address dhcp-ttl dhcp-reply-delay dumpfile '
    'dumpmask cache-rr max-tcp-connections').split())
# conf-file: ``--conf-file`` alone is accepted by dnsmasq (nova passes ``--conf-file=``).
_LONG_OPTIONAL = frozenset((
    'conf-file dhcp-broadcast use-stale-cache enable-dbus enable-ubus bootp-dynamic dhcp-ignore-names '
    'enable-tftp tftp-unique-root log-async dhcp-alternate-port dhcp-generate-names dhcp-proxy '
    'add-mac connmark-allowlist-enable umbrella').split())
_SHORT = {
    'a': 'listen-address', 'A': 'address', 'b': 'bogus-priv', 'B': 'bogus-nxdomain', 'c': 'cache-size',
    'C': 'conf-file', 'd': 'no-daemon', 'D': 'domain-needed', 'e': 'selfmx', 'E': 'expand-hosts',
    'f': 'filterwin2k', 'F': 'dhcp-range', 'g': 'group', 'G': 'dhcp-host', 'h': 'no-hosts',
    'H': 'addn-hosts', 'i': 'interface', 'I': 'except-interface', 'j': 'dhcp-userclass',
    'J': 'dhcp-ignore', 'k': 'keep-in-foreground', 'K': 'dhcp-authoritative', 'l': 'dhcp-leasefile',
    'L': 'localmx', 'm': 'mx-host', 'M': 'dhcp-boot', 'n': 'no-poll', 'N': 'no-negcache',
    'o': 'strict-order', 'O': 'dhcp-option', 'p': 'port', 'P': 'edns-packet-max', 'q': 'log-queries',
    'Q': 'query-port', 'R': 'no-resolv', 'r': 'resolv-file', 'S': 'server', 's': 'domain',
    't': 'mx-target', 'T': 'local-ttl', 'u': 'user', 'U': 'dhcp-vendorclass', 'v': 'version',
    'V': 'alias', 'W': 'srv-host', 'w': 'help', 'x': 'pid-file', 'X': 'dhcp-lease-max',
    'y': 'localise-queries', 'Y': 'txt-record', 'z': 'bind-interfaces', 'Z': 'read-ethers',
    '1': 'enable-dbus', '2': 'no-dhcp-interface', '3': 'bootp-dynamic', '4': 'dhcp-mac', '5': 'no-ping',
    '6': 'dhcp-script', '7': 'conf-dir', '8': 'log-facility', '9': 'leasefile-ro', '0': 'dns-forward-max',
}
# Short letters whose long form takes an argument; '1' and '3' are optional (attached only).
_SHORT_OPTIONAL = frozenset('13')

_RANGE_MODES = frozenset(('static', 'proxy', 'ra-only', 'ra-names', 'ra-stateless', 'slaac',
                          'ra-advrouter', 'off-link'))
_LEASE_RE = re.compile(r'^(?:\d+[smhdw]?|infinite|deprecated)$')
_IPV4_RE = re.compile(r'^\d{1,3}(?:\.\d{1,3}){3}$')
_MAC_RE = re.compile(r'^(?:\d+-)?[0-9A-Fa-f*]{1,2}(?::[0-9A-Fa-f*]{1,2}){5,19}$')
_LEASE_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}

DEFAULT_STATE_DIR = '/var/lib/nova/networks'


class DnsmasqError(Exception):
    """Unreadable or malformed input; the message names the object."""


# --------------------------------------------------------------------------- argv


def lease_seconds(text):
    """'120s' / '2m' / '12h' / '3600' -> seconds; 'infinite' -> None; garbage -> None."""
    if not text or not _LEASE_RE.match(text) or not text[0].isdigit():
        return None
    unit = text[-1]
    if unit in _LEASE_UNITS:
        return int(text[:-1]) * _LEASE_UNITS[unit]
    return int(text)


def _is_ip(text):
    return bool(_IPV4_RE.match(text)) or (':' in text and re.match(r'^[0-9A-Fa-f:.]+$', text) is not None)


def parse_dhcp_range(value):
    """One ``--dhcp-range`` value into its parts (tags kept exactly as written, quotes included)."""
    parts = value.split(',')
    res = {'raw': value, 'tags': [], 'set_tags': [], 'start': None, 'end': None, 'mode': None,
           'netmask': None, 'broadcast': None, 'prefix_length': None, 'lease_time': None,
           'lease_seconds': None}
    while parts and re.match(r'^(?:tag|set|net):', parts[0]):
        kind, dummy, tag = parts.pop(0).partition(':')
        (res['tags'] if kind == 'tag' else res['set_tags']).append(tag)
    if parts and parts[0].startswith('interface:'):
        res['interface'] = parts.pop(0)[len('interface:'):]
    if parts:
        res['start'] = parts.pop(0)
    v6 = bool(res['start']) and ':' in res['start']
    if parts and parts[-1] and _LEASE_RE.match(parts[-1]):
        # IPv6 ranges take an optional prefix length: a lone trailing number is that, not a lease
        if not (v6 and parts[-1].isdigit() and not (len(parts) >= 2 and parts[-2].isdigit())):
            res['lease_time'] = parts.pop()
            res['lease_seconds'] = lease_seconds(res['lease_time'])
    if parts and _is_ip(parts[0]):
        res['end'] = parts.pop(0)
    modes = []
    rest = []
    for item in parts:
        if item in _RANGE_MODES or item.startswith('constructor:'):
            modes.append(item)
        else:
            rest.append(item)
    if modes:
        res['mode'] = ','.join(modes)
    for item in rest:
        if _IPV4_RE.match(item):
            if res['netmask'] is None:
                res['netmask'] = item
            else:
                res['broadcast'] = item
        elif item.isdigit() and res['prefix_length'] is None:
            res['prefix_length'] = int(item)
    return res


def parse_argv(argv):
    """Parse one dnsmasq argv (list of strings) like dnsmasq's getopt_long would.

    Returns ``{binary, options: [{name, value}], unknown: [..], ...derived fields}``; the derived
    fields are the ones an operator reads in ``ps aux``: dhcp_ranges, hostsfile, leasefile,
    leasefile_ro, pid_file, listen_addresses, interfaces, except_interfaces, bind_interfaces,
    domain, conf_files, dhcp_lease_max, dhcp_script, servers, user.
    """
    argv = list(argv)
    env = {}
    if argv and os.path.basename(argv[0]) == 'env':
        argv.pop(0)
        while argv and '=' in argv[0] and not argv[0].startswith('-'):
            k, dummy, v = argv.pop(0).partition('=')
            env[k] = v
    binary = argv[0] if argv else None
    options = []
    unknown = []
    positional = []
    i = 1
    while i < len(argv):
        tok = argv[i]
        i += 1
        if tok == '--':
            positional.extend(argv[i:])
            break
        if tok.startswith('--'):
            name, eq, value = tok[2:].partition('=')
            if eq:
                options.append({'name': name, 'value': value})
                if name not in _LONG_REQUIRED and name not in _LONG_OPTIONAL:
                    unknown.append(name)
            elif name in _LONG_REQUIRED:
                if i < len(argv):
                    options.append({'name': name, 'value': argv[i]})
                    i += 1
                else:
                    options.append({'name': name, 'value': None})
                    unknown.append(name)
            else:
                options.append({'name': name, 'value': True})
                if name not in _LONG_OPTIONAL and name not in _FLAGS:
                    unknown.append(name)
        elif tok.startswith('-') and len(tok) > 1:
            j = 1
            while j < len(tok):
                letter = tok[j]
                long_name = _SHORT.get(letter)
                j += 1
                if long_name is None:
                    unknown.append('-' + letter)
                    continue
                if long_name in _FLAGS:
                    options.append({'name': long_name, 'value': True})
                    continue
                rest = tok[j:]
                if rest:
                    options.append({'name': long_name, 'value': rest})
                elif letter in _SHORT_OPTIONAL:
                    options.append({'name': long_name, 'value': True})
                elif i < len(argv):
                    options.append({'name': long_name, 'value': argv[i]})
                    i += 1
                else:
                    options.append({'name': long_name, 'value': None})
                break
        else:
            positional.append(tok)
    res = {'binary': binary, 'argv': list(argv), 'options': options, 'unknown_options': unknown}
    if env:
        res['env'] = env
    if positional:
        res['positional'] = positional
    res.update(_derive(options))
    return res


_FLAGS = frozenset(n for n in _SHORT.values() if n not in _LONG_REQUIRED and n not in _LONG_OPTIONAL) | frozenset((
    'filter-A filter-AAAA no-poll tftp-secure tftp-no-fail tftp-no-blocksize tftp-lowercase tftp-single-port '
    'log-dhcp stop-dns-rebind rebind-localhost-ok all-servers dhcp-fqdn test strip-mac strip-subnet '
    'proxy-dnssec dhcp-sequential-ip dhcp-ignore-clid conntrack dhcp-client-update enable-ra bind-dynamic '
    'dnssec dnssec-debug dnssec-check-unsigned dnssec-no-timecheck quiet-dhcp quiet-dhcp6 quiet-ra '
    'log-debug local-service dns-loop-detect dhcp-rapid-commit script-on-renewal quiet-tftp '
    'no-round-robin no-ident script-arp clear-on-reload dhcp-no-override').split())


def _values(options, name):
    return [o['value'] for o in options if o['name'] == name]


def _last(options, name):
    vals = _values(options, name)
    return vals[-1] if vals else None


def _split_multi(values):
    out = []
    for v in values:
        if isinstance(v, str):
            out.extend(x for x in v.split(',') if x)
    return out


def _derive(options):
    lease_max = _last(options, 'dhcp-lease-max')
    try:
        lease_max = int(lease_max) if isinstance(lease_max, str) else None
    except ValueError:
        lease_max = None
    conf_files = [v for v in _values(options, 'conf-file') if isinstance(v, str)]
    return {
        'dhcp_ranges': [parse_dhcp_range(v) for v in _values(options, 'dhcp-range') if isinstance(v, str)],
        'hostsfile': _last(options, 'dhcp-hostsfile'),
        'optsfile': _last(options, 'dhcp-optsfile'),
        'leasefile': _last(options, 'dhcp-leasefile'),
        'leasefile_ro': any(o['name'] == 'leasefile-ro' for o in options),
        'pid_file': _last(options, 'pid-file'),
        'listen_addresses': _split_multi(_values(options, 'listen-address')),
        'interfaces': _split_multi(_values(options, 'interface')),
        'except_interfaces': _split_multi(_values(options, 'except-interface')),
        'bind_interfaces': any(o['name'] in ('bind-interfaces', 'bind-dynamic') for o in options),
        'domain': _last(options, 'domain'),
        'conf_files': conf_files,
        'dhcp_lease_max': lease_max,
        'dhcp_script': _last(options, 'dhcp-script'),
        'servers': [v for v in _values(options, 'server') if isinstance(v, str)],
        'user': _last(options, 'user'),
        'log_facility': _last(options, 'log-facility'),
        'dhcp_hosts': [v for v in _values(options, 'dhcp-host') if isinstance(v, str)],
    }


_PS_HEAD = re.compile(r'^(\S+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+\d+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(.*)$')


def parse_ps_aux(text):
    """``ps aux`` output (lines wrapped with leading whitespace allowed) -> dnsmasq processes.

    Only lines whose command's program is dnsmasq are returned (``grep dnsmasq`` itself skipped).
    Empty arguments are invisible in ps output; ``--conf-file=`` keeps its ``=`` so it survives.
    """
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and records:
            records[-1] = records[-1] + ' ' + line.strip()
        else:
            records.append(line.rstrip())
    procs = []
    for rec in records:
        m = _PS_HEAD.match(rec)
        if not m:
            continue
        user, pid, command = m.groups()
        argv = command.split()
        prog = argv[0] if argv else ''
        if os.path.basename(prog) == 'env':
            progs = [a for a in argv[1:] if '=' not in a or a.startswith('-')]
            prog = progs[0] if progs else ''
        if os.path.basename(prog) != 'dnsmasq':
            continue
        procs.append({'pid': int(pid), 'ppid': None, 'user': user, 'argv': argv,
                      'args': parse_argv(argv)})
    return procs


# --------------------------------------------------------------------------- /proc


def _read(path, binary=False):
    with open(path, 'rb' if binary else 'r') as f:
        return f.read()


def _uid_name(uid):
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def _proc_info(proc, pid):
    base = os.path.join(proc, str(pid))
    raw = _read(os.path.join(base, 'cmdline'), binary=True)
    argv = [a.decode('utf-8', 'replace') for a in raw.split(b'\0')]
    if argv and argv[-1] == '':
        argv.pop()
    status = _read(os.path.join(base, 'status'))
    ppid = uid = None
    comm = None
    for line in status.splitlines():
        if line.startswith('PPid:'):
            ppid = int(line.split()[1])
        elif line.startswith('Uid:'):
            uid = int(line.split()[1])
        elif line.startswith('Name:'):
            comm = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ''
    try:
        netns = os.stat(os.path.join(base, 'ns', 'net')).st_ino
    except OSError:
        netns = None
    return {'pid': pid, 'ppid': ppid, 'uid': uid, 'user': _uid_name(uid) if uid is not None else None,
            'comm': comm, 'argv': argv, 'netns_inode': netns}


def is_dnsmasq(proc_info):
    if proc_info.get('comm') == 'dnsmasq':
        return True
    argv = proc_info.get('argv') or []
    return bool(argv) and os.path.basename(argv[0]) == 'dnsmasq'


def scan_processes(proc='/proc', netns_inode=None):
    """Every dnsmasq process under ``proc``; only those in network namespace ``netns_inode`` if given."""
    out = []
    try:
        names = os.listdir(proc)
    except OSError as exc:
        raise DnsmasqError('cannot list %s: %s' % (proc, exc.strerror))
    for name in names:
        if not name.isdigit():
            continue
        try:
            comm = _read(os.path.join(proc, name, 'comm')).strip()
            if comm != 'dnsmasq' or _is_zombie(proc, int(name)):
                continue
            info = _proc_info(proc, int(name))
        except (OSError, ValueError, IndexError):
            continue  # process ended while we looked, or is not ours to read
        if netns_inode is not None and info['netns_inode'] != netns_inode:
            continue  # another namespace's dnsmasq, or one whose namespace we cannot read (ended, no rights)
        info['args'] = parse_argv(info['argv'])
        out.append(info)
    out.sort(key=lambda p: p['pid'])
    return out


def pid_file_status(path, proc='/proc'):
    """``{path, pid, status, comm}``; status one of alive, stale, not_dnsmasq, invalid, missing, unreadable."""
    res = {'path': path, 'pid': None, 'status': None, 'comm': None}
    try:
        text = _read(path, binary=True)
    except FileNotFoundError:
        res['status'] = 'missing'
        return res
    except OSError as exc:
        res['status'] = 'unreadable'
        res['error'] = exc.strerror
        return res
    token = text.strip().split(b'\n')[0].strip() if text.strip() else b''
    if not token.isdigit():
        res['status'] = 'invalid'
        return res
    pid = int(token)
    res['pid'] = pid
    try:
        comm = _read(os.path.join(proc, str(pid), 'comm')).strip()
    except OSError:
        res['status'] = 'stale'
        return res
    res['comm'] = comm
    if _is_zombie(proc, pid):
        res['status'] = 'stale'  # exited, not yet reaped by its parent
        res['zombie'] = True
        return res
    res['status'] = 'alive' if comm == 'dnsmasq' else 'not_dnsmasq'
    return res


def _is_zombie(proc, pid):
    try:
        stat = _read(os.path.join(proc, str(pid), 'stat'))
    except OSError:
        return True
    return stat.rpartition(')')[2].split()[:1] in (['Z'], ['X'])


# --------------------------------------------------------------------------- hosts / leases files


def parse_hosts_line(line):
    """One ``--dhcp-host`` / hosts-file line: ``[mac...][,id:..][,set:tag][,ip][,name][,lease][,ignore]``."""
    entry = {'macs': [], 'ip': None, 'ipv6': [], 'hostname': None, 'client_id': None, 'tags': [],
             'set_tags': [], 'lease_time': None, 'ignore': False, 'raw': line}
    for item in line.split(','):
        item = item.strip()
        if not item:
            continue
        if _MAC_RE.match(item) and ':' in item:
            entry['macs'].append(item.lower())
        elif item.startswith('id:'):
            entry['client_id'] = item[3:]
        elif item.startswith(('set:', 'net:')):
            entry['set_tags'].append(item[4:])
        elif item.startswith('tag:'):
            entry['tags'].append(item[4:])
        elif _IPV4_RE.match(item):
            entry['ip'] = item
        elif item.startswith('[') and item.endswith(']'):
            entry['ipv6'].append(item[1:-1])
        elif item == 'ignore':
            entry['ignore'] = True
        elif _LEASE_RE.match(item):
            entry['lease_time'] = item
        elif entry['hostname'] is None:
            entry['hostname'] = item
    entry['mac'] = entry['macs'][0] if entry['macs'] else None
    return entry


def parse_hosts_file(text):
    """Hosts file text -> list of entries (comments and blank lines skipped)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        e = parse_hosts_line(line)
        e['line'] = lineno
        out.append(e)
    return out


def parse_leases(text):
    """dnsmasq lease file: ``expiry mac ip hostname client-id`` lines (``duid`` line for DHCPv6)."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4 or f[0] == 'duid':
            continue
        try:
            expiry = int(f[0])
        except ValueError:
            continue
        out.append({'expiry': expiry, 'mac': f[1].lower(), 'ip': f[2],
                    'hostname': None if f[3] == '*' else f[3],
                    'client_id': None if len(f) < 5 or f[4] == '*' else f[4]})
    return out


def read_text_file(path, what, max_bytes=16 * 1024 * 1024):
    """Read a small text file; DnsmasqError naming it when missing/unreadable/binary."""
    try:
        if os.path.isdir(path):
            raise DnsmasqError('%s %s is a directory, not a file' % (what, path))
        with open(path, 'rb') as f:
            data = f.read(max_bytes + 1)
    except DnsmasqError:
        raise
    except OSError as exc:
        raise DnsmasqError('cannot read %s %s: %s' % (what, path, exc.strerror))
    if len(data) > max_bytes:
        raise DnsmasqError('%s %s is larger than %d bytes' % (what, path, max_bytes))
    if b'\0' in data:
        raise DnsmasqError('%s %s contains binary data (NUL bytes), not text' % (what, path))
    return data.decode('utf-8', 'replace')


def bridge_from_filename(path):
    """nova names its files ``nova-<bridge>.{pid,conf,opts,leases}``; Neutron's DHCP agent keeps ``pid``, ``host``,
    ``opts``, ``leases`` in ``<dhcp_confs>/<network id>/``, served in the namespace ``qdhcp-<network id>`` (the label
    returned for them)."""
    if not path:
        return None
    base = os.path.basename(path)
    m = re.match(r'^nova-(?!ra-)(.+)\.(?:pid|conf|opts|leases)$', base)
    if m:
        return m.group(1)
    parent = os.path.basename(os.path.dirname(path))
    if base in ('pid', 'host', 'opts', 'leases', 'addn_hosts') and _NET_ID.match(parent):
        return 'qdhcp-%s' % parent
    return None


_NET_ID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


def interfaces_by_address(ip_json):
    """``ip -j addr show`` JSON (already loaded) -> {address: ifname}."""
    out = {}
    for link in ip_json or []:
        for a in link.get('addr_info') or []:
            if a.get('local'):
                out.setdefault(a['local'], link.get('ifname'))
    return out


# --------------------------------------------------------------------------- the log

_EVENT_RE = re.compile(
    rb'dnsmasq-dhcp\[(\d+)\]: (?:\d+ )?(DHCP[A-Z]+)\(([^)\n]*)\) (?:(\d{1,3}(?:\.\d{1,3}){3}) )?'
    rb'((?:[0-9A-Fa-f]{2}:){5,19}[0-9A-Fa-f]{2})(?![0-9A-Fa-f:]) ?([^\n]*)')
_SERVER_RE = re.compile(
    rb'dnsmasq(?:-dhcp)?\[(\d+)\]: ((?:started, version|exiting on receipt|failed|no address range available|'
    rb'DHCP packet received on|cannot|warning|duplicate|error|read )[^\n]*)')
_TRAD_TS = re.compile(r'^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)')
_ISO_TS = re.compile(r'^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?')
_MONTHS = {m: i for i, m in enumerate(('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep',
                                       'Oct', 'Nov', 'Dec'), 1)}
_IP_EVENTS = frozenset((b'DHCPOFFER', b'DHCPREQUEST', b'DHCPACK'))
EVIDENCE_PER_MAC = 12


def parse_since(text):
    """'2026-11-25 20:13:00', '2026-11-25T20:13:00Z', ISO with offset, or syslog 'Nov 25 20:13:00'.

    Returns a naive datetime (local wall time as written in the log) or raises ValueError.
    """
    if text is None or text == '':
        return None
    text = str(text).strip()
    m = _ISO_TS.match(text)
    if m:
        return datetime.datetime(*[int(x) for x in m.groups()[:6]])
    m = _TRAD_TS.match(text)
    if m and m.group(1) in _MONTHS:
        now = datetime.datetime.now()
        return _year_fix(datetime.datetime(now.year, _MONTHS[m.group(1)], int(m.group(2)),
                                           int(m.group(3)), int(m.group(4)), int(m.group(5))), now)
    m = re.match(r'^(\d{4})-(\d\d)-(\d\d)$', text)
    if m:
        return datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError('unrecognised timestamp %r (use YYYY-MM-DD[ HH:MM:SS] or "Mon DD HH:MM:SS")' % text)


def _year_fix(dt, ref):
    # syslog timestamps carry no year: a date after the reference (file mtime) is last year's
    if dt > ref + datetime.timedelta(days=1):
        try:
            return dt.replace(year=dt.year - 1)
        except ValueError:
            return dt.replace(year=dt.year - 1, day=28)
    return dt


def parse_log_ts(text, ref):
    """Timestamp at the start of a log line (traditional or RFC 3339) -> naive datetime or None."""
    m = _TRAD_TS.match(text)
    if m:
        mon = _MONTHS.get(m.group(1))
        if not mon:
            return None
        try:
            dt = datetime.datetime(ref.year, mon, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
        except ValueError:
            return None
        return _year_fix(dt, ref)
    m = _ISO_TS.match(text)
    if m:
        try:
            return datetime.datetime(*[int(x) for x in m.groups()[:6]])
        except ValueError:
            return None
    return None


def _new_mac(mac):
    return {'mac': mac, 'counts': {}, 'first_seen': None, 'last_seen': None, 'ips': [], 'interfaces': [],
            'hostnames': [], 'server_pids': [], 'messages': [], 'events': 0,
            '_attempt': [], '_closed': False}


def _is_binary(sample):
    if not sample:
        return False
    if sample.count(b'\0') > 0:
        return True
    ctrl = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return ctrl > len(sample) // 100 + 1


def scan_log(path, macs=None, since=None, max_lines=None, max_bytes=None, ref_time=None, chunk_size=1 << 20):
    """DHCP events of log ``path`` grouped per MAC, read backwards from the end within the caps.

    ``macs``: only these MACs (lowercase); ``since``: datetime, older events ignored (reading stops at
    the first older event); ``max_lines`` / ``max_bytes``: caps on what is read from the end (the
    most recent lines win). Memory stays flat: one block plus per-MAC aggregates and a few evidence
    lines per MAC. Raises DnsmasqError for an unreadable, binary or non-file log.
    """
    # the scan allocates many small containers and no cycles: the cyclic GC only costs time (~15%)
    with paused_gc():
        return _scan_log(path, macs, since, max_lines, max_bytes, ref_time, chunk_size)


def _scan_log(path, macs, since, max_lines, max_bytes, ref_time, chunk_size):
    wanted = set(m.lower().encode('ascii', 'replace') for m in macs) if macs else None
    try:
        if os.path.isdir(path):
            raise DnsmasqError('log %s is a directory, not a file' % path)
        f = open(path, 'rb')
    except DnsmasqError:
        raise
    except OSError as exc:
        raise DnsmasqError('cannot read log %s: %s' % (path, exc.strerror))
    per_mac = {}
    servers = {}
    stats = {'path': path, 'status': 'ok', 'bytes_scanned': 0, 'lines_scanned': 0, 'events': 0,
             'truncated': False, 'stopped_at_since': False}
    ts_cache = {}
    events = 0
    with f:
        try:
            st = os.fstat(f.fileno())
            size = st.st_size
            ref = ref_time or datetime.datetime.fromtimestamp(st.st_mtime)
            f.seek(max(0, size - 65536))
            if _is_binary(f.read(65536)):
                raise DnsmasqError('log %s contains binary data, not a text log' % path)
        except OSError as exc:
            raise DnsmasqError('cannot read log %s: %s' % (path, exc.strerror))
        stats['size'] = size
        budget = size if max_bytes is None else min(size, max_bytes)
        lines_left = max_lines
        pos = size
        carry = b''
        stop = False
        while pos > 0 and budget > 0 and not stop:
            n = min(chunk_size, pos, budget)
            pos -= n
            budget -= n
            f.seek(pos)
            try:
                block = f.read(n)
            except OSError as exc:
                raise DnsmasqError('cannot read log %s: %s' % (path, exc.strerror))
            stats['bytes_scanned'] += len(block)
            block = block + carry
            if pos > 0 and budget > 0:
                cut = block.find(b'\n')
                if cut < 0:
                    carry = block
                    continue
                carry = block[:cut]
                block = block[cut + 1:]
            else:
                carry = b''
                if pos > 0:  # the byte cap cut a line in two: drop the partial line
                    cut = block.find(b'\n')
                    block = block[cut + 1:] if cut >= 0 else b''
                    stats['truncated'] = True
            nlines = block.count(b'\n') + (0 if block.endswith(b'\n') or not block else 1)
            if lines_left is not None and nlines >= lines_left:
                # keep only the last lines_left lines of this block
                parts = block.rsplit(b'\n', lines_left + (1 if block.endswith(b'\n') else 0))
                block = b'\n'.join(parts[1:]) if len(parts) > lines_left else block
                nlines = lines_left
                stats['truncated'] = stats['truncated'] or pos > 0 or len(parts) > lines_left
                stop = True
            if lines_left is not None:
                lines_left -= nlines
            stats['lines_scanned'] += nlines
            # server lifecycle / warnings (newest first)
            for m in reversed(list(_SERVER_RE.finditer(block))):
                ls = block.rfind(b'\n', 0, m.start()) + 1
                spid = int(m.group(1))
                srv = servers.setdefault(spid, {'pid': spid, 'messages': []})
                if len(srv['messages']) < EVIDENCE_PER_MAC:
                    srv['messages'].append(block[ls:m.end()].decode('utf-8', 'replace'))
            for m in reversed(list(_EVENT_RE.finditer(block))):
                spid, ev, iface, ip, mac, text = m.groups()
                mac = mac.lower()
                if wanted is not None and mac not in wanted:
                    continue
                start = m.start()
                ls = block.rfind(b'\n', 0, start) + 1
                ts = block[ls:start]
                ts = ts.split(b' ', 1)[0] if ts[:1].isdigit() else ts[:15]
                if since is not None:
                    dt = ts_cache.get(ts)
                    if dt is None:
                        dt = ts_cache[ts] = parse_log_ts(ts.decode('ascii', 'replace'), ref)
                    if dt is not None and dt < since:
                        stats['stopped_at_since'] = True
                        stop = True
                        break
                st_mac = per_mac.get(mac)
                if st_mac is None:
                    st_mac = per_mac[mac] = _new_mac(mac)
                    st_mac['last_seen'] = ts
                events += 1
                st_mac['events'] += 1
                counts = st_mac['counts']
                counts[ev] = counts.get(ev, 0) + 1
                st_mac['first_seen'] = ts
                small = st_mac['interfaces']
                if iface not in small and len(small) < 8:
                    small.append(iface)
                small = st_mac['server_pids']
                if spid not in small and len(small) < 8:
                    small.append(spid)
                text = text.strip()
                if text:
                    small = st_mac['hostnames'] if ev == b'DHCPACK' else st_mac['messages']
                    if ev == b'DHCPACK':
                        text = text.split()[0]
                    if text not in small and len(small) < 8:
                        small.append(text)
                if ip and ev in _IP_EVENTS:
                    small = st_mac['ips']
                    if ip not in small and len(small) < 8:
                        small.append(ip)
                if not st_mac['_closed']:
                    st_mac['_attempt'].append((ev, text, block[ls:m.end()]))
                    if ev == b'DHCPDISCOVER' or len(st_mac['_attempt']) >= 64:
                        st_mac['_closed'] = True
        if pos > 0 and not stop:
            stats['truncated'] = True
    stats['events'] = events
    stats['macs'] = dict(_finish_mac(st_mac) for dummy, st_mac in sorted(per_mac.items()))
    for srv in servers.values():
        srv['messages'].reverse()
    stats['servers'] = [servers[k] for k in sorted(servers)]
    return stats


def classify_attempt(attempt):
    """The chronological events of one MAC's latest attempt -> result token."""
    if attempt and attempt[-1]['event'] == 'DHCPRELEASE':
        return 'released'
    for e in reversed(attempt):
        if e['event'] == 'DHCPACK':
            return 'complete'
        if e['event'] == 'DHCPNAK':
            return 'nak'
        if e['event'] in ('DHCPDISCOVER', 'DHCPREQUEST') and 'no address available' in e['text']:
            return 'no_address_available'
        if e['event'] in ('DHCPDISCOVER', 'DHCPREQUEST', 'DHCPINFORM') and e['text'].startswith('ignored'):
            return 'ignored'
    names = set(e['event'] for e in attempt)
    if 'DHCPREQUEST' in names:
        return 'request_without_ack'
    if 'DHCPOFFER' in names:
        return 'offer_without_request'
    if 'DHCPDISCOVER' in names:
        return 'discover_only'
    if 'DHCPRELEASE' in names:
        return 'released'
    if 'DHCPINFORM' in names:
        return 'inform_only'
    if 'DHCPDECLINE' in names:
        return 'declined'
    return 'other'


def _dec(value):
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else value


def _finish_mac(st):
    """Per-MAC aggregate (bytes while scanning) -> (mac, JSON-able dict)."""
    attempt = [{'event': _dec(ev), 'text': _dec(text), 'line': _dec(line).rstrip()}
               for ev, text, line in reversed(st.pop('_attempt'))]
    st.pop('_closed')
    out = {
        'mac': _dec(st['mac']),
        'events': st['events'],
        'counts': dict((_dec(k), v) for k, v in st['counts'].items()),
        'first_seen': _dec(st['first_seen']),
        'last_seen': _dec(st['last_seen']),
        'ips': [_dec(x) for x in reversed(st['ips'])],
        'interfaces': [_dec(x) for x in st['interfaces']],
        'hostnames': [_dec(x) for x in st['hostnames']],
        'messages': [_dec(x) for x in st['messages']],
        'server_pids': [int(x) for x in st['server_pids']],
        'result': classify_attempt(attempt),
        'evidence': [e['line'] for e in attempt[-EVIDENCE_PER_MAC:]],
        'last_attempt': [e['event'] for e in attempt],
    }
    return out['mac'], out


RESULT_PROBLEMS = {
    'no_address_available': ('dhcp_no_address_available',
                             'dnsmasq answered DHCPDISCOVER from %s with "no address available" (no hosts-file entry '
                             'for the MAC or no free fixed IP): a dnsmasq / nova-network problem'),
    'discover_only': ('dhcp_discover_only',
                      'dnsmasq saw DHCPDISCOVER from %s but never offered an address'),
    'offer_without_request': ('dhcp_offer_without_request',
                              'dnsmasq offered an address to %s but no DHCPREQUEST followed: the offer does not reach the '
                              'instance (return path)'),
    'request_without_ack': ('dhcp_request_without_ack', 'DHCPREQUEST from %s was never acknowledged'),
    'nak': ('dhcp_nak', 'dnsmasq refused the address requested by %s (DHCPNAK)'),
    'ignored': ('dhcp_ignored', 'dnsmasq ignored DHCP requests from %s'),
    'never_seen': ('dhcp_never_seen',
                   'no DHCP request from %s reached dnsmasq in the log read: the request is lost between the '
                   'instance and the dnsmasq host'),
}


def mac_problems(macs):
    out = []
    for mac, st in sorted(macs.items()):
        spec = RESULT_PROBLEMS.get(st.get('result'))
        if spec:
            out.append({'code': spec[0], 'message': spec[1] % mac, 'object': mac,
                        'evidence': list(st.get('evidence') or [])[-4:]})
    return out


# --------------------------------------------------------------------------- putting it together


def restart_advice(proc):
    """What an operator could run to restart exactly this dnsmasq (never killall). Not executed."""
    pid_file = proc['args'].get('pid_file')
    bridge = proc.get('bridge') or 'its network'
    cmds = ['kill -HUP %d' % proc['pid'], 'kill -TERM %d' % proc['pid']]
    note = ('SIGHUP makes dnsmasq %d re-read its hosts file (what nova-network does itself when instances change); '
            'if DHCP stays broken, SIGTERM stops only the dnsmasq serving %s and restarting nova-network on this host '
            'starts it again with the same arguments. Never "killall dnsmasq": it cuts DHCP and DNS for every network on '
            'the host.' % (proc['pid'], bridge))
    if pid_file:
        note += ' Check first that %s still contains %d.' % (pid_file, proc['pid'])
    return {'pid': proc['pid'], 'pid_file': pid_file, 'commands': cmds, 'then': 'restart nova-network', 'note': note}


def _attach_bridge(proc, addr_map):
    args = proc['args']
    for addr in args['listen_addresses']:
        if addr in addr_map and addr_map[addr] != 'lo':
            return addr_map[addr], 'listen-address'
    ifs = [i for i in args['interfaces'] if i != 'lo']
    if ifs:
        return ifs[0], 'interface'
    for p in (args.get('pid_file'), args.get('hostsfile')):
        b = bridge_from_filename(p)
        if b:
            return b, 'file-name'
    return None, None


def gather(state_dir=DEFAULT_STATE_DIR, processes=None, addr_map=None, log_path=None, macs=None, since=None,
           max_lines=None, max_bytes=None, proc='/proc', log_required=False):
    """All dnsmasq facts of one host. ``processes`` from ``scan_processes`` (or ``parse_ps_aux``).

    Returns ``(dnsmasq, problems, warnings)``.
    """
    addr_map = addr_map or {}
    warnings = []
    problems = []
    processes = [dict(p) for p in (processes or [])]
    pids = set(p['pid'] for p in processes)
    by_pid_file = {}
    hosts_files = {}
    for p in processes:
        args = p['args']
        p['bridge'], p['bridge_source'] = _attach_bridge(p, addr_map)
        if args.get('pid_file'):
            p['pid_file'] = pid_file_status(args['pid_file'], proc)
            by_pid_file.setdefault(args['pid_file'], []).append(p)
        else:
            p['pid_file'] = None
        # main process: its pid is in its pid file, or its parent is not a dnsmasq
        if p['pid_file'] and p['pid_file']['pid'] is not None:
            p['role'] = 'main' if p['pid_file']['pid'] == p['pid'] else (
                'helper' if p['ppid'] == p['pid_file']['pid'] else 'other')
        else:
            p['role'] = 'helper' if p.get('ppid') in pids else 'main'
        if p['role'] == 'main':
            p['restart_advice'] = restart_advice(p)
        if args.get('hostsfile'):
            hosts_files.setdefault(args['hostsfile'], p['bridge'])
        leasefile = args.get('leasefile')
        if leasefile and not args.get('leasefile_ro'):
            try:
                p['leases'] = parse_leases(read_text_file(leasefile, 'lease file'))
            except DnsmasqError as exc:
                p['leases'] = []
                p['leases_error'] = str(exc)
    state = {'path': state_dir, 'exists': bool(state_dir) and os.path.isdir(state_dir)}
    pid_files = []
    if state['exists']:
        for path in sorted(glob.glob(os.path.join(glob.escape(state_dir), 'nova-*.pid'))):
            if os.path.basename(path).startswith('nova-ra-'):
                continue
            by_pid_file.setdefault(path, [])
        for path in sorted(glob.glob(os.path.join(glob.escape(state_dir), 'nova-*.conf'))):
            hosts_files.setdefault(path, bridge_from_filename(path))
        # a Neutron DHCP agent's directory of one network (<dhcp_confs>/<network id>)
        for name in ('pid', 'host'):
            path = os.path.join(state_dir, name)
            if bridge_from_filename(path) and os.path.isfile(path):
                (by_pid_file if name == 'pid' else hosts_files).setdefault(path, [] if name == 'pid' else bridge_from_filename(path))
    elif state_dir:
        warnings.append('dnsmasq state directory %s does not exist' % state_dir)
    for path in sorted(by_pid_file):
        owners = by_pid_file[path]
        st = owners[0]['pid_file'] if owners else pid_file_status(path, proc)
        st = dict(st)
        st['bridge'] = next((o['bridge'] for o in owners if o.get('bridge')), None) or bridge_from_filename(path)
        st['processes'] = [o['pid'] for o in owners]
        pid_files.append(st)
        obj = st['bridge'] or path
        if st['status'] == 'stale':
            problems.append({'code': 'dhcp_server_down', 'object': obj,
                             'message': 'pid file %s names pid %d, which is not running: the dnsmasq serving %s is down'
                                        % (path, st['pid'], obj),
                             'evidence': [path]})
        elif st['status'] == 'not_dnsmasq':
            problems.append({'code': 'dhcp_server_down', 'object': obj,
                             'message': 'pid file %s names pid %d, which is now %r, not dnsmasq: the dnsmasq serving %s '
                                        'is down' % (path, st['pid'], st['comm'], obj), 'evidence': [path]})
        elif st['status'] in ('invalid', 'unreadable'):
            problems.append({'code': 'dnsmasq_pid_file_invalid', 'object': obj,
                             'message': 'pid file %s is %s' % (path, st['status']), 'evidence': [path]})
        mains = [o for o in owners if o['role'] != 'helper']
        if len(mains) > 1:
            problems.append({'code': 'dnsmasq_duplicate', 'object': obj,
                             'message': '%d dnsmasq processes (%s) share pid file %s'
                                        % (len(mains), ', '.join(str(o['pid']) for o in mains), path),
                             'evidence': [' '.join(o['argv']) for o in mains]})
    hosts = []
    host_macs = {}
    served = set(p['bridge'] for p in processes if p['role'] != 'helper' and p.get('bridge'))
    down = set(pf['bridge'] for pf in pid_files if pf['status'] != 'alive' and pf['bridge'])
    for path in sorted(hosts_files):
        item = {'path': path, 'bridge': hosts_files[path], 'entries': []}
        try:
            item['entries'] = parse_hosts_file(read_text_file(path, 'hosts file'))
        except DnsmasqError as exc:
            item['error'] = str(exc)
            problems.append({'code': 'dnsmasq_hosts_file_unreadable', 'object': path, 'message': str(exc)})
        for e in item['entries']:
            for mac in e['macs']:
                host_macs.setdefault(mac, (e, path))
        hosts.append(item)
        br = item['bridge']
        if br and br not in served and br not in down and item['entries']:
            problems.append({'code': 'dhcp_server_down', 'object': br,
                             'message': 'hosts file %s lists %d instance(s) on %s but no dnsmasq serves %s and no pid '
                                        'file is left' % (path, len(item['entries']), br, br),
                             'evidence': [path]})
    log = {'path': log_path, 'status': 'not_requested'}
    if log_path:
        if not os.path.exists(log_path):
            if log_required:
                raise DnsmasqError('log %s does not exist' % log_path)
            log = {'path': log_path, 'status': 'missing'}
            warnings.append('log %s does not exist; DHCP events not analysed' % log_path)
        else:
            log = scan_log(log_path, macs=macs, since=since, max_lines=max_lines, max_bytes=max_bytes)
            expected = set(m.lower() for m in macs) if macs else set(host_macs)
            for mac in sorted(expected - set(log['macs'])):
                src = host_macs.get(mac)
                log['macs'][mac] = {'mac': mac, 'result': 'never_seen', 'events': 0, 'counts': {},
                                    'evidence': [], 'ips': [], 'interfaces': [], 'hostnames': [],
                                    'first_seen': None, 'last_seen': None, 'server_pids': [], 'messages': [],
                                    'last_attempt': [],
                                    'hosts_file': src[1] if src else None}
            for mac, st in log['macs'].items():
                if mac in host_macs and 'hosts_file' not in st:
                    st['hosts_file'] = host_macs[mac][1]
                    st['hosts_entry_ip'] = host_macs[mac][0]['ip']
            problems.extend(mac_problems(log['macs']))
            live = set(p['pid'] for p in processes)
            for srv in log['servers']:
                errs = [m for m in srv['messages'] if re.search(r'dnsmasq(?:-dhcp)?\[\d+\]: (?:cannot|failed)', m)]
                if srv['pid'] in live and errs:
                    problems.append({'code': 'dnsmasq_error_logged', 'object': 'dnsmasq[%d]' % srv['pid'],
                                     'message': 'running dnsmasq %d logged %d error(s), the last: %s'
                                                % (srv['pid'], len(errs), errs[-1].split(']: ', 1)[-1]),
                                     'evidence': errs[-4:]})
    for p in processes:
        p.pop('netns_inode', None)
    result = {'state_dir': state, 'processes': processes, 'pid_files': pid_files, 'hosts_files': hosts, 'log': log}
    return result, problems, warnings


# --------------------------------------------------------------------------- targeted restart (dnsmasq_restart)


def _argv_pid_file(argv):
    return parse_argv(argv).get('pid_file') if argv else None


def process_state(pid, proc='/proc'):
    """``{pid, alive, comm, argv, start_time}`` of a pid (alive False when gone or a zombie)."""
    base = os.path.join(proc, str(pid))
    try:
        stat = _read(os.path.join(base, 'stat'))
        argv = [a.decode('utf-8', 'replace') for a in _read(os.path.join(base, 'cmdline'), binary=True).split(b'\0') if a]
        comm = _read(os.path.join(base, 'comm')).strip()
    except OSError:
        return {'pid': pid, 'alive': False, 'comm': None, 'argv': [], 'start_time': None}
    fields = stat.rpartition(')')[2].split()
    state = fields[0] if fields else '?'
    start = int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None
    return {'pid': pid, 'alive': state not in ('Z', 'X'), 'comm': comm, 'argv': argv, 'start_time': start}


def plan_signal(pid_file, proc='/proc'):
    """Check that ``pid_file`` names a live dnsmasq started with that very pid file; return the plan.

    Raises DnsmasqError (naming the file and pid) when the file is missing or garbage, the pid is gone
    or reused by another program, or the process is a dnsmasq of another pid file. Never guesses.
    """
    st = pid_file_status(pid_file, proc)
    if st['status'] in ('missing', 'unreadable', 'invalid'):
        raise DnsmasqError('pid file %s is %s%s' % (pid_file, st['status'], ': %s' % st['error'] if st.get('error') else ''))
    if st['status'] == 'stale':
        raise DnsmasqError('pid file %s names pid %s, which is not running: there is no dnsmasq to signal'
                           % (pid_file, st['pid']))
    if st['status'] == 'not_dnsmasq':
        raise DnsmasqError('pid file %s names pid %s, which is %r, not dnsmasq: refusing to signal it'
                           % (pid_file, st['pid'], st['comm']))
    ps = process_state(st['pid'], proc)
    own = _argv_pid_file(ps['argv'])
    if not own or os.path.realpath(own) != os.path.realpath(pid_file):
        raise DnsmasqError('dnsmasq %s was not started with --pid-file=%s (its pid file is %s): refusing to signal it'
                           % (st['pid'], pid_file, own))
    return {'pid': st['pid'], 'pid_file': pid_file, 'argv': ps['argv'], 'start_time': ps['start_time'],
            'bridge': bridge_from_filename(pid_file)}
