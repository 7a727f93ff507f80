# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts of one host from its sosreport tree (private).

The files are those sos names (``sos_commands/<plugin>/<command with spaces as _>`` and the copied files at
their own paths).  Each fact is read by the collection's own module gatherer (``_gather``) on the text or
the copied file, exactly as the module reads it on a live host, so an offline verdict sees the same shape.
A fact whose files are not in the report is ``None`` and named in ``missing`` with the files looked for;
nothing on the machine that reads the report is looked at (no /proc, no command, no path of the host).
"""

from __future__ import annotations

import os
import re

# the files each fact is read from, in order of preference (the first present wins)
FILES = {
    'hostname': ('hostname', 'sos_commands/host/hostname', 'sos_commands/general/hostname', 'etc/hostname'),
    'interfaces': ('sos_commands/networking/ip_-d_address', 'sos_commands/networking/ip_address',
                   'sos_commands/networking/ip_addr'),
    'iptables_save': ('sos_commands/firewall_tables/iptables-save', 'sos_commands/networking/iptables-save',
                      'sos_commands/networking/iptables-save_-c'),
    'iptables_listing': ('sos_commands/networking/iptables_-t_%s_-nvL', 'sos_commands/firewall_tables/iptables_-t_%s_-nvL'),
    'iptables_filter_listing': ('sos_commands/networking/iptables_-vnxL', 'sos_commands/firewall_tables/iptables_-vnxL'),
    'ebtables': ('sos_commands/networking/ebtables-save', 'sos_commands/ebtables/ebtables-save'),
    'routes': ('sos_commands/networking/ip_route_show_table_all', 'sos_commands/networking/ip_route', 'proc/net/route'),
    'sysctl': ('sos_commands/kernel/sysctl_-a', 'proc/sys/net/ipv4/ip_forward'),
    'ps': ('sos_commands/process/ps_auxwww', 'ps'),
    'neigh': ('sos_commands/networking/ip_-s_-s_neigh_show', 'sos_commands/networking/ip_neigh_show'),
    'syslog': ('var/log/syslog', 'var/log/messages', 'var/log/daemon.log'),
    'nova_conf': ('etc/nova/nova.conf', 'var/lib/config-data/puppet-generated/nova/etc/nova/nova.conf'),
    'libvirt': ('etc/libvirt/qemu', 'var/lib/config-data/puppet-generated/nova_libvirt/etc/libvirt/qemu'),
    'nova_state': ('var/lib/nova/networks',),
    'instances': ('var/lib/nova/instances',),
}
TABLES = ('filter', 'nat', 'mangle', 'raw')
MAX_TEXT = 64 * 1024 * 1024
# the dnsmasq options that name a file of the host: read from the report when sos copied it, else left out
_PATH_OPTIONS = ('--dhcp-hostsfile', '--dhcp-leasefile', '--addn-hosts', '--conf-file', '--dhcp-optsfile', '--log-facility',
                 '--pid-file', '-x', '-l', '-C')


class SosreportError(Exception):
    """The tree is not a sosreport, or one of its files cannot be read."""


def is_sosreport(root):
    """True when ``root`` looks like an unpacked sosreport (``sos_commands/`` beside ``sos_logs/`` or ``version.txt``)."""
    return os.path.isdir(os.path.join(root, 'sos_commands')) and (
        os.path.isdir(os.path.join(root, 'sos_logs')) or os.path.exists(os.path.join(root, 'version.txt'))
        or os.path.isdir(os.path.join(root, 'sos_reports')))


def _inside(root, rel):
    """The path of ``rel`` in the report, never outside it (a symlink that leaves the tree is refused)."""
    path = os.path.realpath(os.path.join(root, rel))
    top = os.path.realpath(root)
    if path != top and not path.startswith(top + os.sep):
        return None
    return path


def find(root, key, *fmt):
    """(relative path, absolute path) of the first present file of ``FILES[key]``, or (None, None)."""
    for rel in FILES[key]:
        if fmt:
            rel = rel % fmt
        path = _inside(root, rel)
        if path and os.path.exists(path):
            return rel, path
    return None, None


def read_text(path, what):
    """The text of a report file (capped, undecodable bytes replaced); SosreportError when unreadable."""
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_TEXT + 1)
    except OSError as exc:
        raise SosreportError('cannot read %s (%s): %s' % (path, what, exc.strerror))
    if len(data) > MAX_TEXT:
        raise SosreportError('%s (%s) is larger than %d bytes' % (path, what, MAX_TEXT))
    if b'\0' in data[:65536]:
        raise SosreportError('%s (%s) holds binary data, not command output' % (path, what))
    return data.decode('utf-8', 'replace')


# ---------------------------------------------------------------- iptables listings (iptables -t T -nvL)
_CHAIN_RE = re.compile(r'^Chain (\S+) \((?:policy (\S+) (\S+) packets, (\S+) bytes|(\d+) references?|.*)\)')
_PROTOS = {'0': None, 'all': None, '1': 'icmp', '6': 'tcp', '17': 'udp', '47': 'gre', '50': 'esp', '132': 'sctp',
           '58': 'ipv6-icmp', '4': 'ipip'}
_OPTS = ('--', '-f', '!f')


def _count(text):
    """A listing counter (``1234``, ``12K``, ``3M`` without ``-x``) -> int."""
    text = text.strip()
    mult = {'K': 1000, 'M': 1000 ** 2, 'G': 1000 ** 3, 'T': 1000 ** 4}.get(text[-1:].upper())
    if mult:
        return int(float(text[:-1]) * mult)
    return int(text)


def _neg(value, opt):
    neg = value.startswith('!')
    value = value.lstrip('!')
    if opt in ('-s', '-d') and '/' not in value and value.count('.') == 3:
        value += '/32'      # the listing leaves out the /32 that iptables-save prints
    return '%s%s %s' % ('! ' if neg else '', opt, value)


def _extra(target, words):
    """The match and target options of a listing rule's trailing text, as iptables-save writes them."""
    out, to = [], None
    rest = ' '.join(words)
    for comment in re.findall(r'/\* (.*?) \*/', rest):
        out.append('-m comment --comment "%s"' % comment.replace('"', "'"))
    rest = re.sub(r'/\* .*? \*/', ' ', rest)
    words = rest.split()
    i = 0
    proto = None
    neg = ''
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ''
        if w == '!':
            neg = '! '
            i += 1
            continue
        if w in ('tcp', 'udp', 'sctp') and i + 1 < len(words) and re.match(r'^!?[sd]pts?:', nxt):
            proto = w
            i += 1
            continue
        m = re.match(r'^(!?)([sd])pts?:(!?)(\S+)$', w)
        if m:
            bang = '! ' if (m.group(1) or m.group(3) or neg) else ''
            out.append('-m %s %s--%sport %s' % (proto or 'tcp', bang, m.group(2), m.group(4)))
            neg = ''
            i += 1
            continue
        if w in ('state', 'ctstate') and nxt:
            out.append('-m %s %s--%s %s' % ('state' if w == 'state' else 'conntrack', neg, w, nxt))
            neg = ''
            i += 2
            continue
        if w == 'multiport' and nxt in ('dports', 'sports', 'ports') and i + 2 < len(words):
            out.append('-m multiport --%s %s' % (nxt, words[i + 2]))
            i += 3
            continue
        if w == 'MAC' and nxt:
            out.append('-m mac --mac-source %s' % nxt.upper())
            i += 2
            continue
        if w.startswith('to:'):
            to = w[3:]
            i += 1
            continue
        if w == 'reject-with' and nxt:
            to = ('reject-with', nxt)
            i += 2
            continue
        i += 1      # a match the listing prints in words of its own: not needed by the rules
    tgt = []
    if isinstance(to, tuple):
        tgt.append('--reject-with %s' % to[1])
    elif to and target == 'DNAT':
        tgt.append('--to-destination %s' % to)
    elif to and target == 'SNAT':
        tgt.append('--to-source %s' % to)
    return out, tgt


def listing_to_save(listings):
    """``{table: text of iptables -t TABLE -nvL (or -vnxL)}`` -> the same rules as ``iptables-save -c`` text.

    The listing holds the chains, policies, counters, addresses, interfaces, protocols, ports, states, comments
    and NAT targets; what it prints only in words (rate limits, marks) is left out of the rule.
    """
    out = []
    for table, text in listings.items():
        chains, rules, cur = [], [], None
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            m = _CHAIN_RE.match(line)
            if m:
                cur = m.group(1)
                if m.group(2):
                    chains.append(':%s %s [%d:%d]' % (cur, m.group(2), _count(m.group(3)), _count(m.group(4))))
                else:
                    chains.append(':%s - [0:0]' % cur)
                continue
            f = line.split()
            if not f or f[0] == 'pkts':
                continue
            if cur is None:
                raise SosreportError('iptables -t %s listing, line %d: a rule before any "Chain" line' % (table, lineno))
            try:
                pk, by = _count(f[0]), _count(f[1])
            except (ValueError, IndexError):
                raise SosreportError('iptables -t %s listing, line %d: not a rule: %s' % (table, lineno, line[:160]))
            if len(f) > 3 and f[3] in _OPTS:
                target, f = '', f[2:]
            elif len(f) > 4 and f[4] in _OPTS:
                target, f = f[2], f[3:]
            else:
                raise SosreportError('iptables -t %s listing, line %d: not a rule: %s' % (table, lineno, line[:160]))
            if len(f) < 6:
                raise SosreportError('iptables -t %s listing, line %d: truncated rule: %s' % (table, lineno, line[:160]))
            prot, dummy, iif, oif, src, dst = f[:6]
            parts = ['-A %s' % cur]
            if src not in ('0.0.0.0/0', '::/0'):
                parts.append(_neg(src, '-s'))
            if dst not in ('0.0.0.0/0', '::/0'):
                parts.append(_neg(dst, '-d'))
            if iif != '*':
                parts.append(_neg(iif, '-i'))
            if oif != '*':
                parts.append(_neg(oif, '-o'))
            p = _PROTOS.get(prot.lstrip('!'), prot.lstrip('!'))
            if p:
                parts.append(_neg(('!' if prot.startswith('!') else '') + p, '-p'))
            matches, targs = _extra(target, f[6:])
            parts += matches
            if target:
                parts.append('-j %s' % target)
            parts += targs
            rules.append('[%d:%d] %s' % (pk, by, ' '.join(parts)))
        if chains:
            out.append('*%s' % table)
            out += chains + rules
            out.append('COMMIT')
    return '\n'.join(out) + '\n' if out else ''


# ---------------------------------------------------------------- small command outputs
def parse_ip_route(text):
    """``ip route show table all`` (or ``ip route``) -> routes of the main table as ``ip -j route`` dicts."""
    out = []
    for line in (text or '').splitlines():
        f = line.split()
        if not f or f[0] in ('broadcast', 'local', 'unreachable', 'prohibit', 'blackhole', 'anycast', 'multicast', 'throw'):
            continue
        if 'table' in f and f[f.index('table') + 1:f.index('table') + 2] not in (['main'],):
            continue
        if ':' in f[0]:
            continue        # IPv6
        r = {'dst': f[0]}
        for key, name in (('via', 'gateway'), ('dev', 'dev'), ('metric', 'metric'), ('src', 'prefsrc')):
            if key in f[1:-1]:
                v = f[f.index(key) + 1]
                r[name] = int(v) if name == 'metric' and v.isdigit() else v
        out.append(r)
    return out


def sysctl_value(text, key):
    """The value of ``key`` in ``sysctl -a`` text (or the whole text of a /proc/sys file), else None."""
    if '=' not in text:
        return text.strip() or None
    for line in text.splitlines():
        k, sep, v = line.partition('=')
        if sep and k.strip() == key:
            return v.strip()
    return None


def neighbours(text):
    """``ip neigh`` text -> {mac: [(ip, dev)]} (IPv4 entries with a link-layer address)."""
    out = {}
    for line in (text or '').splitlines():
        f = line.split()
        if len(f) < 5 or ':' in f[0] or 'lladdr' not in f:
            continue
        mac = f[f.index('lladdr') + 1].lower()
        dev = f[f.index('dev') + 1] if 'dev' in f else None
        out.setdefault(mac, []).append((f[0], dev))
    return out


def _networks_path(nova_conf_path):
    """nova.conf's networks_path (where nova-network keeps each bridge's dnsmasq files), or None."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._novaconf import NovaConfError, analyse
    try:
        conf, dummy = analyse(read_text(nova_conf_path, 'nova.conf'), nova_conf_path)
    except (NovaConfError, SosreportError):
        return None
    return (conf.get('network') or {}).get('networks_path') or None


def local_dnsmasq_ps(ps_text, root, addresses, ifnames, networks_path=None):
    """The dnsmasq lines of ``ps auxwww`` that can run on this host, with their file options pointing into the report.

    A dnsmasq whose ``--listen-address`` is none of the host's addresses, or whose ``--interface`` the host does not
    have, is not this host's (``--bind-interfaces`` would have failed), nor one whose nova-network files
    (``nova-<bridge>.conf``/``.pid``) lie outside the host's ``networks_path`` (nova.conf): it is left out. A file option (hosts file,
    lease file, pid file...) is kept only when sos copied the file, rewritten to the copy; the pid file never (the
    process table of the report says whether dnsmasq ran). Returns (ps text, notes).
    """
    lines, notes = [], []
    for line in (ps_text or '').splitlines():
        if 'dnsmasq' not in line:
            if not lines:
                lines.append(line)      # the header
            continue
        words = line.split()
        if len(words) < 11 or os.path.basename(words[10]) not in ('dnsmasq', 'env'):
            continue
        listen = [w.split('=', 1)[1] for w in words if w.startswith('--listen-address=')]
        ifaces = [w.split('=', 1)[1] for w in words if w.startswith('--interface=')]
        if listen and addresses and not any(a in addresses for v in listen for a in v.split(',')):
            continue
        if ifaces and ifnames and not any(i in ifnames for v in ifaces for i in v.split(',')):
            continue
        files = [w.split('=', 1)[1] for w in words if w.startswith(('--dhcp-hostsfile=', '--pid-file='))]
        nova_files = [f for f in files if os.path.basename(f).startswith('nova-')]
        if networks_path and nova_files and not any(os.path.dirname(f) == networks_path.rstrip('/') for f in nova_files):
            continue    # nova-network of this host keeps its dnsmasq files under its own networks_path
        kept = []
        for w in words:
            opt, sep, val = w.partition('=')
            if sep and opt in _PATH_OPTIONS and val.startswith('/'):
                if opt == '--pid-file':
                    continue
                copy = _inside(root, val.lstrip('/'))
                if copy and os.path.isfile(copy):
                    kept.append('%s=%s' % (opt, copy))
                else:
                    notes.append('%s of dnsmasq not in the report: %s' % (opt.lstrip('-'), val))
                continue
            kept.append(w)
        lines.append(' '.join(kept))
    return '\n'.join(lines) + '\n', notes


# ---------------------------------------------------------------- one host
class _Offline(object):
    """The part of AnsibleModule the gatherers use, for a report: no command runs, no binary is found."""

    def __init__(self):
        self.params = {}

    def run_command(self, args, **kwargs):
        from ansible_collections.cloudops.netdiag.plugins.module_utils._hostinfo import SectionFailed
        raise SectionFailed('offline: %s would need the live host' % (args[0] if isinstance(args, list) and args else args))

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        return None


def _host_name(root):
    rel, path = find(root, 'hostname')
    if path and os.path.isfile(path):
        name = read_text(path, 'host name').strip().split('\n')[0].strip()
        if name:
            return name.split('.')[0], rel
    base = os.path.basename(os.path.normpath(root))
    m = re.match(r'^sosreport-(.+?)(?:-\d{4}-\d{2}-\d{2})?-[a-z0-9]+$', base)
    return (m.group(1) if m else base), None


def _sos_version(root):
    path = _inside(root, 'version.txt')
    if path and os.path.isfile(path):
        for line in read_text(path, 'version').splitlines():
            if line.lower().startswith(('sos', 'sosreport')):
                return line.split(':', 1)[-1].strip()
    return None


def read_sosreport(root):
    """Facts of the host of the sosreport tree ``root``: {host, kind, path, sos_version, facts, routing, neigh,
    read_from, missing, notes}. ``facts`` holds, per facts module, its result as the module returns it (or
    ``{failed, msg}``), or None when the report holds none of its files."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._hostinfo import gather_sections
    if not is_sosreport(root):
        raise SosreportError('%s is not a sosreport (no sos_commands/ with sos_logs/ or version.txt)' % root)
    host, dummy = _host_name(root)
    out = {'host': host, 'kind': 'sosreport', 'path': root, 'sos_version': _sos_version(root), 'facts': {},
           'routing': {}, 'neigh': {}, 'read_from': {}, 'missing': {}, 'notes': []}

    def text(key, what, *fmt):
        rel, path = find(root, key, *fmt)
        if not path or not os.path.isfile(path):
            return None
        out['read_from'].setdefault(key if not fmt else '%s:%s' % (key, fmt[0]), rel)
        try:
            return read_text(path, what)
        except SosreportError as exc:
            out['notes'].append(str(exc))
            return None

    def missing(fact, *keys):
        looked = [r % t if '%s' in r else r for k in keys for r in FILES[k] for t in (TABLES if '%s' in r else ('',))]
        out['missing'][fact] = 'not in the report (looked for %s)' % ', '.join(looked[:6])

    requested = {}
    t = text('interfaces', 'ip -d address')
    if t is not None:
        requested['interface_info'] = {'src': t}
    else:
        missing('interface_info', 'interfaces')
    save = text('iptables_save', 'iptables-save')
    if save is None:
        listings = {}
        for table in TABLES:
            lt = text('iptables_listing', 'iptables -t %s -nvL' % table, table)
            if lt is not None:
                listings[table] = lt
        if 'filter' not in listings:
            lt = text('iptables_filter_listing', 'iptables -vnxL')
            if lt is not None:
                listings['filter'] = lt
        if listings:
            try:
                save = listing_to_save(listings)
            except SosreportError as exc:
                out['notes'].append(str(exc))
            if 'nat' not in listings:
                out['notes'].append('the report has no nat table listing (sos lists only the tables in /proc/net/ip_tables_names, '
                                    'empty with iptables-nft): floating IP NAT not checkable offline')
                out['no_nat_table'] = True
    if save:
        requested['iptables_info'] = {'src': save}
    elif 'iptables_info' not in out['missing']:
        missing('iptables_info', 'iptables_save', 'iptables_listing', 'iptables_filter_listing')
    t = text('ebtables', 'ebtables-save')
    if t is not None:
        requested['ebtables_info'] = {'src': t}
    else:
        missing('ebtables_info', 'ebtables')
    rel, path = find(root, 'libvirt')
    if path and os.path.isdir(path):
        out['read_from']['libvirt'] = rel
        requested['libvirt_domain_info'] = {'path': path, 'pattern': '*.xml', 'use_virsh': False}
    else:
        missing('libvirt_domain_info', 'libvirt')
    rel, path = find(root, 'nova_conf')
    if path and os.path.isfile(path):
        out['read_from']['nova_conf'] = rel
        requested['nova_conf_info'] = {'path': path}
    else:
        missing('nova_conf_info', 'nova_conf')
    iface_text = requested.get('interface_info', {}).get('src') or ''
    addresses = set(re.findall(r'inet6? ([0-9a-fA-F:.]+)/', iface_text))
    ifnames = set(re.findall(r'^\d+: ([^:@\s]+)', iface_text, re.M))
    ps = text('ps', 'ps auxwww')
    if ps is not None:
        conf_path = (requested.get('nova_conf_info') or {}).get('path')
        ps, notes = local_dnsmasq_ps(ps, root, addresses, ifnames, _networks_path(conf_path) if conf_path else None)
        out['notes'].extend(notes)
        rel, state = find(root, 'nova_state')
        rel_log, log = find(root, 'syslog')
        if rel_log:
            out['read_from']['syslog'] = rel_log
        else:
            out['notes'].append('no syslog in the report (sos takes the journal where systemd-journald runs): DHCP events '
                                'not checkable offline')
        requested['dnsmasq_info'] = {'ps_output': ps, 'state_dir': state if state and os.path.isdir(state) else None,
                                     'log_path': log if log else None}
    else:
        missing('dnsmasq_info', 'ps')
    facts, dummy = gather_sections(_Offline(), requested)
    _attach_bridges(facts)
    for name in ('interface_info', 'iptables_info', 'ebtables_info', 'libvirt_domain_info', 'nova_conf_info', 'dnsmasq_info'):
        out['facts'][name] = facts.get(name)
    t = text('routes', 'ip route')
    if t is not None:
        from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import parse_proc_route
        out['routing']['route'] = parse_proc_route(t) if 'Iface' in t.split('\n', 1)[0] else parse_ip_route(t)
    else:
        missing('routing', 'routes')
    t = text('sysctl', 'sysctl -a')
    if t is not None:
        out['routing']['ip_forward'] = sysctl_value(t, 'net.ipv4.ip_forward')
    t = text('neigh', 'ip neigh')
    out['neigh'] = neighbours(t) if t else {}
    rel, inst = find(root, 'instances')
    out['instances_dir'] = inst if inst and os.path.isdir(inst) else None
    return out


def _attach_bridges(facts):
    """dnsmasq_info on ps output knows no address of the host: name the bridge of each process by its listen address."""
    dm = (facts.get('dnsmasq_info') or {}).get('dnsmasq') or {}
    ifs = (facts.get('interface_info') or {}).get('interfaces') or []
    by_addr = {}
    for i in ifs:
        for a in i.get('addresses') or []:
            if isinstance(a, dict) and a.get('address'):
                by_addr.setdefault(str(a['address']).split('/', maxsplit=1)[0], i.get('name'))
    for p in dm.get('processes') or []:
        if p.get('bridge'):
            continue
        for addr in (p.get('args') or {}).get('listen_addresses') or []:
            if by_addr.get(addr) and by_addr[addr] != 'lo':
                p['bridge'], p['bridge_source'] = by_addr[addr], 'listen-address'
                break
