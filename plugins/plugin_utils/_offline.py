# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline diagnosis (private): a verdict from sosreports and collected bundles, without the hosts.

``load(source)`` reads every host found under ``source``: an unpacked sosreport, a sosreport archive
(``.tar.xz``, ``.tar.gz``, ...), a bundle of ``collect_network_facts.yml`` (``hosts/<host>.json``), one such
host document, or a directory holding any mix of them. ``evidence(hosts, instance)`` finds the instance
in the hosts' libvirt domains and builds the same evidence ``diagnose_instance`` builds live, with no probe:
the verdict engine then evaluates the same rules, and what only a live probe can show is listed as not
checkable offline. Nothing here runs a command or reads a path outside the source.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _sosreport
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import nova_settings
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._hops import build_hops

ARCHIVES = ('.tar.xz', '.tar.gz', '.tgz', '.tar.bz2', '.tbz2', '.tar')
MAX_ARCHIVE_BYTES = 4 * 1024 ** 3
MAX_HOST_DOC = 256 * 1024 * 1024
# what only the live hosts can show, in the operator's words
LIVE_ONLY = (
    ('probes', 'the ping ladder (instance -> compute node -> gateway -> outside) needs the live hosts'),
    ('capture', 'the synchronized per-hop capture needs the live hosts'),
    ('counters', 'which iptables/ebtables counters move while a probe runs needs the live hosts'),
    ('dns', 'the DNS lookups through the instance\'s resolver need the live dnsmasq'),
    ('dhcp_probe', 'a DHCP request on the instance\'s bridge needs the live host'),
)


class OfflineError(Exception):
    """The source cannot be read, or the instance is not in it."""


# ---------------------------------------------------------------- sources
def _is_archive(path):
    return os.path.isfile(path) and path.lower().endswith(ARCHIVES)


def _safe_extract(path, dest):
    """Extract the archive ``path`` into ``dest``, refusing members that would leave it; return ``dest``."""
    try:
        with tarfile.open(path) as tar:
            total = 0
            members = []
            for m in tar:
                name = m.name.lstrip('./') if m.name.startswith('./') else m.name
                if name.startswith('/') or '..' in name.split('/'):
                    raise OfflineError('archive %s: member %r would be written outside the report' % (path, m.name))
                if m.issym() or m.islnk():
                    target = os.path.normpath(os.path.join(os.path.dirname(name), m.linkname)) if m.issym() else m.linkname
                    if m.linkname.startswith('/') or target.startswith('..'):
                        continue        # a link out of the report (sos keeps some): not followed
                elif not (m.isfile() or m.isdir()):
                    continue            # devices, fifos
                total += max(m.size, 0)
                if total > MAX_ARCHIVE_BYTES:
                    raise OfflineError('archive %s unpacks to more than %d bytes' % (path, MAX_ARCHIVE_BYTES))
                members.append(m)
            kw = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
            for m in members:
                try:
                    tar.extract(m, dest, **kw)
                except tarfile.FilterError:   # pylint: disable=no-member
                    continue
    except OfflineError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise OfflineError('archive %s cannot be read (truncated or not a tar archive): %s' % (path, exc))
    return dest


def _host_doc(path):
    """A host document of collect_network_facts.yml -> host record; OfflineError naming the file when it is not one."""
    try:
        if os.path.getsize(path) > MAX_HOST_DOC:
            raise OfflineError('%s is larger than %d bytes' % (path, MAX_HOST_DOC))
        with open(path, 'rb') as f:
            doc = json.loads(f.read().decode('utf-8'))
    except (OSError, UnicodeDecodeError) as exc:
        raise OfflineError('cannot read %s: %s' % (path, getattr(exc, 'strerror', None) or exc))
    except ValueError as exc:
        raise OfflineError('%s is not JSON (truncated?): %s' % (path, exc))
    if not isinstance(doc, dict) or not isinstance(doc.get('modules'), dict) or not isinstance(doc.get('host'), str):
        raise OfflineError('%s is not a host document of collect_network_facts.yml (no "host" and "modules")' % path)
    mods = doc['modules']
    facts = {k: v if isinstance(v, dict) else None for k, v in mods.items() if k not in ('console_log_info', 'routing')}
    routing = mods.get('routing') if isinstance(mods.get('routing'), dict) and not mods['routing'].get('failed') else {}
    missing = {}
    for name in ('interface_info', 'iptables_info', 'ebtables_info', 'libvirt_domain_info', 'nova_conf_info', 'dnsmasq_info'):
        if facts.get(name) is None:
            missing[name] = 'not collected in %s' % os.path.basename(path)
    if not routing:
        missing['routing'] = 'not collected in %s (collect role before routing was added, or it failed)' % os.path.basename(path)
    return {'host': doc['host'], 'kind': 'bundle', 'path': path, 'groups': doc.get('groups') or [], 'facts': facts,
            'routing': routing, 'neigh': {}, 'missing': missing, 'notes': [],
            'console_logs': (mods.get('console_log_info') or {}).get('results') or [] if isinstance(mods.get('console_log_info'), dict) else []}


def _scan(path, workdir, depth=0):
    """Host records under ``path`` and the errors of what could not be read there."""
    hosts, errors = [], []
    if _is_archive(path):
        dest = tempfile.mkdtemp(prefix='unpack-', dir=workdir)
        try:
            _safe_extract(path, dest)
        except OfflineError as exc:
            return [], [str(exc)]
        found, errs = _scan(dest, workdir, depth)
        if not found and not errs:
            errs = ['archive %s holds no sosreport and no collected bundle' % path]
        return found, errs
    if os.path.isfile(path):
        if path.endswith('.json'):
            try:
                return [_host_doc(path)], []
            except OfflineError as exc:
                return [], [str(exc)]
        return [], ['%s is neither a sosreport archive (%s) nor a host document (.json)' % (path, ', '.join(ARCHIVES))]
    if not os.path.isdir(path):
        return [], ['%s does not exist' % path]
    if _sosreport.is_sosreport(path):
        try:
            return [_sosreport.read_sosreport(path)], []
        except _sosreport.SosreportError as exc:
            return [], [str(exc)]
    if os.path.isdir(os.path.join(path, 'hosts')):
        for name in sorted(os.listdir(os.path.join(path, 'hosts'))):
            if name.endswith('.json'):
                h, e = _scan(os.path.join(path, 'hosts', name), workdir, depth + 1)
                hosts += h
                errors += e
        return hosts, errors
    if depth >= 2:
        return [], []
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        return [], ['cannot list %s: %s' % (path, exc.strerror)]
    for name in names:
        sub = os.path.join(path, name)
        if name.startswith('.') or name.endswith(('.md5', '.sha256')):
            continue
        if os.path.isdir(sub) or _is_archive(sub) or (depth == 0 and name.endswith('.json') and name != 'fleet-summary.json'):
            h, e = _scan(sub, workdir, depth + 1)
            hosts += h
            errors += e
    return hosts, errors


def load(source, workdir):
    """Every host under ``source`` (archives unpacked under ``workdir``): (hosts, errors).

    OfflineError when nothing readable is found; a host found twice (a sosreport and a bundle of the same
    host) keeps both, the bundle first (it holds more)."""
    if not isinstance(source, str) or not source:
        raise OfflineError('source must be a path to a sosreport, an archive, a bundle or a directory of them')
    if not os.path.exists(source):
        raise OfflineError('source %s does not exist' % source)
    hosts, errors = _scan(os.path.abspath(source), workdir)
    if not hosts:
        raise OfflineError('no sosreport and no collected bundle could be read in %s%s' % (
            source, (': ' + '; '.join(errors[:5])) if errors else
            ' (looked for sos_commands/, hosts/*.json, sosreport-*%s)' % ', '.join(ARCHIVES[:3])))
    hosts.sort(key=lambda h: (h['host'], 0 if h['kind'] == 'bundle' else 1))
    return hosts, errors


# ---------------------------------------------------------------- the instance
def _ok(result):
    return result if isinstance(result, dict) and not result.get('failed') else None


def _domains(h):
    r = _ok(h['facts'].get('libvirt_domain_info'))
    return (r or {}).get('domains') or []


def find_instance(hosts, name):
    """(host record, domain) of the instance called ``name`` (domain name, uuid or nova's display name)."""
    if not isinstance(name, str) or not name.strip():
        raise OfflineError('instance must be the name, display name or uuid of an instance')
    name = name.strip()
    seen, hits = [], []
    for h in hosts:
        for d in _domains(h):
            nova = d.get('nova') or {}
            keys = [d.get('name'), d.get('uuid'), nova.get('name')]
            seen.append('%s (%s)' % (nova.get('name') or d.get('name'), h['host']))
            if name in [k for k in keys if k]:
                hits.append((h, d))
    if not hits:
        for h in hosts:
            for d in _domains(h):
                keys = [str(k).lower() for k in (d.get('name'), d.get('uuid'), (d.get('nova') or {}).get('name')) if k]
                if name.lower() in keys:
                    hits.append((h, d))
    uniq = {(h['host'], d.get('uuid') or d.get('name')): (h, d) for h, d in hits}
    if not uniq:
        readable = [h['host'] for h in hosts if _ok(h['facts'].get('libvirt_domain_info'))]
        if not readable:
            raise OfflineError('no libvirt domain could be read in the reports of %s: cannot find instance %s offline'
                               % (', '.join(sorted({h['host'] for h in hosts})), name))
        raise OfflineError('instance %s is not among the libvirt domains of %s (domains: %s)' % (
            name, ', '.join(sorted(set(readable))), ', '.join(seen[:20]) or 'none'))
    if len({k[1] for k in uniq}) > 1:
        raise OfflineError('%s names several instances: %s; give its uuid' % (
            name, ', '.join('%s on %s' % (d.get('uuid') or d.get('name'), h['host']) for h, d in uniq.values())))
    return next(iter(uniq.values()))


def _fixed_ip(h, mac, bridge):
    """(address, where it was read) of the instance's fixed IP: the hosts file, the DHCP log, the neighbour table."""
    dm = (_ok(h['facts'].get('dnsmasq_info')) or {}).get('dnsmasq') or {}
    for f in dm.get('hosts_files') or []:
        for e in f.get('entries') or []:
            if mac in [str(m).lower() for m in e.get('macs') or []] and e.get('ip'):
                return e['ip'], 'dnsmasq hosts file %s' % f.get('path')
    st = ((dm.get('log') or {}).get('macs') or {}).get(mac) or {}
    if st.get('ips'):
        return st['ips'][-1], 'DHCP log (%s)' % (dm.get('log') or {}).get('path')
    for ip, dev in (h.get('neigh') or {}).get(mac) or []:
        if not bridge or dev == bridge:
            return ip, 'neighbour table (ip neigh) on %s' % dev
    return None, None


def _floating_ips(h, fixed):
    """Floating IPs whose DNAT targets ``fixed`` in the host's nat table."""
    ipt = (_ok(h['facts'].get('iptables_info')) or {}).get('iptables') or {}
    out = []
    for chain in (((ipt.get('tables') or {}).get('nat') or {}).get('chains') or {}).values():
        for r in chain.get('rules') or []:
            if r.get('target') != 'DNAT' or not fixed:
                continue
            to = str((r.get('target_args') or {}).get('to-destination') or r.get('to_destination') or '')
            dst = str(r.get('destination') or '')
            if to.split(':', maxsplit=1)[0] == fixed and dst.endswith('/32'):
                out.append(dst[:-3])
            elif to.split(':', maxsplit=1)[0] == fixed and dst and '/' not in dst:
                out.append(dst)
    return sorted(set(out))


def _console(h, dom):
    """The console_log_info result of the domain, from the bundle or from the report's copy of the file."""
    path = dom.get('console_log')
    for r in h.get('console_logs') or []:
        if isinstance(r, dict) and path and (r.get('item') == path or (r.get('invocation') or {}).get('module_args', {}).get('path') == path):
            return r.get('console_log') if not r.get('failed') else None, None if not r.get('failed') else r.get('msg')
    inst_dir = h.get('instances_dir')
    if inst_dir and dom.get('uuid'):
        copy = os.path.join(inst_dir, str(dom['uuid']), 'console.log')
        if os.path.isfile(copy):
            from ansible_collections.cloudops.netdiag.plugins.module_utils._console import ConsoleError, analyse_file
            try:
                return analyse_file(copy)[0], None
            except ConsoleError as exc:
                return None, str(exc)
    return None, 'console log not in the %s' % ('bundle' if h['kind'] == 'bundle' else 'report (sos does not copy nova\'s console.log)')


def _guest(hosts, compute, mac):
    """(host, interfaces) of the instance itself when the source holds its facts (a collected bundle of an inventory
    that reaches the guests): the host, other than the compute node, with an interface of the instance's MAC."""
    if not mac:
        return None, None
    for h in hosts:
        if h['host'] == compute['host']:
            continue
        ifs = (_ok(h['facts'].get('interface_info')) or {}).get('interfaces') or []
        if any(str(i.get('mac') or i.get('address') or '').lower() == mac for i in ifs if isinstance(i, dict)):
            return h['host'], ifs
    return None, None


def evidence(hosts, name, symptom=None):
    """The evidence of instance ``name`` from the host records, for ``_engine.evaluate``."""
    h, dom = find_instance(hosts, name)
    ifs = [i for i in dom.get('interfaces') or [] if isinstance(i, dict)]
    nic = next((i for i in ifs if i.get('mac')), {})
    mac = str(nic.get('mac') or '').lower()
    bridge = nic.get('bridge') or nic.get('source_bridge')
    f = h['facts']
    conf = (_ok(f.get('nova_conf_info')) or {}).get('nova_conf')
    fixed, fixed_from = _fixed_ip(h, mac, bridge)
    floating = _floating_ips(h, fixed)
    nova = dom.get('nova') or {}
    settings = nova_settings(conf) if conf else {}
    inst = {'uuid': dom.get('uuid'), 'hostname': nova.get('name') or dom.get('name'), 'display_name': nova.get('name'),
            'host': h['host'], 'name': dom.get('name'),
            'fixed_ips': [{'address': fixed, 'mac': mac or None, 'bridge': bridge,
                           'network': {'bridge': bridge, 'multi_host': settings.get('multi_host')}}] if (fixed or mac) else [],
            'floating_ips': floating}
    interfaces = (_ok(f.get('interface_info')) or {}).get('interfaces')
    routes = (h.get('routing') or {}).get('route')
    guest, gifs = _guest(hosts, h, mac)
    hops = build_hops(inst, domains=_domains(h), nova_conf=conf, routes=routes, interfaces=interfaces, compute_host=h['host'],
                      guest_host=guest, guest_interfaces=gifs)
    clog, clog_err = _console(h, dom)
    facts = {'interfaces': interfaces, 'bridges': None,
             'iptables': (_ok(f.get('iptables_info')) or {}).get('iptables'),
             'ebtables': (_ok(f.get('ebtables_info')) or {}).get('ebtables'),
             'dnsmasq': (_ok(f.get('dnsmasq_info')) or {}).get('dnsmasq'),
             'domains': _domains(h), 'nova_conf': conf, 'console_log': clog, 'routes': routes,
             'ip_forward': (h.get('routing') or {}).get('ip_forward') or None}
    if (h.get('no_nat_table')) and facts['iptables']:
        facts['iptables'] = dict(facts['iptables'], no_nat_table=True)
    errors = ['%s on %s: %s' % (k, h['host'], v.get('msg')) for k, v in f.items() if isinstance(v, dict) and v.get('failed')]
    not_checkable = [{'what': k, 'reason': why} for k, why in LIVE_ONLY]
    for k, why in sorted(h.get('missing', {}).items()):
        not_checkable.append({'what': k, 'reason': '%s: %s' % (h['host'], why)})
    if clog_err:
        not_checkable.append({'what': 'console_log_info', 'reason': '%s: %s' % (h['host'], clog_err)})
    if not fixed:
        not_checkable.append({'what': 'fixed_ip', 'reason': 'the instance\'s fixed IP is in no hosts file, DHCP log or neighbour '
                                                            'table of the report'})
    if h.get('no_nat_table'):
        not_checkable.append({'what': 'nat', 'reason': '%s: no nat table in the report: floating IP NAT not checkable' % h['host']})
    all_facts = {h['host']: facts}
    if guest:
        all_facts[guest] = {'interfaces': gifs}
    return {
        'backend': 'nova-network', 'instance': inst, 'compute_host': h['host'], 'guest_host': guest, 'hops': hops,
        'hosts': all_facts, 'probes': [], 'capture': {}, 'counters': [], 'fact_errors': errors,
        'reported_symptom': symptom or None,
        'offline': {'compute_host': h['host'], 'source': h['path'], 'kind': h['kind'], 'fixed_ip_from': fixed_from,
                    'not_checkable': not_checkable, 'notes': list(h.get('notes') or [])},
    }


def workdir():
    """A private scratch directory for unpacked archives (the caller removes it with ``cleanup``)."""
    return tempfile.mkdtemp(prefix='netdiag-offline-')


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)


def host_summary(hosts):
    return [{'host': h['host'], 'kind': h['kind'], 'path': h['path'], 'sos_version': h.get('sos_version'),
             'missing': sorted(h.get('missing') or {}), 'groups': h.get('groups') or []} for h in hosts]
