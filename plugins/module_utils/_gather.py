# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each facts module does, as one function per module: its argument spec and its gatherer (private).

A module's ``main()`` builds its AnsibleModule from ``SPECS[name]`` and returns ``GATHER[name](module, params)``.
``host_info`` runs several gatherers in one process, concurrently, each on its own validated options, with a
stand-in for the module (``_hostinfo.Section``) whose ``fail_json`` ends only that section.  A gatherer reads; it
never changes the host.  It returns the module's result without ``changed``.

Gatherers use of the module only: ``fail_json(msg)``, ``warn``, ``run_command``, ``get_bin_path`` and ``params``.
Each imports its parser when it runs, so that a module (or a host_info call) pays only for what it reads.
"""

from __future__ import annotations

import ipaddress
import os

SPECS = {
    'interface_info': dict(argument_spec=dict(
        netns=dict(type='list', elements='str'),
        name=dict(type='list', elements='str'),
        src=dict(type='str'),
        fields=dict(type='list', elements='str'),
    ), mutually_exclusive=[('netns', 'src')]),
    'iptables_info': dict(argument_spec=dict(
        backend=dict(type='str', default='auto', choices=['auto', 'nft', 'legacy']),
        netns=dict(type='str'),
        table=dict(type='list', elements='str'),
        src=dict(type='str'),
        compare_to=dict(type='raw'),
        flow=dict(type='dict', options=dict(
            src=dict(type='str', required=True),
            dst=dict(type='str', required=True),
            proto=dict(type='str'),
            dport=dict(type='int'),
            sport=dict(type='int'),
            in_iface=dict(type='str'),
            out_iface=dict(type='str'),
            table=dict(type='str', default='filter'),
        )),
        floating_ip=dict(type='list', elements='str'),
    ), mutually_exclusive=[('netns', 'src')]),
    'ebtables_info': dict(argument_spec=dict(
        backend=dict(type='str', default='auto', choices=['auto', 'nft', 'legacy']),
        netns=dict(type='str'),
        table=dict(type='list', elements='str'),
        src=dict(type='str'),
        compare_to=dict(type='raw'),
    ), mutually_exclusive=[('netns', 'src')]),
    'libvirt_domain_info': dict(argument_spec=dict(
        path=dict(type='path'),
        pattern=dict(type='str', default='instance-*.xml'),
        name=dict(type='list', elements='str'),
        uri=dict(type='str'),
        use_virsh=dict(type='bool', default=True),
        timeout=dict(type='float', default=30),
        mac=dict(type='list', elements='str'),
        uuid=dict(type='list', elements='str'),
    )),
    'nova_conf_info': dict(argument_spec=dict(
        path=dict(type='path', default='/etc/nova/nova.conf'),
        hide_secrets=dict(type='bool', default=True),
    )),
    'dnsmasq_info': dict(argument_spec=dict(
        state_dir=dict(type='path', default='/var/lib/nova/networks'),
        log_path=dict(type='path', default='/var/log/syslog'),
        log_required=dict(type='bool', default=False),
        mac=dict(type='list', elements='str'),
        since=dict(type='str'),
        max_lines=dict(type='int', default=0),
        max_bytes=dict(type='int', default=104857600),
        netns=dict(type='str'),
        all_namespaces=dict(type='bool', default=False),
        ps_output=dict(type='str'),
    ), mutually_exclusive=[('ps_output', 'netns'), ('ps_output', 'all_namespaces')]),
    'ovs_info': dict(argument_spec=dict(
        db=dict(type='str', default='unix:/var/run/openvswitch/db.sock'),
        rundir=dict(type='path'),
        bridges=dict(type='list', elements='str'),
        flows=dict(type='bool', default=False),
        statistics=dict(type='bool', default=False),
        trace=dict(type='list', elements='dict', options=dict(bridge=dict(type='str', required=True), flow=dict(type='str', required=True))),
        timeout=dict(type='float', default=10),
    )),
    'ovn_info': dict(argument_spec=dict(
        nb_db=dict(type='str'),
        sb_db=dict(type='str'),
        trace=dict(type='list', elements='dict', options=dict(datapath=dict(type='str', required=True),
                                                              microflow=dict(type='str', required=True),
                                                              ct=dict(type='str', default='new', choices=['new', 'est']))),
        timeout=dict(type='float', default=10),
    ), required_one_of=[('nb_db', 'sb_db')], required_by={'trace': 'sb_db'}),
    'socket_info': dict(argument_spec=dict(
        netns=dict(type='str'),
        protocol=dict(type='list', elements='str', choices=['tcp', 'udp'], default=['tcp', 'udp']),
        port=dict(type='list', elements='int'),
        processes=dict(type='bool', default=True),
    )),
    'console_log_info': dict(argument_spec=dict(
        path=dict(type='path'),
        instance_uuid=dict(type='str'),
        instances_dir=dict(type='path', default='/var/lib/nova/instances'),
        max_bytes=dict(type='int', default=1048576),
    ), mutually_exclusive=[('path', 'instance_uuid')], required_one_of=[('path', 'instance_uuid')]),
}

NOVA_CONF_MAX_BYTES = 8 * 1024 * 1024


def interfaces(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._interfaces import (
        InterfaceError, dump_interfaces, evaluate_problems, name_matches, summarize)
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError
    fields = p.get('fields')
    unknown = sorted(set(fields or ()) - set(INTERFACE_FIELDS))
    if unknown:
        module.fail_json(msg='interface_info: unknown fields %s (known: %s)' % (', '.join(unknown), ', '.join(INTERFACE_FIELDS)))
    try:
        if p['src'] is not None:
            # the text parsers are only loaded when there is text to parse
            from ansible_collections.cloudops.netdiag.plugins.module_utils._interfaces_text import parse_ip_text
            found = parse_ip_text(p['src'])
        else:
            found = dump_interfaces(p['netns'])
    except (NetnsError, InterfaceError) as exc:
        module.fail_json(msg='cannot read interfaces: %s' % exc)
    evaluate_problems(found)
    if p['name']:
        found = [i for i in found if name_matches(i['name'], p['name'])]
    res = dict(interfaces=found, problems=[x for i in found for x in i['problems']], summary=summarize(found))
    if fields:
        # fewer values for the controller to process (it walks every value of a result several times); problems and
        # the summary are computed on everything
        keep = ['name', 'netns'] + [f for f in fields if f not in ('name', 'netns')]
        res['interfaces'] = [{k: i[k] for k in keep if k in i} for i in found]
    return res


# what an interface of interface_info can carry (its RETURN), for the fields option
INTERFACE_FIELDS = ('name', 'index', 'netns', 'kind', 'flags', 'up', 'operstate', 'carrier', 'lower_up', 'mtu', 'mac', 'master',
                    'master_index', 'vlan_id', 'link', 'link_index', 'link_type', 'peer_index', 'link_netnsid', 'link_netns', 'alias',
                    'qdisc', 'bridge_port', 'bridge', 'addresses', 'counters', 'ignorable', 'problems')


def _earlier(module, value, key, parse, errors):
    """The earlier snapshot given in compare_to: a registered result (or its ``key``), or save text to parse."""
    if isinstance(value, dict):
        snap = value.get(key, value)
        if isinstance(snap, dict) and isinstance(snap.get('tables'), dict):
            return snap
        module.fail_json(msg='compare_to is a dict without %s tables: give the registered result of %s_info or the text '
                             'of %s-save -c' % (key, key, key))
    if isinstance(value, str):
        try:
            return parse(value)
        except errors as exc:
            module.fail_json(msg='cannot parse compare_to as %s-save output: %s' % (key, exc))
    module.fail_json(msg='compare_to must be an earlier %s_info result or %s-save -c text, not %s'
                         % (key, key, type(value).__name__))


def _save_output(module, p, key, binaries, parse, errors, env=None):
    """(parsed, stderr) of ``<key>-save -c`` of the chosen backend in ``p['netns']``."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, read_dump
    name = binaries[p['backend']]
    try:
        out, err = read_dump(module, name, p['netns'], env=env)
    except NetnsError as exc:
        module.fail_json(msg='cannot read %s: %s' % (key, exc))
    try:
        return parse(out), err
    except errors as exc:
        module.fail_json(msg='cannot parse the output of %s%s: %s' % (name, ' in network namespace %s' % p['netns'] if p['netns'] else '',
                                                                      exc))


def _streamed_save(module, p, binaries, parse, errors):
    """(parsed, stderr) of ``iptables-save -c``, parsed while it prints (a failing binary is named before a parse error)."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, StreamedDump
    name = binaries[p['backend']]
    where = ' in network namespace %s' % p['netns'] if p['netns'] else ''
    try:
        dump = StreamedDump(module, name, p['netns'])
        try:
            parsed = parse(dump.chunks())
        except errors as exc:
            dump.finish()
            module.fail_json(msg='cannot parse the output of %s%s: %s' % (name, where, exc))
        return parsed, dump.finish()
    except NetnsError as exc:
        module.fail_json(msg='cannot read iptables: %s' % exc)


def iptables(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import (
        SAVE_BINARIES, IptablesError, compare_counters, filter_tables, nat_for_floating_ip, parse_save, rules_for_flow,
        summarize)
    for what, values in (('flow.src', [p['flow']['src']] if p['flow'] else []),
                         ('flow.dst', [p['flow']['dst']] if p['flow'] else []),
                         ('floating_ip', p['floating_ip'] or [])):
        for value in values:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                module.fail_json(msg='%s: %r is not an IP address' % (what, value))

    def parse(text):
        return parse_save(text, allow_empty=True)

    if p['src'] is not None:
        try:
            parsed = parse_save(p['src'])
        except IptablesError as exc:
            module.fail_json(msg='cannot parse src as iptables-save output: %s' % exc)
    else:
        parsed, err = _streamed_save(module, p, SAVE_BINARIES, parse, IptablesError)
        # iptables-nft-save tells on stderr when legacy tables exist beside its own (and vice versa).
        parsed['warnings'].extend(ln.lstrip('# ').strip() for ln in err.splitlines() if 'Warning' in ln)
    if p['table']:
        parsed = filter_tables(parsed, p['table'])
    result = dict(iptables=parsed, summary=summarize(parsed))
    if p['compare_to'] is not None:
        before = _earlier(module, p['compare_to'], 'iptables', parse, IptablesError)
        if p['table']:
            before = filter_tables(before, p['table'])
        cmp = compare_counters(before, parsed)
        result['moved'] = cmp['moved']
        result['counters_reset'] = cmp['reset']
    if p['flow']:
        f = p['flow']
        result['flow_rules'] = rules_for_flow(parsed, f['src'], f['dst'], proto=f['proto'], dport=f['dport'],
                                              in_iface=f['in_iface'], out_iface=f['out_iface'], table=f['table'],
                                              sport=f['sport'])
    if p['floating_ip']:
        result['nat'] = [nat_for_floating_ip(parsed, a) for a in p['floating_ip']]
    return result


def ebtables(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._ebtables import (
        SAVE_BINARIES, EbtablesError, compare_counters, parse_save, summarize)
    if p['src'] is not None:
        try:
            parsed = parse_save(p['src'])
        except EbtablesError as exc:
            module.fail_json(msg='cannot parse src as ebtables-save output: %s' % exc)
        if not parsed['tables'] and p['src'].strip():
            module.fail_json(msg='src holds no ebtables table (no "*filter" line): not ebtables-save output')
    else:
        # ebtables-legacy-save prints counters only when asked through the environment; nft takes -c
        parsed, dummy = _save_output(module, p, 'ebtables', SAVE_BINARIES, parse_save, EbtablesError,
                                     env={'EBTABLES_SAVE_COUNTER': 'yes'})
    if p['table']:
        tables = p['table']
        parsed = dict(parsed, tables={k: v for k, v in parsed['tables'].items() if k in tables},
                      rule_count=sum(len(c['rules']) for k, t in parsed['tables'].items() if k in tables
                                     for c in t['chains'].values()))
    result = dict(ebtables=parsed, summary=summarize(parsed))
    if p['compare_to'] is not None:
        result['moved'] = compare_counters(_earlier(module, p['compare_to'], 'ebtables', parse_save, EbtablesError), parsed)
    return result


def nova_conf(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._novaconf import NovaConfError, analyse
    path = p['path']
    try:
        if os.path.isdir(path):
            module.fail_json(msg='nova.conf %s is a directory, not a file' % path)
        with open(path, 'rb') as f:
            data = f.read(NOVA_CONF_MAX_BYTES + 1)
    except OSError as exc:
        module.fail_json(msg='cannot read nova.conf %s: %s' % (path, exc.strerror))
    if len(data) > NOVA_CONF_MAX_BYTES:
        module.fail_json(msg='nova.conf %s is larger than %d bytes' % (path, NOVA_CONF_MAX_BYTES))
    if b'\0' in data:
        module.fail_json(msg='nova.conf %s contains binary data, not an INI file' % path)
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as exc:
        module.fail_json(msg='nova.conf %s is not valid UTF-8 (byte %d)' % (path, exc.start))
    try:
        conf, problems = analyse(text, path, hide_secrets=p['hide_secrets'])
    except NovaConfError as exc:
        module.fail_json(msg=str(exc))
    return dict(nova_conf=conf, problems=problems)


def console_log(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._console import ConsoleError, analyse_file, console_log_path
    if p['max_bytes'] < 0:
        module.fail_json(msg='max_bytes must be 0 (no cap) or positive')
    try:
        path = p['path'] or console_log_path(p['instances_dir'], p['instance_uuid'])
        info, problems = analyse_file(path, p['max_bytes'])
    except ConsoleError as exc:
        module.fail_json(msg=str(exc))
    return dict(console_log=info, problems=problems)


def _addr_map(module, netns):
    import json
    from ansible_collections.cloudops.netdiag.plugins.module_utils._dnsmasq import interfaces_by_address
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import netns_argv
    ip_bin = module.get_bin_path('ip')
    if not ip_bin:
        module.warn('ip (iproute2) not found: listen addresses not resolved to bridges')
        return {}
    argv = netns_argv(netns, [ip_bin, '-j', 'addr', 'show'], ip_bin=ip_bin)
    rc, out, err = module.run_command(argv, environ_update={'LC_ALL': 'C'})
    if rc != 0:
        module.warn('"%s" failed (rc %d): %s' % (' '.join(argv), rc, err.strip()))
        return {}
    try:
        return interfaces_by_address(json.loads(out or '[]'))
    except ValueError:
        module.warn('"%s" did not print JSON' % ' '.join(argv))
        return {}


def dnsmasq(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._dnsmasq import (
        DnsmasqError, gather, parse_ps_aux, parse_since, scan_processes)
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, netns_path
    if p['max_lines'] < 0 or p['max_bytes'] < 0:
        module.fail_json(msg='max_lines and max_bytes must be 0 (no cap) or positive')
    try:
        since = parse_since(p['since'])
    except ValueError as exc:
        module.fail_json(msg='invalid since: %s' % exc)
    macs = [m.strip().lower() for m in p['mac']] if p['mac'] else None
    netns = p['netns']
    try:
        inode = os.stat(netns_path(netns) if netns else '/proc/self/ns/net').st_ino
    except NetnsError as exc:
        module.fail_json(msg=str(exc))
    except OSError:
        inode = None
    try:
        if p['ps_output'] is not None:
            processes = parse_ps_aux(p['ps_output'])
            if not processes and p['ps_output'].strip():
                module.warn('no dnsmasq process found in ps_output')
            addr_map = {}
        else:
            processes = scan_processes(netns_inode=None if p['all_namespaces'] else inode)
            addr_map = _addr_map(module, netns) if processes else {}
        facts, problems, warnings = gather(
            state_dir=p['state_dir'], processes=processes, addr_map=addr_map, log_path=p['log_path'] or None,
            macs=macs, since=since, max_lines=p['max_lines'] or None, max_bytes=p['max_bytes'] or None,
            log_required=p['log_required'])
    except (DnsmasqError, NetnsError) as exc:
        module.fail_json(msg=str(exc))
    for w in warnings:
        module.warn(w)
    return dict(dnsmasq=facts, problems=problems)


def libvirt(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._virshread import gather_domains
    return gather_domains(module, p)


def _ovs_traces(module, p):
    """``ovs-appctl ofproto/trace`` of each packet of ``p['trace']``; a trace the switch refuses (an unknown port, a
    bad flow) carries the switch's ``error`` instead of failing the other facts."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._ovs import OvsError, appctl_target, parse_trace
    appctl = module.get_bin_path('ovs-appctl')
    if not appctl:
        module.fail_json(msg='trace needs ovs-appctl (package openvswitch-common), which is not installed')
    target = appctl_target(_ovs_rundir(p))
    if target is None:
        module.fail_json(msg='trace: no control socket of ovs-vswitchd in %s (ovs-vswitchd.<pid>.ctl or ovs-vswitchd.ctl); give rundir'
                             % _ovs_rundir(p))
    out = []
    for t in p['trace']:
        item = {'bridge': t['bridge'], 'flow': t['flow']}
        rc, text, err = module.run_command([appctl, '-t', target, '--timeout=%d' % max(1, int(p['timeout'])), 'ofproto/trace',
                                            t['bridge'], t['flow']], environ_update={'LC_ALL': 'C'})
        if rc != 0:
            item['error'] = ' '.join((text.strip() + ' ' + err.strip()).split())[:500]
        else:
            try:
                item.update(parse_trace(text))
            except OvsError as exc:
                item['error'] = str(exc)
        out.append(item)
    return out


def _ovs_rundir(p):
    db_path = p['db'][5:] if p['db'].startswith('unix:') else p['db']
    return p['rundir'] or (os.path.dirname(db_path) if db_path.startswith('/') else '/var/run/openvswitch')


def ovs(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._ovs import OvsError, daemons, parse_flows, problems, read
    if not 0 < p['timeout'] <= 600:
        module.fail_json(msg='timeout must be more than 0 and at most 600 seconds, got %s' % p['timeout'])
    try:
        facts = read(p['db'], bridges=p['bridges'], statistics=p['statistics'], timeout=p['timeout'])
    except OvsError as exc:
        module.fail_json(msg='cannot read the Open vSwitch database: %s' % exc)
    if p['bridges']:
        unknown = sorted(set(p['bridges']) - set(b['name'] for b in facts['bridges']))
        if unknown:
            module.fail_json(msg='no bridge %s in the Open vSwitch database %s' % (', '.join(unknown), p['db']))
    if p['flows']:
        ofctl = module.get_bin_path('ovs-ofctl')
        if not ofctl:
            module.fail_json(msg='flows need ovs-ofctl (package openvswitch-common), which is not installed')
        rundir = _ovs_rundir(p)
        versions = 'OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15'
        for br in facts['bridges']:
            target = 'unix:%s/%s.mgmt' % (rundir, br['name'])
            rc, out, err = module.run_command([ofctl, '-O', versions, '--timeout=%d' % max(1, int(p['timeout'])), 'dump-flows', target],
                                              environ_update={'LC_ALL': 'C'})
            if rc != 0:
                module.fail_json(msg='ovs-ofctl dump-flows %s failed (rc %d): %s' % (target, rc, err.strip() or out.strip()))
            try:
                br['flows'] = parse_flows(out)
            except OvsError as exc:
                module.fail_json(msg='cannot parse the flows of %s: %s' % (br['name'], exc))
    if p['trace']:
        facts['traces'] = _ovs_traces(module, p)
    facts['daemons'] = daemons()
    found = problems(facts)
    if facts['open_vswitch'].get('ovn') and not facts['daemons'].get('ovn-controller'):
        found.append({'code': 'ovn_controller_down', 'object': facts['open_vswitch'].get('system_id') or 'ovn-controller',
                      'message': 'the switch is an OVN chassis (ovn-remote %s) but no ovn-controller runs in this network '
                                 'namespace' % facts['open_vswitch']['ovn'].get('remote')})
    summary = {'bridges': len(facts['bridges']), 'ports': sum(len(b['ports']) for b in facts['bridges']),
               'interfaces': sum(len(pt['interfaces']) for b in facts['bridges'] for pt in b['ports']), 'problems': len(found)}
    if p['flows']:
        summary['flows'] = sum(len(b.get('flows') or []) for b in facts['bridges'])
    return dict(ovs=facts, problems=found, summary=summary)


def ovn(module, p):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._ovn import OvnError, problems, read_nb, read_sb
    if not 0 < p['timeout'] <= 600:
        module.fail_json(msg='timeout must be more than 0 and at most 600 seconds, got %s' % p['timeout'])
    nb = sb = None
    which = 'northbound'
    try:
        if p['nb_db']:
            nb = read_nb(p['nb_db'], timeout=p['timeout'])
        which = 'southbound'
        if p['sb_db']:
            sb = read_sb(p['sb_db'], timeout=p['timeout'])
    except OvnError as exc:
        module.fail_json(msg='cannot read the OVN %s database: %s' % (which, exc))
    found = problems(nb, sb)
    traces = _ovn_traces(module, p) if p['trace'] else None
    summary = {'problems': len(found)}
    if nb is not None:
        summary.update(logical_switches=len(nb['logical_switches']), logical_routers=len(nb['logical_routers']),
                       logical_switch_ports=sum(len(ls['ports']) for ls in nb['logical_switches']))
    if sb is not None:
        summary.update(chassis=len(sb['chassis']), port_bindings=len(sb['port_bindings']))
    res = dict(nb=nb, sb=sb, problems=found, summary=summary)
    if traces is not None:
        res['traces'] = traces
    return res


def _ovn_traces(module, p):
    """``ovn-trace`` of each packet of ``p['trace']`` against the SB DB (read-only: a simulation, nothing is sent), with
    the full names of ports and datapaths; a packet ovn-trace refuses (an unknown datapath, bad syntax) has its error."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._ovn import OvnError, parse_trace
    binary = module.get_bin_path('ovn-trace')
    if not binary:
        module.fail_json(msg='trace needs ovn-trace (package ovn-host or ovn-central), which is not installed')
    # ovn-trace has no timeout of its own: coreutils' timeout bounds it (a DB that does not answer)
    bound = module.get_bin_path('timeout')
    prefix = [bound, '%d' % max(1, int(p['timeout']))] if bound else []
    out = []
    for t in p['trace']:
        item = {'datapath': t['datapath'], 'microflow': t['microflow'], 'ct': t['ct']}
        # the conntrack state at ct_next: new (the first packet of a connection, what a ping or a new ssh session sends)
        # unless asked; ovn-trace's own default, est, walks past every ACL that only new connections meet
        rc, text, err = module.run_command(prefix + [binary, '--db=%s' % p['sb_db'], '--no-friendly-names', '--ct=%s' % t['ct'],
                                                     t['datapath'], t['microflow']],
                                           environ_update={'LC_ALL': 'C'})
        if rc != 0 or not text.strip().startswith('#'):
            item['error'] = ' '.join((text.strip() + ' ' + err.strip()).split())[:500] or 'ovn-trace exited with %d' % rc
        else:
            try:
                parsed = parse_trace(text)
                item.update({k: v for k, v in parsed.items() if k != 'microflow'}, parsed_microflow=parsed['microflow'])
            except OvnError as exc:
                item['error'] = str(exc)
        out.append(item)
    return out


def sockets(module, p):
    """Listening TCP and bound UDP sockets of the namespace, with the processes that hold them."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, enter_netns, netns_path
    from ansible_collections.cloudops.netdiag.plugins.module_utils._sockets import SocketError, listening, owners, read_tables
    try:
        inode = os.stat(netns_path(p['netns']) if p['netns'] else '/proc/thread-self/ns/net').st_ino
        with enter_netns(p['netns']):
            found = listening(read_tables(tuple(p['protocol'])))
    except (NetnsError, SocketError) as exc:
        module.fail_json(msg='cannot read the sockets%s: %s' % (' of network namespace %s' % p['netns'] if p['netns'] else '', exc))
    except OSError as exc:
        module.fail_json(msg='cannot read the sockets: %s' % exc)
    if p['port']:
        found = [s for s in found if s['port'] in p['port']]
    if p['processes']:
        held = owners([s['inode'] for s in found], netns_inode=inode)
        for s in found:
            s['processes'] = held.get(s['inode'], [])
    for s in found:
        s.pop('state', None)
    found.sort(key=lambda s: (s['protocol'], s['port'], s['family'], s['address']))
    return dict(sockets=found, summary={'tcp': len([s for s in found if s['protocol'] == 'tcp']),
                                        'udp': len([s for s in found if s['protocol'] == 'udp'])})


GATHER = {
    'ovs_info': ovs,
    'socket_info': sockets,
    'ovn_info': ovn,
    'interface_info': interfaces,
    'iptables_info': iptables,
    'ebtables_info': ebtables,
    'libvirt_domain_info': libvirt,
    'nova_conf_info': nova_conf,
    'dnsmasq_info': dnsmasq,
    'console_log_info': console_log,
}


def run_module(module_class, name):
    """The ``main()`` of facts module ``name``: validate with its spec, gather, exit."""
    module = module_class(supports_check_mode=True, **SPECS[name])
    module.exit_json(changed=False, **GATHER[name](module, module.params))
