# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""packet_capture's bounded capture window, also opened by ping_probe around its own probes (private).

``run_capture(module, params)`` is packet_capture's whole run (``CAPTURE_SPEC`` its options); with ``during``, a
callable run once every tcpdump listens (ping_probe's pings), the window then stays open until its deadline, or until
every tcpdump has its O(count) packets.  Every bound of packet_capture holds: PR_SET_PDEATHSIG and an alarm on each
tcpdump, SIGINT at the deadline, SIGKILL after.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time

from ansible_collections.cloudops.netdiag.plugins.module_utils._capture import (
    KILL_GRACE, CaptureError, annotate_duplicates, effective_count, parse_tcpdump,
    module_start_instant, parse_tcpdump_stats, read_argv, sleep_until, start_captures, stop_captures, supervise,
    tcpdump_argv, tcpdump_error, wait_listening)
from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import SAVE_BINARIES, IptablesError, compare_counters, parse_save
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, netns_argv, netns_path, read_dump

_IFNAME = re.compile(r'^[A-Za-z0-9_.:@+-]{1,15}$')
LISTEN_TIMEOUT = 5.0
HARD_MARGIN = 5.0


def _run(module, argv, netns, ip_bin):
    return module.run_command(netns_argv(netns, argv, ip_bin=ip_bin), environ_update={'LC_ALL': 'C'})


class _Counters(object):
    """iptables packet counters of the capture's namespace when the window opens and when it closes.

    A host where iptables cannot be read still captures: the reason is kept in ``error`` and ``moved`` stays None.
    """

    def __init__(self, module, backend, netns):
        self.module = module
        self.binary = SAVE_BINARIES[backend]
        self.netns = netns
        self.before = None
        self.moved = None
        self.error = None

    def _save(self):
        try:
            out, dummy = read_dump(self.module, self.binary, self.netns)
            return parse_save(out, allow_empty=True)
        except NetnsError as exc:
            self.error = str(exc)
        except IptablesError as exc:
            self.error = 'cannot parse the output of %s: %s' % (self.binary, exc)
        return None

    def snapshot(self):
        if self.error is None:
            self.before = self._save()

    def compare(self):
        if self.error is None and self.before is not None:
            after = self._save()
            if after is not None:
                self.moved = compare_counters(self.before, after)['moved']


def _check_interfaces(module, interfaces, netns, ip_bin):
    """Fail unless every named interface exists; return ({interface: [MACs]} for direction, [interfaces that are down])."""
    macs = {}
    down = []
    where = ' in namespace %s' % netns if netns else ''
    for name in interfaces:
        if name == 'any':
            continue
        rc, out, err = _run(module, [ip_bin, '-j', 'link', 'show', 'dev', name], netns, ip_bin)
        if rc != 0:
            module.fail_json(msg='interface %s does not exist%s: %s' % (name, where, (err or out).strip()))
        try:
            links = json.loads(out)
        except ValueError:
            module.fail_json(msg='cannot read interface %s%s: ip -j printed no JSON' % (name, where))
        macs[name] = [link['address'] for link in links if len(link.get('address') or '') == 17]
        if links and 'UP' not in (links[0].get('flags') or []):
            down.append(name)
    return macs, down


CAPTURE_SPEC = dict(
    interface=dict(type='list', elements='str', default=['any']),
    netns=dict(type='str'),
    filter=dict(type='str'),
    duration=dict(type='float', default=10),
    count=dict(type='int', default=1000),
    snaplen=dict(type='int', default=1600),
    max_file_size=dict(type='int', default=10485760),
    start_at=dict(type='str'),
    pcap_dir=dict(type='path'),
    max_packets_returned=dict(type='int', default=2000),
    window_file=dict(type='path'),
    iptables_counters=dict(type='bool', default=False),
    iptables_backend=dict(type='str', default='auto', choices=['auto', 'nft', 'legacy']),
    side_filter=dict(type='str'),
    side_count=dict(type='int', default=200),
)


def run_capture(module, p, during=None, open_now=False):
    """(what ``during`` returned, packet_capture's result without ``changed``) for options ``p``.

    ``open_now``: open the captures at once instead of at O(start_at); the window still ends at start_at + duration.
    """
    during_result = None
    interfaces = p['interface']
    if not interfaces:
        module.fail_json(msg='interface is empty: give at least one interface or any')
    if len(set(interfaces)) != len(interfaces):
        module.fail_json(msg='interface lists %s more than once' % ', '.join(sorted(set(i for i in interfaces if interfaces.count(i) > 1))))
    if 'any' in interfaces and len(interfaces) > 1:
        module.fail_json(msg='interface any already captures on every interface; do not combine it with %s'
                         % ', '.join(i for i in interfaces if i != 'any'))
    for name in interfaces:
        if not _IFNAME.match(name or '') or name.startswith('-'):
            module.fail_json(msg='invalid interface name %r' % (name,))
    if not 0 < p['duration'] <= 3600:
        module.fail_json(msg='duration must be more than 0 and at most 3600 seconds, got %s' % p['duration'])
    if not 1 <= p['count'] <= 1000000:
        module.fail_json(msg='count must be between 1 and 1000000, got %d' % p['count'])
    if not 64 <= p['snaplen'] <= 262144:
        module.fail_json(msg='snaplen must be between 64 and 262144, got %d' % p['snaplen'])
    if p['max_packets_returned'] < 0:
        module.fail_json(msg='max_packets_returned must not be negative')
    count = effective_count(p['count'], p['snaplen'], p['max_file_size'])
    if count < 1:
        module.fail_json(msg='max_file_size %d cannot hold a single packet of snaplen %d (needs at least %d bytes)'
                         % (p['max_file_size'], p['snaplen'], p['snaplen'] + 40))
    for key in ('filter', 'side_filter'):
        if p.get(key) is not None and p[key].lstrip().startswith('-'):
            module.fail_json(msg='invalid BPF %s %r: it must not start with -' % (key.replace('_', ' '), p[key]))
    side_filter = p.get('side_filter')
    if side_filter is not None and not 1 <= p['side_count'] <= 1000000:
        module.fail_json(msg='side_count must be between 1 and 1000000, got %d' % p['side_count'])
    side_count = effective_count(p['side_count'], p['snaplen'], p['max_file_size'])
    start_at = module_start_instant(module, p['start_at'])

    window_file = p['window_file']
    if window_file:
        if not os.path.isdir(os.path.dirname(window_file) or '.'):
            module.fail_json(msg='the directory of window_file %s does not exist' % window_file)
        if os.path.lexists(window_file):
            module.fail_json(msg='window_file %s already exists' % window_file)

    tcpdump = module.get_bin_path('tcpdump', required=True)
    ip_bin = 'ip'
    netns = p['netns']
    if netns or any(i != 'any' for i in interfaces):
        ip_bin = module.get_bin_path('ip', required=True)
    if netns:
        try:
            netns_path(netns)
        except NetnsError as exc:
            module.fail_json(msg='cannot capture in namespace: %s' % exc)
    macs, down = _check_interfaces(module, interfaces, netns, ip_bin)
    # tcpdump cannot open an interface that is down: the others are captured, the down ones are named in the result
    if down and len(down) == len(interfaces):
        module.fail_json(msg='cannot capture: %s %s down%s' % (
            ', '.join(down), 'is' if len(down) == 1 else 'are', ' in namespace %s' % netns if netns else ''))
    interfaces = [i for i in interfaces if i not in down]

    # Compile the filter first: a syntax error is reported before anything is started.
    check = [tcpdump, '-d', '-i', interfaces[0]] + ([p['filter']] if p['filter'] else [])
    rc, out, err = _run(module, check, netns, ip_bin)
    if rc != 0:
        if p['filter']:
            module.fail_json(msg='invalid BPF filter %r: %s' % (p['filter'], tcpdump_error(err)))
        module.fail_json(msg='tcpdump cannot open %s: %s' % (interfaces[0], tcpdump_error(err)))
    if side_filter:
        rc, out, err = _run(module, [tcpdump, '-d', '-i', interfaces[0], side_filter], netns, ip_bin)
        if rc != 0:
            module.fail_json(msg='invalid BPF side filter %r: %s' % (side_filter, tcpdump_error(err)))

    if p['pcap_dir']:
        workdir = p['pcap_dir']
        try:
            os.makedirs(workdir, mode=0o700, exist_ok=True)
        except OSError as exc:
            module.fail_json(msg='cannot create pcap_dir %s: %s' % (workdir, exc.strerror))
    else:
        workdir = tempfile.mkdtemp(prefix='netdiag-capture-')

    counters = _Counters(module, p['iptables_backend'], netns) if p['iptables_counters'] else None
    try:
        if counters:
            counters.snapshot()     # before the window: the probe fires after it opens
        if not open_now:
            sleep_until(start_at)
        specs = []
        for name in interfaces:
            pcap = os.path.join(workdir, 'capture-%s.pcap' % name)
            argv = tcpdump_argv(tcpdump, name, pcap, p['snaplen'], count, p['filter'])
            specs.append({'interface': name, 'pcap_path': pcap, 'err_path': pcap + '.log',
                          'argv': netns_argv(netns, argv, ip_bin=ip_bin)})
        # the side capture (side_filter): one tcpdump on every interface of the namespace (any; each packet keeps its
        # interface), its own filter and count; it closes with the main ones
        if side_filter:
            pcap = os.path.join(workdir, 'side-any.pcap')
            argv = tcpdump_argv(tcpdump, 'any', pcap, p['snaplen'], side_count, side_filter)
            specs.append({'interface': 'any', 'pcap_path': pcap, 'err_path': pcap + '.log', 'side': True,
                          'argv': netns_argv(netns, argv, ip_bin=ip_bin)})
        hard = LISTEN_TIMEOUT + p['duration'] + KILL_GRACE
        try:
            captures = start_captures(specs, hard)
        except CaptureError as exc:
            module.fail_json(msg=str(exc))
        errors = wait_listening(captures, time.time() + LISTEN_TIMEOUT)
        if errors:
            stop_captures(captures, 'error')
            module.fail_json(msg='capture failed on %s' % '; '.join('%s: %s' % kv for kv in sorted(errors.items())))
        if window_file:
            try:
                os.close(os.open(window_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError as exc:
                stop_captures(captures, 'error')
                module.fail_json(msg='cannot create window_file %s: %s' % (window_file, exc.strerror))
        started_at = time.time()
        # With start_at every host's window ends at the same instant, even for a capture launched late.
        deadline = (start_at if start_at is not None else started_at) + p['duration']
        if during is not None:
            try:
                during_result = during()
            except BaseException:
                stop_captures(captures, 'error')
                raise
        supervise(captures, deadline, p['max_file_size'], window_file=window_file,
                  side=[c for c, spec in zip(captures, specs) if spec.get('side')])
        ended_at = time.time()
        if counters:
            counters.compare()

        packets = []
        results = []
        for cap, spec in zip(captures, specs):
            rc, out, err = _run(module, read_argv(tcpdump, cap.pcap_path), netns, ip_bin)
            if rc != 0 and not out:
                module.fail_json(msg='cannot read back the capture of %s: %s' % (cap.interface, tcpdump_error(err)))
            parsed = parse_tcpdump(out, interface=None if cap.interface == 'any' else cap.interface,
                                   local_macs=macs.get(cap.interface))
            packets.extend(parsed)
            res = {'interface': cap.interface, 'pcap': cap.pcap_path if p['pcap_dir'] else None,
                   'packets': len(parsed), 'stopped_by': cap.stopped_by, 'file_size': cap.max_size_seen,
                   'effective_count': side_count if spec.get('side') else count,
                   'stats': parse_tcpdump_stats(cap.stderr)}
            if spec.get('side'):
                res['side'] = True
            results.append(res)
        packets.sort(key=lambda pkt: pkt['time'])
        annotate_duplicates(packets)
        truncated = len(packets) > p['max_packets_returned']
        packets = packets[:p['max_packets_returned']]
        for cap in captures:
            try:
                os.unlink(cap.err_path)
            except OSError:
                pass
    finally:
        if not p['pcap_dir']:
            shutil.rmtree(workdir, ignore_errors=True)
        if window_file:
            try:
                os.unlink(window_file)
            except OSError:
                pass

    return during_result, dict(packets=packets, captures=results, started_at=started_at, ended_at=ended_at,
                               start_lag=round(started_at - start_at, 6) if start_at is not None else None,
                               truncated=truncated, netns=netns, filter=p['filter'], side_filter=side_filter,
                               iptables_moved=counters.moved if counters else None,
                               iptables_error=counters.error if counters else None, down_interfaces=down)
