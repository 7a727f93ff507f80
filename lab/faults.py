# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults: real changes of the lab's state, each recorded in state.json with what undoes it.

A fault never leaves a flag a diagnosis could read: it downs a link, detaches a port, kills a
process, edits a file, removes iptables rules or changes DB rows, exactly as the failure it
stands for would. ``inject(lab, name, target)`` applies one (idempotent: the same fault on the
same target twice is applied once); ``heal(lab)`` undoes every active fault, newest first.
The list, with what each breaks, is in docs/lab.md.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import time

from lab import novafiles
from lab.sysutil import LabError, kill_pid, nsrun, pid_matches, run, write_file

FAULTS = {}


def fault(fn):
    FAULTS[fn.__name__] = fn
    return fn


# ---------------------------------------------------------------------- helpers
def _inst(lab, target, need_floating=False):
    insts = [i for i in lab.model['instances'].values() if i['state'] == 'active']
    if need_floating:
        insts = [i for i in insts if i['floating_ip']]
    if target is None:
        if not insts:
            raise LabError('no instance this fault applies to')
        return insts[0]
    for i in insts:
        if i['hostname'] == target or i['uuid'] == target:
            return i
    raise LabError('instance %r is not an active instance%s of lab %s'
                   % (target, ' with a floating IP' if need_floating else '', lab.name))


def _ip(lab, host, *args):
    run(['ip', '-n', lab.ns(host)] + list(args))


def _link_up(lab, host, dev, timeout=5.0):
    """Set ``dev`` up and wait (bounded) until the kernel reports it operational (and forwarding, if a
    bridge port): link-up events are processed asynchronously (linkwatch), up to a second later."""
    _ip(lab, host, 'link', 'set', dev, 'up')
    ends = [(host, dev)]
    peer = lab.state['hosts'].get(host, {}).get('interfaces', {}).get(dev, {}).get('peer')
    if peer and peer[0] in lab.state['hosts']:
        ends.append(tuple(peer))  # a veth: its other end gets its carrier back asynchronously too
    deadline = time.monotonic() + timeout
    while ends and time.monotonic() < deadline:
        if _operational(lab, *ends[0]):
            ends.pop(0)
            continue
        time.sleep(0.05)
    if ends:
        raise LabError('%s on %s did not come up within %s s' % (ends[0][1], ends[0][0], timeout))


def _operational(lab, host, dev):
    link = json.loads(run(['ip', '-n', lab.ns(host), '-j', 'link', 'show', 'dev', dev]).stdout)[0]
    if link.get('operstate') not in ('UP', 'UNKNOWN'):
        return False
    if link.get('master'):
        port = json.loads(run(['bridge', '-n', lab.ns(host), '-j', 'link', 'show', 'dev', dev]).stdout or '[]')
        return bool(port) and port[0].get('state') == 'forwarding'
    return True


def _ipt(lab, host, *args, check=True):
    return nsrun(lab.ns(host), ['iptables'] + list(args), check=check)


def _conntrack_flush(lab, host, *addrs):
    for a in addrs:
        for flag in ('-s', '-d', '--reply-src', '--reply-dst'):
            nsrun(lab.ns(host), ['conntrack', '-D', flag, a], check=False)


def _default_route_dev(lab, host):
    res = run(['ip', '-n', lab.ns(host), '-j', 'route', 'show', 'default'])
    routes = json.loads(res.stdout or '[]')
    if routes:
        return routes[0].get('dev'), routes[0].get('gateway')
    for r in lab.state['hosts'][host].get('routes', []):
        if r['dst'] == 'default':
            return r['dev'], r['via']
    raise LabError('%s has no default route' % host)


def _affected(lab, host, bridge):
    return [i['hostname'] for i in lab.model['instances'].values()
            if i['state'] == 'active' and i['host'] == host and i['bridge'] == bridge]


def _reboot(lab, hostnames):
    lab._parallel([(lab.boot_instance, h) for h in hostnames])


def _hostsfile(lab, inst):
    return os.path.join(lab.compute_paths(inst['host'])['networks'], 'nova-%s.conf' % inst['bridge'])


def _dnsmasq_key(inst):
    return 'dnsmasq:%s:%s' % (inst['host'], inst['bridge'])


# ---------------------------------------------------------------------- faults
@fault
def instance_interface_down(lab, target):
    """The guest's eth0 is down (inside the instance)."""
    inst = _inst(lab, target)
    _ip(lab, inst['hostname'], 'link', 'set', 'eth0', 'down')
    return inst, {'host': inst['hostname'], 'device': 'eth0'}


def _heal_instance_interface_down(lab, rec):
    h = rec['undo']['host']
    _link_up(lab, h, 'eth0')
    lease = lab.lease(h)
    if lease and lease.get('router'):
        _ip(lab, h, 'route', 'replace', 'default', 'via', lease['router'].split()[0], 'dev', 'eth0')


@fault
def vnet_down(lab, target):
    """The instance's vnetN (host side of its interface) is down on the compute node."""
    inst = _inst(lab, target)
    _ip(lab, inst['host'], 'link', 'set', inst['vnet'], 'down')
    return inst, {'host': inst['host'], 'device': inst['vnet']}


def _heal_vnet_down(lab, rec):
    _link_up(lab, rec['undo']['host'], rec['undo']['device'])


@fault
def vnet_detached(lab, target):
    """The instance's vnetN is removed from its bridge (still up)."""
    inst = _inst(lab, target)
    _ip(lab, inst['host'], 'link', 'set', inst['vnet'], 'nomaster')
    return inst, {'host': inst['host'], 'device': inst['vnet'], 'bridge': inst['bridge']}


def _heal_vnet_detached(lab, rec):
    u = rec['undo']
    _ip(lab, u['host'], 'link', 'set', u['device'], 'master', u['bridge'])
    _link_up(lab, u['host'], u['device'])


@fault
def bridge_down(lab, target):
    """The bridge serving the instance (br100, ...) is down on its compute node."""
    inst = _inst(lab, target)
    _ip(lab, inst['host'], 'link', 'set', inst['bridge'], 'down')
    return inst, {'host': inst['host'], 'device': inst['bridge']}


def _heal_bridge_down(lab, rec):
    _link_up(lab, rec['undo']['host'], rec['undo']['device'])


@fault
def physical_interface_down(lab, target):
    """The compute node's NIC the default route leaves through (public_interface) is down."""
    inst = _inst(lab, target)
    dev, gw = _default_route_dev(lab, inst['host'])
    _ip(lab, inst['host'], 'link', 'set', dev, 'down')
    return inst, {'host': inst['host'], 'device': dev, 'gateway': gw}


def _heal_physical_interface_down(lab, rec):
    u = rec['undo']
    _link_up(lab, u['host'], u['device'])
    _ip(lab, u['host'], 'route', 'replace', 'default', 'via', u['gateway'], 'dev', u['device'])


@fault
def gateway_down(lab, target):
    """The compute node's default gateway (the lab router) has its interface on the public network down."""
    inst = _inst(lab, target)
    dummy, gw = _default_route_dev(lab, inst['host'])
    res = run(['ip', '-n', lab.ns('gateway'), '-j', 'addr', 'show'])
    dev = None
    for link in json.loads(res.stdout):
        if any(a.get('local') == gw for a in link.get('addr_info', [])):
            dev = link['ifname']
    if dev is None:
        raise LabError('no interface of the gateway holds %s' % gw)
    _ip(lab, 'gateway', 'link', 'set', dev, 'down')
    return inst, {'host': 'gateway', 'device': dev}


def _heal_gateway_down(lab, rec):
    _link_up(lab, 'gateway', rec['undo']['device'])


@fault
def forwarding_disabled(lab, target):
    """net.ipv4.ip_forward = 0 on the instance's compute node."""
    inst = _inst(lab, target)
    nsrun(lab.ns(inst['host']), ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'])
    return inst, {'host': inst['host']}


def _heal_forwarding_disabled(lab, rec):
    nsrun(lab.ns(rec['undo']['host']), ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])


def _drop_rules(inst):
    return [['-s', '%s/32' % inst['fixed_ip'], '!', '-o', inst['bridge'], '-j', 'DROP'],
            ['-d', '%s/32' % inst['fixed_ip'], '!', '-i', inst['bridge'], '-j', 'DROP']]


@fault
def forward_drop(lab, target):
    """iptables DROP of the instance's routed traffic at the top of nova-network-FORWARD (bridged traffic passes)."""
    inst = _inst(lab, target)
    for rule in reversed(_drop_rules(inst)):
        _ipt(lab, inst['host'], '-I', 'nova-network-FORWARD', '1', *rule)
    _conntrack_flush(lab, inst['host'], inst['fixed_ip'])
    return inst, {'host': inst['host'], 'rules': _drop_rules(inst)}


def _heal_forward_drop(lab, rec):
    for rule in rec['undo']['rules']:
        while _ipt(lab, rec['undo']['host'], '-C', 'nova-network-FORWARD', *rule, check=False).returncode == 0:
            _ipt(lab, rec['undo']['host'], '-D', 'nova-network-FORWARD', *rule)


@fault
def nat_missing(lab, target):
    """The floating IP's DNAT and SNAT rules are gone from the compute node (the /32 stays on the public NIC)."""
    inst = _inst(lab, target, need_floating=True)
    comp = lab.model['computes'][inst['host']]
    rules = novafiles.floating_rules(inst['floating_ip'], inst['fixed_ip'], comp['public_interface'])
    removed = []
    for table, chain, rule in rules:
        argv = rule.split()
        if _ipt(lab, inst['host'], '-t', table, '-C', chain, *argv, check=False).returncode == 0:
            _ipt(lab, inst['host'], '-t', table, '-D', chain, *argv)
            removed.append([table, chain, argv])
    _conntrack_flush(lab, inst['host'], inst['fixed_ip'], inst['floating_ip'])
    return inst, {'host': inst['host'], 'rules': removed, 'addresses': [inst['fixed_ip'], inst['floating_ip']]}


def _heal_nat_missing(lab, rec):
    u = rec['undo']
    for table, chain, argv in u['rules']:
        if _ipt(lab, u['host'], '-t', table, '-C', chain, *argv, check=False).returncode != 0:
            _ipt(lab, u['host'], '-t', table, '-A', chain, *argv)
    _conntrack_flush(lab, u['host'], *u['addresses'])


@fault
def dnsmasq_killed(lab, target):
    """The dnsmasq serving the instance's bridge is killed (stale pid file left); its instances reboot: no lease."""
    inst = _inst(lab, target)
    key = _dnsmasq_key(inst)
    proc = lab.state['processes'][key]
    kill_pid(proc['pid'], proc['match'], sig=signal.SIGKILL)
    affected = _affected(lab, inst['host'], inst['bridge'])
    _reboot(lab, affected)
    return inst, {'host': inst['host'], 'network': inst['network'], 'key': key, 'killed_pid': proc['pid'],
                  'rebooted': affected, 'expect_dead': [key]}


def _heal_dnsmasq_killed(lab, rec):
    u = rec['undo']
    proc = lab.state['processes'].get(u['key'])
    if not proc or not pid_matches(proc['pid'], proc['match']):
        lab.start_dnsmasq(u['host'], u['network'])
    _reboot(lab, u['rebooted'])


@fault
def dhcp_hostsfile_missing_mac(lab, target):
    """The instance's MAC is removed from nova-<bridge>.conf, dnsmasq reloaded (SIGHUP), the instance reboots."""
    inst = _inst(lab, target)
    path = _hostsfile(lab, inst)
    with open(path) as f:
        original = f.read()
    kept = [ln for ln in original.splitlines() if not ln.lower().startswith(inst['mac'] + ',')]
    write_file(path, ''.join(ln + '\n' for ln in kept))
    _hup(lab, inst)
    _reboot(lab, [inst['hostname']])
    return inst, {'host': inst['host'], 'path': path, 'line': novafiles.hostsfile_line(lab.model, inst),
                  'hostname': inst['hostname'], 'key': _dnsmasq_key(inst)}


def _hup(lab, inst):
    proc = lab.state['processes'].get(_dnsmasq_key(inst))
    if proc and pid_matches(proc['pid'], proc['match']):
        os.kill(proc['pid'], signal.SIGHUP)


def _heal_dhcp_hostsfile_missing_mac(lab, rec):
    u = rec['undo']
    with open(u['path']) as f:
        lines = f.read().splitlines()
    if u['line'] not in lines:
        lines.append(u['line'])
    write_file(u['path'], ''.join(ln + '\n' for ln in lines))
    _hup(lab, lab.model['instances'][u['hostname']])
    _reboot(lab, [u['hostname']])


@fault
def dns_broken(lab, target):
    """The upstream DNS server the compute's dnsmasq forwards to stops answering (process stopped, SIGSTOP); the
    instance reboots, so its boot-time lookup fails in its console log."""
    inst = _inst(lab, target)
    server = lab.model['external']['servers'][0]['name']
    key = 'dns:%s' % server
    proc = lab.state['processes'][key]
    if not pid_matches(proc['pid'], proc['match']):
        raise LabError('the DNS server on %s is not running' % server)
    os.kill(proc['pid'], signal.SIGSTOP)
    _reboot(lab, [inst['hostname']])
    return inst, {'key': key, 'pid': proc['pid'], 'match': proc['match'], 'server': server,
                  'rebooted': [inst['hostname']]}


def _heal_dns_broken(lab, rec):
    pid = rec['undo']['pid']
    if pid_matches(pid, rec['undo']['match']):
        os.kill(pid, signal.SIGCONT)
    _reboot(lab, rec['undo'].get('rebooted') or [])


def _ebt(lab, host, *args):
    nsrun(lab.ns(host), ['ebtables', '--concurrent', '-t', 'filter'] + list(args))


@fault
def dhcp_ebtables_drop(lab, target):
    """A stray ebtables rule on the compute node drops the DHCP requests that arrive from the instance's tap, after
    the instance got its lease (the dnsmasq log keeps that complete exchange); the instance reboots: no lease."""
    inst = _inst(lab, target)
    rule = ['-p', 'IPv4', '-i', inst['vnet'], '--ip-proto', 'udp', '--ip-dport', '67', '-j', 'DROP']
    _ebt(lab, inst['host'], '-I', 'INPUT', *rule)
    _reboot(lab, [inst['hostname']])
    return inst, {'host': inst['host'], 'rule': rule, 'rebooted': [inst['hostname']]}


def _heal_dhcp_ebtables_drop(lab, rec):
    u = rec['undo']
    _ebt(lab, u['host'], '-D', 'INPUT', *u['rule'])
    _reboot(lab, u['rebooted'])


def _restart_external_dns(lab, server, argv=None):
    key = 'dns:%s' % server
    proc = lab.state['processes'][key]
    if pid_matches(proc['pid'], proc['match']):
        kill_pid(proc['pid'], proc['match'])
    lab.start_external_dns(server, argv=argv)


@fault
def dns_upstream_stopped(lab, target):
    """The upstream DNS server the compute's dnsmasq forwards to stops answering (SIGSTOP) while the instance runs:
    nothing in its console log, only lookups made now fail."""
    inst = _inst(lab, target)
    server = lab.model['external']['servers'][0]['name']
    proc = lab.state['processes']['dns:%s' % server]
    if not pid_matches(proc['pid'], proc['match']):
        raise LabError('the DNS server on %s is not running' % server)
    os.kill(proc['pid'], signal.SIGSTOP)
    return inst, {'pid': proc['pid'], 'match': proc['match'], 'server': server}


def _heal_dns_upstream_stopped(lab, rec):
    if pid_matches(rec['undo']['pid'], rec['undo']['match']):
        os.kill(rec['undo']['pid'], signal.SIGCONT)


@fault
def dns_reverse_slow(lab, target):
    """The upstream DNS server hands its reverse zones to a server that never answers (a dead reverse-zone
    delegation): forward lookups work, PTR lookups (ssh's UseDNS) hang until they time out."""
    inst = _inst(lab, target)
    server = lab.model['external']['servers'][0]['name']
    argv = []
    for a in lab.external_dns_argv(server):
        if a.startswith('--local=/') and a.endswith('.in-addr.arpa/'):
            a = '--server=%s127.0.0.1#5399' % a[len('--local='):]  # nothing listens there: queries hang
        elif a.startswith('--host-record='):
            name, addr = a[len('--host-record='):].split(',', 1)
            a = '--address=/%s/%s' % (name, addr)  # the A record stays, its PTR goes with the reverse zone
        argv.append(a)
    _restart_external_dns(lab, server, argv)
    return inst, {'server': server}


def _heal_dns_reverse_slow(lab, rec):
    _restart_external_dns(lab, rec['undo']['server'])


@fault
def floating_ip_stale(lab, target):
    """The instance is terminated in the DB the way nova does it, but its floating IP stays associated."""
    inst = _inst(lab, target, need_floating=True)
    now = datetime.datetime.utcnow().replace(microsecond=0)
    conn = lab.db_connect()
    try:
        with conn.cursor() as cur:
            saved = {}
            for table, where, col in (('instances', 'uuid = %s', inst['uuid']),
                                      ('virtual_interfaces', 'instance_uuid = %s AND address = %s', None),
                                      ('fixed_ips', 'instance_uuid = %s AND address = %s', None),
                                      ('floating_ips', 'address = %s', inst['floating_ip'])):
                if table == 'virtual_interfaces':
                    args = (inst['uuid'], inst['mac'])
                elif table == 'fixed_ips':
                    args = (inst['uuid'], inst['fixed_ip'])
                else:
                    args = (col,)
                cur.execute('SELECT * FROM %s WHERE %s' % (table, where), args)
                names = [d[0] for d in cur.description]
                saved[table] = [{k: (v.isoformat(sep=' ') if hasattr(v, 'isoformat') else v) for k, v in zip(names, row)}
                                for row in cur.fetchall()]
            cur.execute("UPDATE instances SET vm_state = 'deleted', task_state = NULL, power_state = 0, deleted = id,"
                        ' deleted_at = %s, terminated_at = %s, updated_at = %s WHERE uuid = %s AND deleted = 0',
                        (now, now, now, inst['uuid']))
            cur.execute('UPDATE virtual_interfaces SET deleted = id, deleted_at = %s, updated_at = %s'
                        ' WHERE instance_uuid = %s AND deleted = 0', (now, now, inst['uuid']))
            cur.execute('UPDATE fixed_ips SET allocated = 0, leased = 0, updated_at = %s WHERE instance_uuid = %s'
                        ' AND deleted = 0', (now, inst['uuid']))
        conn.commit()
    finally:
        conn.close()
    return inst, {'rows': saved}


def _heal_floating_ip_stale(lab, rec):
    conn = lab.db_connect()
    try:
        with conn.cursor() as cur:
            for table, rows in rec['undo']['rows'].items():
                for row in rows:
                    cols = [c for c in row if c != 'id']
                    cur.execute('UPDATE %s SET %s WHERE id = %%s' % (table, ', '.join('`%s` = %%s' % c for c in cols)),
                                [row[c] for c in cols] + [row['id']])
        conn.commit()
    finally:
        conn.close()


# ---------------------------------------------------------------------- API
def apply(lab, fn, inst):
    """Apply fault ``fn`` to instance ``inst`` once (the same fault on the same target again is the recorded one) and
    record it with what undoes it. Shared by the faults of every topology."""
    for rec in lab.state.get('faults', []):
        if rec['name'] == fn.__name__ and rec['target'] == inst['hostname']:
            return rec
    inst, undo = fn(lab, inst['hostname'])
    rec = {'name': fn.__name__, 'target': inst['hostname'], 'host': inst['host'], 'undo': undo,
           'description': fn.__doc__.strip().splitlines()[0], 'expect_dead': undo.pop('expect_dead', []),
           'injected': datetime.datetime.utcnow().isoformat() + 'Z'}
    lab.state.setdefault('faults', []).append(rec)
    lab.save()
    return rec


def undo_all(lab, healers):
    """Undo every active fault, newest first, with ``healers['_heal_<name>']``; return what was healed."""
    healed = []
    while lab.state.get('faults'):
        rec = lab.state['faults'][-1]
        healers['_heal_' + rec['name']](lab, rec)
        lab.state['faults'].pop()
        lab.save()
        healed.append(rec)
    if healed:
        # ARP entries left INCOMPLETE/FAILED by traffic sent during the fault would delay the first
        # packets after heal by up to a retransmit period: start every lab host with a fresh cache
        for h in lab.state['hosts']:
            run(['ip', '-n', lab.ns(h), 'neigh', 'flush', 'all'], check=False)
    return healed


def lookup(lab, registry, name):
    """The fault ``name`` of ``registry`` for a lab that is up; LabError naming the known ones otherwise."""
    if not lab.state.get('complete'):
        raise LabError('lab %s is not up' % lab.name)
    fn = registry.get(name)
    if fn is None:
        raise LabError('unknown fault %r (known: %s)' % (name, ', '.join(sorted(registry))))
    return fn


def inject(lab, name, target=None):
    fn = lookup(lab, FAULTS, name)
    return apply(lab, fn, _inst(lab, target, need_floating=name in ('nat_missing', 'floating_ip_stale')))


def heal(lab):
    healed = undo_all(lab, globals())
    if healed:
        # a fault that lasted longer than the lease (120 s) made udhcpc deconfigure the guest: boot it again
        lost = [i['hostname'] for i in lab.model['instances'].values() if i['state'] == 'active' and lab.lease(i['hostname']) is None]
        if lost:
            _reboot(lab, lost)
            lab.save()
    return healed
