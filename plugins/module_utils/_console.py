# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instance console log analysis (private): DHCP client runs, lease, metadata service failures.

``analyse_console(text)`` recognises busybox udhcpc (the old Cirros wording ``udhcpc (v1.17.2) started``
/ ``Sending discover...`` / ``No lease, forking to background`` and the current ``udhcpc: started,
v1.35.0`` / ``udhcpc: broadcasting discover`` / ``udhcpc: no lease, failing``), ISC dhclient
(``DHCPDISCOVER on eth0 to 255.255.255.255 port 67 interval 3`` / ``No DHCPOFFERS received.`` /
``bound to 10.0.0.3``), cloud-init's ``ci-info`` device table and its metadata warnings
(``url_helper.py[WARNING]: Calling 'http://169.254.169.254/...' failed``), and Cirros' ``wget: can't
connect to remote host (169.254.169.254): Network is unreachable``. Every finding carries the matching
lines with their line numbers. ANSI colour sequences are removed first, also when the ESC byte was
lost in copying (the chapter's ``[1;32mOK[0;39m``).
"""

from __future__ import annotations

import datetime
import os
import re

METADATA_IP = '169.254.169.254'
_ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\[[0-9]{1,3}(?:;[0-9]{1,3})*m')

# busybox udhcpc, old (1.17, Cirros 0.3) and new (1.2x/1.3x) wording
_U_START_OLD = re.compile(r'udhcpc \(v([\d.]+)\) started')
_U_START_NEW = re.compile(r'udhcpc: started, v([\d.]+)')
_U_DISCOVER = re.compile(r'\b(?:Sending|broadcasting) discover', re.I)
_U_SELECT = re.compile(r'(?:Sending|broadcasting) select for (\d+\.\d+\.\d+\.\d+)(?:, server (\d+\.\d+\.\d+\.\d+))?', re.I)
_U_LEASE = re.compile(r'[Ll]ease of (\d+\.\d+\.\d+\.\d+) obtained(?: from (\d+\.\d+\.\d+\.\d+))?, lease time (\d+)')
_U_NOLEASE = re.compile(r'\b[Nn]o lease, (failing|forking to background)')
_U_NAK = re.compile(r'udhcpc: received DHCP NAK|Received DHCP NAK', re.I)
# ISC dhclient
_D_HEADER = re.compile(r'Internet Systems Consortium DHCP Client ([\w.-]+)')
_D_DISCOVER = re.compile(r'DHCPDISCOVER on (\S+) to \S+ port \d+ interval (\d+)')
_D_OFFER = re.compile(r'DHCPOFFER (?:of (\d+\.\d+\.\d+\.\d+) )?from (\d+\.\d+\.\d+\.\d+)')
_D_REQUEST = re.compile(r'DHCPREQUEST (?:for|of) (\d+\.\d+\.\d+\.\d+) on (\S+)')
_D_ACK = re.compile(r'DHCPACK (?:of (\d+\.\d+\.\d+\.\d+) )?from (\d+\.\d+\.\d+\.\d+)')
_D_NAK = re.compile(r'DHCPNAK from (\d+\.\d+\.\d+\.\d+)')
_D_BOUND = re.compile(r'bound to (\d+\.\d+\.\d+\.\d+) -- renewal in (\d+) seconds')
_D_NOOFFERS = re.compile(r'No DHCPOFFERS received')
_D_GIVEUP = re.compile(r'Unable to obtain a lease on first try|No working leases in persistent database')
# cloud-init
_CI_ROW = re.compile(r'ci-info: \|\s*([^|]+?)\s*\|\s*(True|False)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|')
_MD_FAIL = re.compile(
    r"(?:Calling '([^']*)' failed.*|"
    r"Giving up on md from .*|"
    r"Timed out, no response from urls: .*|"
    r"can't connect to remote host \(169\.254\.169\.254\).*|"
    r"failed to read iid from metadata.*|"
    r"wget: .*169\.254\.169\.254.*|"
    r"download of .*169\.254\.169\.254.* failed.*)")
_MD_TRY = re.compile(r'checking http://169\.254\.169\.254/')
_MD_CIRROS_FAIL = re.compile(r'\bfailed \d+/\d+: up [\d.]+\.')
_MD_OK = re.compile(r'successful after \d+/\d+ tries|Read from http://169\.254\.169\.254/\S+ \(200|'
                    r'Loaded datasource DataSource(?:OpenStack|Ec2)|found datasource \(\S*(?:OpenStack|Ec2)')
_MD_REASONS = (
    ('unreachable', re.compile(r'Network is unreachable|Errno 101', re.I)),
    ('no_route', re.compile(r'No route to host|Errno 113', re.I)),
    ('refused', re.compile(r'Connection refused|Errno 111', re.I)),
    ('timeout', re.compile(r'timed out|timeout', re.I)),
    ('http_error', re.compile(r'bad status code|HTTP Error|40[0-9]|50[0-9]')),
)

# Name resolution failures, with the name when the tool prints it. Wordings captured from the real tools
# (tests/unit/fixtures/console/README.md): curl, GNU wget, busybox wget/ping/nslookup, iputils ping, apt,
# bind's host/dig/nslookup, Python (cloud-init, urllib3) getaddrinfo errors.
_NAME = r"[\"'\u2018\u201c]?([A-Za-z0-9_][A-Za-z0-9_.-]*)[\"'\u2019\u201d]?"
_DNS_FAIL = (
    (re.compile(r'Could not resolve host: ' + _NAME), 'failed'),
    (re.compile(r'unable to resolve host address ' + _NAME), 'failed'),
    (re.compile(r'Resolving (\S+) \([^)]{0,300}\)\.\.\. failed: (?:Temporary failure in name resolution|Name or service not known)'), 'failed'),
    (re.compile(r'(?:wget|ping|nc|telnet|ntpd?|ssh): bad address ' + _NAME), 'failed'),
    (re.compile(r'ping: (\S+?): (?:Temporary failure in name resolution|Name or service not known|No address associated with hostname)'), 'failed'),
    (re.compile(r'ping: unknown host (\S+)'), 'failed'),
    (re.compile(r"nslookup: can't resolve " + _NAME), 'failed'),
    (re.compile(r"\*\* server can't find ([^:\s]+): (?:SERVFAIL|REFUSED)"), 'servfail'),
    (re.compile(r"\*\* server can't find ([^:\s]+): NXDOMAIN"), 'nxdomain'),
    (re.compile(r'Host (\S+) not found: \d\((?:SERVFAIL|REFUSED)\)'), 'servfail'),
    (re.compile(r'Host (\S+) not found: \d\(NXDOMAIN\)'), 'nxdomain'),
    (re.compile(r'(?:Temporary failure resolving|Could not resolve) ' + _NAME), 'failed'),
    (re.compile(r"host='([^']{1,255})'[^\n]{0,400}?(?:Temporary failure in name resolution|Name or service not known|"
                r'No address associated with hostname|Errno -[235]\])'), 'failed'),
    (re.compile(r';; connection timed out; no servers could be reached|Temporary failure in name resolution|'
                r'(?:socket\.)?gaierror[^\n]{0,200}?(?:Errno -[23]\]|EAI_AGAIN)'), 'failed'),
)
# a shell trace (``set -x``: ``+ nslookup NAME``) of a lookup tool names what a following nameless failure was about
_DNS_TRACE = re.compile(r'^\++ (?:\S*/)?(?:nslookup|host|dig|getent hosts|ping|curl|wget)\s+(?:-\S+\s+)*'
                        r'(?:https?://)?([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+)')
_DNS_TIMEOUT = re.compile(r'timed out|Temporary failure|EAI_AGAIN|Errno -3\]|no servers could be reached', re.I)

EVIDENCE_CAP = 20
LINE_CAP = 8192


class ConsoleError(Exception):
    """Unreadable or non-text console log; the message names the file."""


def strip_ansi(text):
    return _ANSI.sub('', text)


def read_console(path, max_bytes=1048576):
    """Read the tail of ``path`` (at most ``max_bytes``). Returns (text, info)."""
    try:
        if os.path.isdir(path):
            raise ConsoleError('console log %s is a directory, not a file' % path)
        with open(path, 'rb') as f:
            st = os.fstat(f.fileno())
            size = st.st_size
            start = max(0, size - max_bytes) if max_bytes else 0
            f.seek(start)
            data = f.read()
    except ConsoleError:
        raise
    except OSError as exc:
        raise ConsoleError('cannot read console log %s: %s' % (path, exc.strerror))
    if start:
        cut = data.find(b'\n')
        data = data[cut + 1:] if cut >= 0 else b''
    if data.count(b'\0') > len(data) // 100 + 1:
        raise ConsoleError('console log %s contains binary data, not text' % path)
    text = data.replace(b'\0', b'').decode('utf-8', 'replace')
    # the host's local wall time, as the syslog stamps of dnsmasq beside it: when the guest last wrote
    modified = datetime.datetime.fromtimestamp(st.st_mtime).isoformat(timespec='seconds')
    return text, {'path': path, 'size': size, 'offset': start, 'truncated': start > 0, 'bytes_read': len(data),
                  'modified': modified}


def _ev(num, line):
    return {'line': num, 'text': line}


def _new_run(client, num, line, version=None):
    return {'client': client, 'version': version, 'interface': None, 'start_line': num, 'end_line': num,
            'discovers': 0, 'offers': [], 'requests': [], 'naks': 0, 'lease': None, 'result': 'in_progress',
            'evidence': [_ev(num, line)]}


def _add(run, num, line):
    run['end_line'] = num
    if len(run['evidence']) < EVIDENCE_CAP:
        run['evidence'].append(_ev(num, line))


def _md_reason(text):
    for name, rx in _MD_REASONS:
        if rx.search(text):
            return name
    return 'failed'


def analyse_console(text, first_line=1):
    """Console text -> ``{dhcp_runs, lease, metadata, interfaces, name_resolution, result, problems}``."""
    runs = []
    run = None
    metadata = {'attempts': 0, 'failures': 0, 'reasons': [], 'ok': False, 'evidence': [], 'last_failure_line': None,
                'last_ok_line': None}
    ci_interfaces = {}
    dns = {'failures': 0, 'names': [], 'reasons': [], 'evidence': [], 'last_failure_line': None}
    trace = {}      # the last shell-traced lookup command: {'line', 'name', 'text'}
    for num, raw in enumerate(text.splitlines(), first_line):
        # every pattern reads one line; real console lines are short and a hostile megabyte line costs no more
        line = strip_ansi(raw[:LINE_CAP * 2]).replace('\r', '').rstrip()[:LINE_CAP]
        if not line:
            continue
        m = _U_START_OLD.search(line) or _U_START_NEW.search(line)
        if m:
            run = _new_run('udhcpc', num, line, m.group(1))
            runs.append(run)
            continue
        m = _D_HEADER.search(line)
        if m:
            run = _new_run('dhclient', num, line, m.group(1))
            runs.append(run)
            continue
        m = _D_DISCOVER.search(line)
        if m:
            if run is None or run['client'] != 'dhclient' or run['result'] != 'in_progress':
                run = _new_run('dhclient', num, line)
                runs.append(run)
            else:
                _add(run, num, line)
            run['interface'] = m.group(1)
            run['discovers'] += 1
            continue
        if _U_DISCOVER.search(line):
            if run is None or run['client'] != 'udhcpc' or run['result'] != 'in_progress':
                run = _new_run('udhcpc', num, line)
                runs.append(run)
            else:
                _add(run, num, line)
            run['discovers'] += 1
            continue
        if run is not None:
            m = _U_SELECT.search(line)
            if m and run['client'] == 'udhcpc':
                run['offers'].append(m.group(1))
                run['requests'].append(m.group(1))
                _add(run, num, line)
                continue
            m = _U_LEASE.search(line)
            if m:
                run['lease'] = {'address': m.group(1), 'server': m.group(2), 'lease_time': int(m.group(3))}
                run['result'] = 'lease'
                _add(run, num, line)
                continue
            m = _U_NOLEASE.search(line)
            if m:
                run['result'] = 'no_lease'
                _add(run, num, line)
                continue
            if _U_NAK.search(line) or _D_NAK.search(line):
                run['naks'] += 1
                _add(run, num, line)
                continue
            m = _D_OFFER.search(line)
            if m:
                run['offers'].append(m.group(1) or m.group(2))
                _add(run, num, line)
                continue
            m = _D_REQUEST.search(line)
            if m:
                run['requests'].append(m.group(1))
                run['interface'] = run['interface'] or m.group(2)
                _add(run, num, line)
                continue
            m = _D_ACK.search(line)
            if m:
                _add(run, num, line)
                continue
            m = _D_BOUND.search(line)
            if m:
                run['lease'] = {'address': m.group(1), 'server': None, 'lease_time': None,
                                'renewal': int(m.group(2))}
                run['result'] = 'lease'
                _add(run, num, line)
                continue
            if _D_NOOFFERS.search(line) or _D_GIVEUP.search(line):
                run['result'] = 'no_lease'
                _add(run, num, line)
                continue
            if 'starting DHCP for' in line or 'starting DHCP forEthernet' in line:
                m2 = re.search(r'interface (\S+)', line)
                if m2 and not run['interface']:
                    run['interface'] = m2.group(1)
                _add(run, num, line)
                continue
        m = _CI_ROW.search(line)
        if m and m.group(1) != 'Device':
            dev, up, addr, mask, scope, hw = m.groups()
            entry = ci_interfaces.setdefault(dev, {'up': up == 'True', 'addresses': [], 'hw_address': None,
                                                   'line': num})
            if addr not in ('.', '') and addr not in entry['addresses']:
                entry['addresses'].append(addr)
            if hw not in ('.', ''):
                entry['hw_address'] = hw
            continue
        if _dns_line(dns, trace, num, line):
            continue
        cirros_fail = _MD_CIRROS_FAIL.search(line)
        if cirros_fail or _MD_OK.search(line) or METADATA_IP in line or 'meta-data' in line or 'metadata' in line.lower():
            if _MD_OK.search(line):
                metadata['ok'] = True
                metadata['last_ok_line'] = num
                if len(metadata['evidence']) < EVIDENCE_CAP:
                    metadata['evidence'].append(_ev(num, line))
                continue
            m = _MD_FAIL.search(line)
            if cirros_fail or (m and (METADATA_IP in line or 'metadata' in line.lower() or m.group(1))):
                metadata['failures'] += 1
                metadata['last_failure_line'] = num
                reason = _md_reason(line)
                if reason not in metadata['reasons']:
                    metadata['reasons'].append(reason)
                if len(metadata['evidence']) < EVIDENCE_CAP:
                    metadata['evidence'].append(_ev(num, line))
                continue
            if _MD_TRY.search(line):
                metadata['attempts'] += 1
                if len(metadata['evidence']) < EVIDENCE_CAP:
                    metadata['evidence'].append(_ev(num, line))
    for r in runs:
        if r['result'] == 'lease' and r['naks']:
            r['result'] = 'nak_then_lease'
    leases = [r for r in runs if r['lease']]
    last = runs[-1] if runs else None
    problems = []
    if last is not None and last['result'] in ('no_lease', 'in_progress') and last['discovers']:
        problems.append({
            'code': 'dhcp_no_lease', 'object': last['interface'] or 'eth0',
            'message': '%s sent %d DHCPDISCOVER(s)%s and got no lease' % (
                last['client'], last['discovers'],
                ' and saw offers of %s' % ', '.join(last['offers']) if last['offers'] else ' without any offer'),
            'evidence': ['%d: %s' % (e['line'], e['text']) for e in last['evidence']]})
    md_failed = metadata['failures'] > 0 and (
        not metadata['ok'] or (metadata['last_ok_line'] or 0) < (metadata['last_failure_line'] or 0))
    metadata['status'] = 'failed' if md_failed else ('ok' if metadata['ok'] else 'unknown')
    if md_failed:
        problems.append({
            'code': 'metadata_unreachable', 'object': METADATA_IP,
            'message': 'the metadata service %s failed %d time(s) (%s)' % (
                METADATA_IP, metadata['failures'], ', '.join(metadata['reasons'])),
            'evidence': ['%d: %s' % (e['line'], e['text']) for e in metadata['evidence'][-6:]]})
    # NXDOMAIN alone is a name that does not exist (a typo, a stale record), not a resolver failure.
    dns['status'] = 'failed' if set(dns['reasons']) - {'nxdomain'} else ('nxdomain' if dns['failures'] else 'unknown')
    if dns['status'] == 'failed':
        problems.append({
            'code': 'name_resolution_failed', 'object': ', '.join(dns['names']) or 'resolver',
            'message': 'name resolution failed %d time(s) in the guest (%s)%s' % (
                dns['failures'], ', '.join(dns['reasons']),
                ': %s' % ', '.join(dns['names']) if dns['names'] else ''),
            'evidence': ['%d: %s' % (e['line'], e['text']) for e in dns['evidence'][-6:]]})
    codes = [p['code'] for p in problems]
    if 'dhcp_no_lease' in codes:
        result = 'dhcp_no_lease'
    elif 'metadata_unreachable' in codes:
        result = 'metadata_unreachable'
    elif 'name_resolution_failed' in codes:
        result = 'name_resolution_failed'
    elif leases or any(i['addresses'] for d, i in ci_interfaces.items() if d != 'lo'):
        result = 'ok'
    else:
        result = 'no_dhcp_seen'
    lease = dict(leases[-1]['lease']) if leases and last is leases[-1] else None
    return {'dhcp_runs': runs, 'lease': lease, 'metadata': metadata, 'interfaces': ci_interfaces,
            'name_resolution': dns, 'result': result, 'problems': problems}


def _dns_line(dns, trace, num, line):
    """Record a name resolution failure of ``line`` in ``dns``; True when the line was one (or a traced
    lookup command, kept in ``trace`` to name a nameless failure within the next five lines)."""
    if METADATA_IP in line:
        return False
    m = _DNS_TRACE.search(line)
    if m:
        trace.update(line=num, name=m.group(1).rstrip('.'), text=line)
        return True
    for regex, kind in _DNS_FAIL:
        m = regex.search(line)
        if m is None:
            continue
        name = m.group(1).rstrip('.') if m.groups() else None
        if name is None and trace and num - trace['line'] <= 5:
            name = trace['name']
            if len(dns['evidence']) < EVIDENCE_CAP:
                dns['evidence'].append(_ev(trace['line'], trace['text']))
            trace.clear()
        if kind == 'failed':
            kind = 'timeout' if _DNS_TIMEOUT.search(line) else 'not_found'
        dns['failures'] += 1
        dns['last_failure_line'] = num
        if name and name not in dns['names'] and len(dns['names']) < EVIDENCE_CAP:
            dns['names'].append(name)
        if kind not in dns['reasons']:
            dns['reasons'].append(kind)
        if len(dns['evidence']) < EVIDENCE_CAP:
            dns['evidence'].append(_ev(num, line))
        return True
    return False


def console_log_path(instances_dir, instance_uuid):
    """``<instances_dir>/<uuid>/console.log``; refuses a uuid that is not a plain name."""
    if not re.match(r'^[A-Za-z0-9._-]+$', instance_uuid or '') or instance_uuid in ('.', '..'):
        raise ConsoleError('invalid instance uuid %r' % (instance_uuid,))
    return os.path.join(instances_dir, instance_uuid, 'console.log')


def analyse_file(path, max_bytes=1048576):
    text, info = read_console(path, max_bytes)
    res = analyse_console(text)
    problems = res.pop('problems')
    info.update(res)
    return info, problems
