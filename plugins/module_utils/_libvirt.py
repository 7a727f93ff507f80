# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt domain XML facts (private): name, uuid, nova metadata, interfaces, console log path.

``parse_domain_xml(text, source)`` uses only ``xml.etree.ElementTree``. Documents carrying a DOCTYPE or
an ENTITY declaration are refused before parsing: libvirt never writes them, and refusing them removes
the entity-expansion (billion laughs) and external-entity risks without needing defusedxml.

The virsh helpers (``check_domain_names``, ``parse_virsh_names``, ``virsh_error``) are pure: the module
runs virsh, these only judge its input and output.
"""

from __future__ import annotations

import glob
import os
import re
import xml.etree.ElementTree as ET

NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/'
_DTD = re.compile(r'<!\s*(?:DOCTYPE|ENTITY)', re.I)
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
MAX_XML_BYTES = 4 * 1024 * 1024


class LibvirtError(Exception):
    """Unreadable or malformed domain XML; the message names the file or domain."""


def _local(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def _ns(tag):
    return tag[1:].split('}', 1)[0] if isinstance(tag, str) and tag.startswith('{') else ''


def _nova_children(elem, name):
    return [c for c in elem if _local(c.tag) == name and _ns(c.tag).startswith(NOVA_NS)]


def _nova_child(elem, name):
    found = _nova_children(elem, name)
    return found[0] if found else None


def _text(elem):
    return elem.text.strip() if elem is not None and elem.text and elem.text.strip() else None


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _nova_metadata(root):
    meta = root.find('metadata')
    if meta is None:
        return None
    inst = None
    for c in meta:
        if _local(c.tag) == 'instance' and _ns(c.tag).startswith(NOVA_NS):
            inst = c
            break
    if inst is None:
        return None
    out = {'namespace': _ns(inst.tag), 'name': _text(_nova_child(inst, 'name')),
           'creation_time': _text(_nova_child(inst, 'creationTime')), 'package': None,
           'flavor': None, 'owner': None, 'root': None, 'ports': []}
    pkg = _nova_child(inst, 'package')
    if pkg is not None:
        out['package'] = pkg.get('version')
    fl = _nova_child(inst, 'flavor')
    if fl is not None:
        out['flavor'] = {'name': fl.get('name'), 'id': fl.get('id')}
        for k in ('memory', 'disk', 'swap', 'ephemeral', 'vcpus'):
            out['flavor'][k] = _int(_text(_nova_child(fl, k)))
    ow = _nova_child(inst, 'owner')
    if ow is not None:
        user = _nova_child(ow, 'user')
        proj = _nova_child(ow, 'project')
        out['owner'] = {'user': _text(user), 'user_uuid': user.get('uuid') if user is not None else None,
                        'project': _text(proj), 'project_uuid': proj.get('uuid') if proj is not None else None}
    rt = _nova_child(inst, 'root')
    if rt is not None:
        out['root'] = {'type': rt.get('type'), 'uuid': rt.get('uuid')}
    ports = _nova_child(inst, 'ports')
    if ports is not None:
        for p in _nova_children(ports, 'port'):
            ips = [{'type': ip.get('type'), 'address': ip.get('address'), 'ip_version': ip.get('ipVersion')}
                   for ip in _nova_children(p, 'ip')]
            out['ports'].append({'uuid': p.get('uuid'), 'ips': ips})
    return out


def _interface(elem):
    def attr(child, name):
        c = elem.find(child)
        return c.get(name) if c is not None else None
    src = elem.find('source')
    iface = {
        'type': elem.get('type'),
        'mac': (attr('mac', 'address') or '').lower() or None,
        'target_dev': attr('target', 'dev'),
        'source_bridge': src.get('bridge') if src is not None else None,
        'source_network': src.get('network') if src is not None else None,
        'source_dev': src.get('dev') if src is not None else None,
        'model': attr('model', 'type'),
        'mtu': _int(attr('mtu', 'size')),
        'filter': attr('filterref', 'filter'),
        'filter_parameters': {},
        'link_state': attr('link', 'state'),
    }
    fr = elem.find('filterref')
    if fr is not None:
        for p in fr.findall('parameter'):
            if p.get('name'):
                iface['filter_parameters'][p.get('name')] = p.get('value')
    return iface


def parse_domain_xml(text, source='<xml>'):
    """Domain XML text -> domain dict. LibvirtError naming ``source`` for anything malformed."""
    if isinstance(text, bytes):
        try:
            text = text.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise LibvirtError('%s is not UTF-8 text (byte %d)' % (source, exc.start))
    if '\0' in text:
        raise LibvirtError('%s contains binary data, not XML' % source)
    if _DTD.search(text):
        raise LibvirtError('%s has a DOCTYPE or ENTITY declaration; refused (libvirt never writes one)' % source)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise LibvirtError('%s is not well-formed XML: %s' % (source, exc))
    if root.tag != 'domain':
        raise LibvirtError('%s is not a libvirt domain (root element <%s>)' % (source, _local(root.tag)))
    name = _text(root.find('name'))
    uuid = _text(root.find('uuid'))
    nova = _nova_metadata(root)
    sys_uuid = None
    for entry in root.findall('sysinfo/system/entry'):
        if entry.get('name') == 'uuid':
            sys_uuid = _text(entry)
    devices = root.find('devices')
    interfaces = []
    consoles = []
    if devices is not None:
        for elem in devices.findall('interface'):
            interfaces.append(_interface(elem))
        for kind in ('serial', 'console'):
            for elem in devices.findall(kind):
                src = elem.find('source')
                log = elem.find('log')
                path = src.get('path') if src is not None else None
                logfile = log.get('file') if log is not None else None
                consoles.append({'device': kind, 'type': elem.get('type'), 'path': path, 'log_file': logfile})
    console_log = None
    for c in consoles:
        if c['type'] == 'file' and c['path']:
            console_log = c['path']
            break
    if console_log is None:
        for c in consoles:
            if c['log_file']:
                console_log = c['log_file']
                break
    return {
        'source': source,
        'name': name,
        'uuid': uuid,
        'type': root.get('type'),
        'id': _int(root.get('id')),
        'instance_name': name,
        'display_name': nova['name'] if nova else None,
        'instance_uuid': sys_uuid or uuid,
        'nova': nova,
        'interfaces': interfaces,
        'consoles': consoles,
        'console_log': console_log,
    }


def read_domain_file(path):
    try:
        if os.path.isdir(path):
            raise LibvirtError('%s is a directory, not a domain XML file' % path)
        with open(path, 'rb') as f:
            data = f.read(MAX_XML_BYTES + 1)
    except LibvirtError:
        raise
    except OSError as exc:
        raise LibvirtError('cannot read domain XML %s: %s' % (path, exc.strerror))
    if len(data) > MAX_XML_BYTES:
        raise LibvirtError('domain XML %s is larger than %d bytes' % (path, MAX_XML_BYTES))
    return parse_domain_xml(data, path)


def read_domain_dir(path, pattern='instance-*.xml'):
    """Every matching file of a directory: (domains, errors); a bad file is an error entry, not a failure."""
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise LibvirtError('%s is not a directory' % path)
        raise LibvirtError('libvirt domain directory %s does not exist' % path)
    try:
        os.listdir(path)
    except OSError as exc:
        raise LibvirtError('cannot list libvirt domain directory %s: %s' % (path, exc.strerror))
    domains = []
    errors = []
    for fn in sorted(glob.glob(os.path.join(glob.escape(path), pattern))):
        try:
            domains.append(read_domain_file(fn))
        except LibvirtError as exc:
            errors.append({'path': fn, 'error': str(exc)})
    return domains, errors


def filter_domains(domains, macs=None, uuids=None):
    """Domains with one of ``macs`` or one of ``uuids`` (names are selected by ``select_domains``)."""
    macs = set(m.lower() for m in macs) if macs else None
    uuids = set(u.lower() for u in uuids) if uuids else None
    out = []
    for d in domains:
        if macs and not any(i['mac'] in macs for i in d['interfaces']):
            continue
        if uuids and not ((d['uuid'] or '').lower() in uuids or (d['instance_uuid'] or '').lower() in uuids):
            continue
        out.append(d)
    return out


def domain_problems(domains, errors):
    problems = [{'code': 'libvirt_xml_invalid', 'object': e['path'], 'message': e['error']} for e in errors]
    seen = {}
    for d in domains:
        for i in d['interfaces']:
            if i['mac']:
                seen.setdefault(i['mac'], []).append(d['name'])
            if i['type'] == 'bridge' and not i['source_bridge']:
                problems.append({'code': 'libvirt_interface_without_bridge', 'object': d['name'],
                                 'message': 'domain %s interface %s has no source bridge' % (d['name'], i['mac'])})
    for mac, names in sorted(seen.items()):
        if len(names) > 1:
            problems.append({'code': 'libvirt_duplicate_mac', 'object': mac,
                             'message': 'MAC %s is used by %s' % (mac, ', '.join(names))})
    return problems


def check_domain_names(names):
    """The first unusable requested domain name as an error message, or None.

    Empty names and names with control characters (newline, NUL, ...) can name no libvirt domain and
    would not survive a command line or a line-based listing; everything else (spaces, a leading
    ``-``) is a legal libvirt name and is passed to virsh after ``--``.
    """
    for name in names or []:
        if not name or not name.strip():
            return 'empty domain name in name'
        if _CONTROL.search(name):
            return 'domain name %r contains a control character; no libvirt domain can have it' % name
    return None


def parse_virsh_names(text):
    """Output of ``virsh list --all --name`` -> domain names in virsh's order (one per line)."""
    return [line.rstrip('\r') for line in text.split('\n') if line.strip()]


def virsh_error(err, limit=600):
    """virsh stderr -> one line: ``error:`` prefixes dropped, repeated lines once, joined with '; '."""
    lines = []
    for line in (err or '').splitlines():
        line = line.strip()
        if line.startswith('error: '):
            line = line[len('error: '):]
        if line and line not in lines:
            lines.append(line)
    msg = '; '.join(lines) or 'no error message'
    return msg if len(msg) <= limit else msg[:limit - 3] + '...'


def select_domains(domains, names):
    """Domains named in ``names``, in that order, each once: (selected, names that matched nothing).

    A name that is a domain's libvirt name selects that domain; otherwise it selects every domain
    whose nova display name it is (display names are not unique).
    """
    selected = []
    missing = []
    for name in names:
        found = [d for d in domains if d['name'] == name]
        if not found:
            found = [d for d in domains if d.get('display_name') == name]
        if not found:
            missing.append(name)
        for d in found:
            if not any(d is s for s in selected):
                selected.append(d)
    return selected, missing
