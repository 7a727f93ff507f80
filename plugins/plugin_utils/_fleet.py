# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet summary of a ``collect`` directory (private, controller side, standard library only).

The ``collect`` role writes one JSON document per host (``<dir>/hosts/<host>.json``: the host's groups
and, per fact module, its result or its error). ``summarize(docs)`` turns those documents into the
fleet summary (interfaces down, bridge problems, dead dnsmasq, DHCP failures by MAC, instances without a
lease or without metadata, nova.conf disagreements, modules that failed), ``render_text`` into the short
human summary. The same code runs in the play (filters ``netdiag_fleet_summary`` / ``netdiag_fleet_text``)
and offline on a copied directory::

    python -m ansible_collections.cloudops.netdiag.plugins.plugin_utils._fleet DIR [--json]
    python plugins/plugin_utils/_fleet.py DIR [--json]
"""

from __future__ import annotations

import glob
import json
import os
import sys

SUMMARY_VERSION = 1
FACT_MODULES = ('interface_info', 'bridge_info', 'iptables_info', 'dnsmasq_info', 'libvirt_domain_info',
                'nova_conf_info', 'console_log_info')
DHCP_FAILURE_RESULTS = ('no_address_available', 'discover_only', 'offer_without_request', 'request_without_ack',
                        'nak', 'ignored', 'never_seen')


class FleetError(Exception):
    """A collect directory or document that cannot be read."""


def load_dir(path):
    """Host documents of a collect directory, sorted by host name."""
    hosts_dir = os.path.join(path, 'hosts')
    if not os.path.isdir(hosts_dir):
        raise FleetError('%s is not a collect directory (no hosts/ subdirectory)' % path)
    docs = []
    for fn in sorted(glob.glob(os.path.join(glob.escape(hosts_dir), '*.json'))):
        try:
            with open(fn, encoding='utf-8') as f:
                doc = json.load(f)
        except (OSError, ValueError) as exc:
            raise FleetError('cannot read host document %s: %s' % (fn, exc))
        if not isinstance(doc, dict) or 'host' not in doc:
            raise FleetError('%s is not a collect host document (no "host" key)' % fn)
        docs.append(doc)
    return docs


def _mod(doc, name):
    """(result dict or None, error str or None) of one module in a host document."""
    m = (doc.get('modules') or {}).get(name)
    if not isinstance(m, dict):
        return None, None
    if m.get('failed'):
        return None, m.get('msg') or 'failed'
    return m, None


def _problems(result):
    return [p for p in (result or {}).get('problems') or [] if isinstance(p, dict)]


def summarize(docs):
    """Host documents -> fleet summary dict (plain JSON types)."""
    hosts = []
    problems = []
    module_errors = []
    interfaces_down = []
    bridge_problems = []
    dead_dnsmasq = []
    dnsmasq_processes = 0
    mac_hosts = {}
    instances = []
    managers = {}
    for doc in sorted(docs, key=lambda d: str(d.get('host'))):
        host = str(doc.get('host'))
        entry = {'host': host, 'groups': doc.get('groups') or [], 'modules_ok': [], 'modules_failed': [],
                 'problems': 0}
        for name in FACT_MODULES:
            res, err = _mod(doc, name)
            if err is not None:
                entry['modules_failed'].append(name)
                module_errors.append({'host': host, 'module': name, 'message': err})
            elif res is not None:
                entry['modules_ok'].append(name)
                for p in _problems(res):
                    problems.append(dict(p, host=host, module=name))
                    entry['problems'] += 1
        itf, dummy = _mod(doc, 'interface_info')
        for i in (itf or {}).get('interfaces') or []:
            if i.get('ignorable'):
                continue
            codes = [p.get('code') for p in i.get('problems') or []]
            if codes:
                interfaces_down.append({'host': host, 'netns': i.get('netns'), 'interface': i.get('name'),
                                        'master': i.get('master'), 'operstate': i.get('operstate'), 'codes': codes})
        br, dummy = _mod(doc, 'bridge_info')
        for p in _problems(br):
            bridge_problems.append({'host': host, 'code': p.get('code'), 'object': p.get('object'),
                                    'message': p.get('message')})
        dm, dummy = _mod(doc, 'dnsmasq_info')
        if dm:
            facts = dm.get('dnsmasq') or {}
            dnsmasq_processes += len([p for p in facts.get('processes') or [] if p.get('role') != 'helper'])
            for p in _problems(dm):
                if p.get('code') == 'dhcp_server_down':
                    dead_dnsmasq.append({'host': host, 'bridge': p.get('object'), 'message': p.get('message')})
            for mac, st in ((facts.get('log') or {}).get('macs') or {}).items():
                mac_hosts.setdefault(mac, []).append({
                    'host': host, 'result': st.get('result'), 'counts': st.get('counts') or {},
                    'last_seen': st.get('last_seen'), 'evidence': (st.get('evidence') or [])[-3:]})
        nc, dummy = _mod(doc, 'nova_conf_info')
        if nc:
            net = (nc.get('nova_conf') or {}).get('network') or {}
            managers[host] = net.get('network_manager_short')
        dom, dummy = _mod(doc, 'libvirt_domain_info')
        consoles = {}
        con, dummy = _mod(doc, 'console_log_info')
        for item in (con or {}).get('results') or []:
            cl = item.get('console_log') if isinstance(item, dict) else None
            if cl:
                consoles[cl.get('path')] = item
                for p in _problems(item):
                    problems.append(dict(p, host=host, module='console_log_info', path=cl.get('path')))
                    entry['problems'] += 1
            elif isinstance(item, dict) and item.get('failed'):
                module_errors.append({'host': host, 'module': 'console_log_info',
                                      'message': item.get('msg') or 'failed on %s' % item.get('item')})
        for d in (dom or {}).get('domains') or []:
            c = consoles.get(d.get('console_log'))
            cl = (c or {}).get('console_log') or {}
            instances.append({
                'host': host, 'domain': d.get('name'), 'display_name': d.get('display_name'),
                'uuid': d.get('instance_uuid'),
                'macs': [i.get('mac') for i in d.get('interfaces') or [] if i.get('mac')],
                'console_result': cl.get('result'), 'lease': (cl.get('lease') or {}).get('address'),
                'console_problems': [p.get('code') for p in (c or {}).get('problems') or []],
                'console_error': (c or {}).get('msg') if (c or {}).get('failed') else None})
        hosts.append(entry)
    dhcp_failures = []
    for mac in sorted(mac_hosts):
        seen = mac_hosts[mac]
        if any(s['result'] == 'complete' for s in seen):
            continue  # answered somewhere: another host's "no address available" is multi_host noise
        bad = [s for s in seen if s['result'] in DHCP_FAILURE_RESULTS]
        if bad:
            dhcp_failures.append({'mac': mac, 'results': sorted(set(s['result'] for s in bad)), 'hosts': bad})
    no_lease = [i for i in instances if i['console_result'] == 'dhcp_no_lease']
    for i in no_lease:
        # what the DHCP servers saw of this instance's MACs: nothing recent means the request never reached them
        i['dnsmasq_view'] = [dict(mac=m, host=s['host'], result=s['result'], last_seen=s['last_seen'])
                             for m in i['macs'] for s in mac_hosts.get(m, [])]
    no_metadata = [i for i in instances if 'metadata_unreachable' in i['console_problems']]
    for f in dhcp_failures:
        f['instances'] = [i['display_name'] or i['domain'] for i in instances if f['mac'] in i['macs']]
    distinct = sorted(set(m for m in managers.values() if m))
    config = []
    if len(distinct) > 1:
        config.append({'code': 'network_manager_mismatch',
                       'message': 'compute nodes disagree on network_manager: %s' % ', '.join(
                           '%s=%s' % (h, m) for h, m in sorted(managers.items())),
                       'hosts': sorted(managers)})
    counts = {}
    for p in problems:
        counts[p.get('code')] = counts.get(p.get('code'), 0) + 1
    return {
        'version': SUMMARY_VERSION,
        'hosts': hosts,
        'host_count': len(hosts),
        'hosts_with_errors': sorted(set(e['host'] for e in module_errors)),
        'module_errors': module_errors,
        'interfaces_down': interfaces_down,
        'bridge_problems': bridge_problems,
        'dnsmasq_processes': dnsmasq_processes,
        'dead_dnsmasq': dead_dnsmasq,
        'dhcp_failures_by_mac': dhcp_failures,
        'instances': instances,
        'instances_without_lease': [dict(host=i['host'], instance=i['display_name'] or i['domain'], uuid=i['uuid'],
                                         macs=i['macs'], dnsmasq_view=i['dnsmasq_view']) for i in no_lease],
        'instances_without_metadata': [dict(host=i['host'], instance=i['display_name'] or i['domain'], uuid=i['uuid'])
                                       for i in no_metadata],
        'network_managers': managers,
        'config_problems': config,
        'problem_counts': counts,
        'problems': problems,
        'healthy': not (interfaces_down or bridge_problems or dead_dnsmasq or dhcp_failures or no_lease or no_metadata
                        or config or module_errors),
    }


def render_text(summary, limit=10):
    """The short human summary (a few lines per finding kind)."""
    s = summary
    out = ['netdiag collect: %d host(s), %d with module errors, %d dnsmasq running, %d problem(s) -> %s' % (
        s['host_count'], len(s['hosts_with_errors']), s['dnsmasq_processes'], len(s['problems']),
        'healthy' if s['healthy'] else 'ATTENTION')]

    def section(title, items, fmt):
        if not items:
            return
        out.append('%s (%d):' % (title, len(items)))
        for it in items[:limit]:
            out.append('  - ' + fmt(it))
        if len(items) > limit:
            out.append('  - ... %d more' % (len(items) - limit))

    section('interfaces down', s['interfaces_down'], lambda i: '%s %s%s: %s' % (
        i['host'], (i['netns'] + '/') if i['netns'] else '', i['interface'], ', '.join(i['codes'])))
    section('bridge problems', s['bridge_problems'], lambda b: '%s: %s' % (b['host'], b['message']))
    section('dead dnsmasq', s['dead_dnsmasq'], lambda d: '%s %s: %s' % (d['host'], d['bridge'], d['message']))
    section('DHCP failures by MAC', s['dhcp_failures_by_mac'], lambda f: '%s%s: %s' % (
        f['mac'], (' (%s)' % ', '.join(f['instances'])) if f.get('instances') else '',
        '; '.join('%s on %s' % (h['result'], h['host']) for h in f['hosts'])))

    def lease_line(i):
        seen = i.get('dnsmasq_view') or []
        if not seen:
            how = 'its MAC is in no DHCP log read'
        else:
            how = '; '.join('dnsmasq on %s: last %s at %s' % (v['host'], v['result'], v['last_seen']) for v in seen)
        down = [d['bridge'] for d in s['dead_dnsmasq'] if d['host'] == i['host']]
        return '%s on %s (%s%s)' % (i['instance'], i['host'], how,
                                    '; dnsmasq down on %s' % ', '.join(down) if down else '')

    section('instances without a DHCP lease (console log)', s['instances_without_lease'], lease_line)
    section('instances without metadata (console log)', s['instances_without_metadata'],
            lambda i: '%s on %s' % (i['instance'], i['host']))
    section('configuration', s['config_problems'], lambda c: c['message'])
    section('module errors', s['module_errors'], lambda e: '%s %s: %s' % (e['host'], e['module'], e['message']))
    return '\n'.join(out)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = '--json' in argv
    args = [a for a in argv if a != '--json']
    if len(args) != 1:
        sys.stderr.write('usage: _fleet.py COLLECT_DIR [--json]\n')
        return 2
    try:
        summary = summarize(load_dir(args[0]))
    except FleetError as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 1
    sys.stdout.write((json.dumps(summary, indent=2, sort_keys=True) if as_json else render_text(summary)) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
