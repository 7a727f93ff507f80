# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open vSwitch facts (private): bridges, ports and interfaces from the OVSDB, flows with their counters.

``read(remote)`` reads the Open_vSwitch, Bridge, Port and Interface tables in one transaction (``_ovsdb``) and
joins them: bridges with their ports, ports with their interfaces (ofport, type, MAC, MTU, states, ``error``,
``external_ids`` such as ``iface-id``), the switch's own ``external_ids`` (``system-id``, the ``ovn-*`` settings).
``parse_flows(text)`` reads ``ovs-ofctl dump-flows`` output, ``parse_trace(text)`` ``ovs-appctl ofproto/trace`` output.
``problems(facts)`` names what is wrong.
"""

from __future__ import annotations

import os
import re

from ansible_collections.cloudops.netdiag.plugins.module_utils._ovsdb import OvsdbError, select

DEFAULT_DB = 'unix:/var/run/openvswitch/db.sock'
_IFACE_KEYS = ('name', 'type', 'ofport', 'ifindex', 'mac_in_use', 'mtu', 'admin_state', 'link_state', 'error', 'options',
               'external_ids', 'other_config', 'status')
_OVN_KEYS = {'ovn-remote': 'remote', 'ovn-encap-type': 'encap_type', 'ovn-encap-ip': 'encap_ip', 'ovn-bridge': 'bridge',
             'ovn-bridge-datapath-type': 'bridge_datapath_type', 'ovn-cms-options': 'cms_options',
             'ovn-bridge-mappings': 'bridge_mappings'}


class OvsError(Exception):
    """The switch's database cannot be read, or a flow dump is not ovs-ofctl output."""


def read(remote=DEFAULT_DB, bridges=None, statistics=False, timeout=10.0):
    """The switch's facts: {open_vswitch, bridges: [...]}, bridges filtered to the names in ``bridges``."""
    try:
        t = select(remote, 'Open_vSwitch', {'Open_vSwitch': None, 'Bridge': None, 'Port': None, 'Interface': None},
                   timeout=timeout)
    except OvsdbError as exc:
        raise OvsError(str(exc))
    ifaces = {r['_uuid']: r for r in t['Interface']}
    ports = {r['_uuid']: r for r in t['Port']}
    root = t['Open_vSwitch'][0] if t['Open_vSwitch'] else {}
    ext = root.get('external_ids') or {}
    sw = {'uuid': root.get('_uuid'), 'ovs_version': root.get('ovs_version'), 'db_version': root.get('db_version'),
          'system_id': ext.get('system-id'), 'hostname': ext.get('hostname'),
          'datapath_types': root.get('datapath_types') or [], 'external_ids': ext, 'other_config': root.get('other_config') or {},
          'ovn': {v: ext.get(k) for k, v in _OVN_KEYS.items() if k in ext}}
    out = []
    for b in sorted(t['Bridge'], key=lambda r: r['name']):
        if bridges and b['name'] not in bridges:
            continue
        br = {'name': b['name'], 'uuid': b['_uuid'], 'datapath_type': b.get('datapath_type') or 'system',
              'fail_mode': b.get('fail_mode'), 'protocols': b.get('protocols') or [], 'external_ids': b.get('external_ids') or {},
              'other_config': b.get('other_config') or {}, 'ports': []}
        for pu in b.get('ports') or []:
            p = ports.get(pu)
            if p is None:
                continue
            port = {'name': p['name'], 'uuid': pu, 'tag': p.get('tag'), 'trunks': p.get('trunks') or [], 'vlan_mode': p.get('vlan_mode'),
                    'external_ids': p.get('external_ids') or {}, 'other_config': p.get('other_config') or {}, 'interfaces': []}
            for iu in p.get('interfaces') or []:
                i = ifaces.get(iu)
                if i is None:
                    continue
                item = {k: i.get(k) for k in _IFACE_KEYS}
                item['uuid'] = iu
                item['type'] = item['type'] or 'system'
                if statistics:
                    item['statistics'] = i.get('statistics') or {}
                port['interfaces'].append(item)
            br['ports'].append(port)
        br['ports'].sort(key=lambda x: x['name'])
        out.append(br)
    return {'open_vswitch': sw, 'bridges': out}


def interfaces(facts):
    """Yield (bridge, port, interface) of the facts."""
    for b in facts.get('bridges') or []:
        for p in b.get('ports') or []:
            for i in p.get('interfaces') or []:
                yield b, p, i


def problems(facts):
    """What is wrong on the switch: an interface with an error or without an OpenFlow port, a VM port down."""
    out = []
    for b, p, i in interfaces(facts):
        name = i.get('name')
        if i.get('error'):
            out.append({'code': 'interface_error', 'object': name,
                        'message': 'interface %s of bridge %s: %s' % (name, b['name'], i['error'])})
        elif i.get('ofport') in (-1, None) and i.get('type') not in ('internal',):
            out.append({'code': 'no_ofport', 'object': name,
                        'message': 'interface %s of bridge %s has no OpenFlow port (ofport %s)' % (name, b['name'], i.get('ofport'))})
        if (i.get('external_ids') or {}).get('iface-id') and i.get('link_state') == 'down':
            out.append({'code': 'vm_port_down', 'object': name,
                        'message': 'interface %s (iface-id %s) of bridge %s has its link down' % (
                            name, i['external_ids']['iface-id'], b['name'])})
    return out


def physical_ports(facts, bridge_name):
    """The physical interfaces of bridge ``bridge_name`` (an uplink): neither patch nor internal nor tunnel."""
    b = next((x for x in (facts or {}).get('bridges') or [] if x.get('name') == bridge_name), None)
    return [i for p in (b or {}).get('ports') or [] for i in p.get('interfaces') or []
            if i.get('type') in (None, '', 'system') and i.get('name') != bridge_name]


def find_iface_id(facts, iface_id):
    """(bridge, port, interface) whose ``external_ids:iface-id`` is ``iface_id`` (a Neutron port id), else None."""
    for b, p, i in interfaces(facts):
        if (i.get('external_ids') or {}).get('iface-id') == iface_id:
            return b, p, i
    return None


_FLOW_HEAD = re.compile(r'^OFPST_FLOW reply|^NXST_FLOW reply')
_INT_FIELDS = ('table', 'n_packets', 'n_bytes', 'priority', 'idle_age', 'hard_age', 'idle_timeout', 'hard_timeout')


def parse_flows(text):
    """``ovs-ofctl dump-flows`` output -> [{table, priority, cookie, n_packets, n_bytes, duration, match, actions}]."""
    flows = []
    for lineno, line in enumerate((text or '').splitlines(), 1):
        line = line.strip()
        if not line or _FLOW_HEAD.match(line):
            continue
        head, sep, actions = line.rpartition(' actions=')
        if not sep:
            if line.startswith('actions='):
                head, actions = '', line[8:]
            else:
                raise OvsError('line %d is not a flow of ovs-ofctl dump-flows: %s' % (lineno, line[:200]))
        flow = {'table': 0, 'priority': 32768, 'cookie': None, 'n_packets': None, 'n_bytes': None, 'duration': None,
                'match': '', 'actions': actions}
        match = []
        # fields are separated by ', ' and ','; the flow's flags (reset_counts, ...) by a space before the match
        for part in head.replace(',', ' ').split():
            k, eq, v = part.partition('=')
            if k in _INT_FIELDS and eq:
                try:
                    flow[k] = int(v)
                except ValueError:
                    raise OvsError('line %d: %s is not a number: %s' % (lineno, k, line[:200]))
            elif k == 'cookie' and eq:
                flow['cookie'] = v
            elif k == 'duration' and eq:
                flow['duration'] = float(v.rstrip('s') or 0)
            elif k in ('reset_counts', 'send_flow_rem', 'check_overlap', 'no_packet_counts', 'no_byte_counts', 'importance'):
                continue
            else:
                match.append(part)
        flow['match'] = ','.join(match)
        flows.append(flow)
    return flows


_TRACE_STEP = re.compile(r'^\s*(\d+)\.\s+(.*?)(?:,?\s*priority (\d+))?(?:, cookie (\S+))?$')
_TRACE_BRIDGE = re.compile(r'^bridge\("([^"]+)"\)$')


def parse_trace(text):
    """``ovs-appctl ofproto/trace`` output -> {input_flow, bridges: [{bridge, steps: [{table, match, priority, actions,
    notes}]}], final_flow, megaflow, datapath_actions, dropped, drops} (``input_flow``: the packet as the switch read
    it): every table the packet went through in every bridge (patch ports lead to the next bridge), what each rule did,
    and where it was dropped (``drops``: the steps whose only action is drop; ``dropped``: the datapath does nothing with
    the packet)."""
    out = {'input_flow': None, 'bridges': [], 'final_flow': None, 'megaflow': None, 'datapath_actions': None}
    bridge, step = None, None
    for line in (text or '').splitlines():
        if not line.strip() or set(line.strip()) == {'-'}:
            continue
        m = _TRACE_BRIDGE.match(line.strip())
        if m:
            bridge = {'bridge': m.group(1), 'steps': []}
            out['bridges'].append(bridge)
            step = None
            continue
        for key, prefix in (('input_flow', 'Flow: '), ('final_flow', 'Final flow: '), ('megaflow', 'Megaflow: '),
                            ('datapath_actions', 'Datapath actions: ')):
            if line.startswith(prefix):
                out[key] = line[len(prefix):].strip()
                bridge = step = None
                break
        else:
            if bridge is None:
                continue
            m = _TRACE_STEP.match(line)
            if m and not line.startswith('     '):
                step = {'table': int(m.group(1)), 'match': m.group(2).rstrip(',').strip(),
                        'priority': int(m.group(3)) if m.group(3) else None, 'actions': [], 'notes': []}
                if step['match'].startswith('priority '):      # a rule matching everything: "priority 0"
                    step['priority'], step['match'] = int(step['match'].split()[1]), ''
                bridge['steps'].append(step)
            elif step is not None:
                item = line.strip()
                if item.startswith(('->', '>>')):
                    step['notes'].append(item[2:].strip())     # what the switch did with the action
                else:
                    step['actions'].append(item)
    if out['datapath_actions'] is None:
        raise OvsError('not ofproto/trace output (no "Datapath actions" line): %s' % (text or '').strip()[:200])
    out['drops'] = [dict(s_, bridge=b['bridge']) for b in out['bridges'] for s_ in b['steps'] if s_['actions'] == ['drop']]
    out['dropped'] = out['datapath_actions'] == 'drop'
    return out


def appctl_target(rundir):
    """The control socket of ovs-vswitchd in ``rundir``: ``ovs-vswitchd.<pid>.ctl`` (the daemon's default, the pid from
    ``ovs-vswitchd.pid``) or ``ovs-vswitchd.ctl``; None when neither is there."""
    try:
        with open(os.path.join(rundir, 'ovs-vswitchd.pid'), encoding='ascii') as f:
            pid = f.read().strip()
    except (OSError, ValueError):
        pid = ''
    for name in (['ovs-vswitchd.%s.ctl' % pid] if pid.isdigit() else []) + ['ovs-vswitchd.ctl']:
        path = os.path.join(rundir, name)
        if os.path.exists(path):
            return path
    return None


def drops(flows, min_packets=1):
    """The flows whose actions drop and that counted at least ``min_packets``."""
    return [f for f in flows if f['actions'] in ('drop', '') and (f.get('n_packets') or 0) >= min_packets]


def daemons(names=('ovs-vswitchd', 'ovsdb-server', 'ovn-controller'), proc='/proc'):
    """{name: [pids]} of the switch's daemons running in this network namespace (the namespace the module runs in;
    a daemon of another namespace or a container with its own network namespace is not this host's)."""
    out = {n: [] for n in names}
    try:
        mine = os.stat(os.path.join(proc, 'thread-self', 'ns', 'net')).st_ino
    except OSError:
        mine = None
    try:
        pids = [d for d in os.listdir(proc) if d.isdigit()]
    except OSError:
        return out
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, 'comm'), encoding='ascii', errors='replace') as f:
                comm = f.read().strip()
            if comm not in out:
                continue
            with open(os.path.join(proc, pid, 'stat'), encoding='ascii', errors='replace') as f:
                if f.read().rpartition(')')[2].split()[:1] in (['Z'], ['X']):
                    continue
            if mine is not None and os.stat(os.path.join(proc, pid, 'ns', 'net')).st_ino != mine:
                continue
        except OSError:
            continue        # ended while we looked, or not ours to read
        out[comm].append(int(pid))
    return {k: sorted(v) for k, v in out.items()}
