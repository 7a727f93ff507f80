# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova.conf (oslo.config INI) reduced to the settings that shape nova-network (private).

``parse_ini(text)`` follows oslo.config's parser: ``[section]`` headers, ``key = value`` or ``key: value``,
full-line comments (``#`` or ``;``), continuation lines (leading whitespace) joined with a newline,
repeated keys kept as a list, matching quotes around a value removed, no inline comments. Essex-era
flag files (``--network_manager=...`` lines) are read as ``[DEFAULT]``.
``network_settings(sections)`` picks the nova-network settings with oslo-style booleans and integers.
"""

from __future__ import annotations

import re

NETWORK_KEYS = {
    'network_manager': 'str', 'flat_interface': 'str', 'flat_network_bridge': 'str', 'vlan_interface': 'str',
    'vlan_start': 'int', 'public_interface': 'str', 'multi_host': 'bool', 'dhcp_domain': 'str',
    'dnsmasq_config_file': 'str', 'fixed_range': 'str', 'routing_source_ip': 'str', 'force_dhcp_release': 'bool',
    'dhcpbridge': 'str', 'dhcpbridge_flagfile': 'str', 'my_ip': 'str', 'metadata_host': 'str', 'metadata_port': 'int',
    'flat_injected': 'bool', 'flat_network_dns': 'str', 'dhcp_lease_time': 'int', 'network_size': 'int',
    'num_networks': 'int', 'share_dhcp_address': 'bool', 'send_arp_for_ha': 'bool', 'dmz_cidr': 'str',
    'firewall_driver': 'str', 'linuxnet_interface_driver': 'str', 'state_path': 'str', 'networks_path': 'str',
    'instances_path': 'str', 'use_network_dns_servers': 'bool', 'use_single_default_gateway': 'bool',
    'auto_assign_floating_ip': 'bool', 'default_floating_pool': 'str', 'floating_range': 'str',
    'use_ipv6': 'bool', 'fake_network': 'bool', 'allow_same_net_traffic': 'bool',
}
_TRUE = ('true', 'yes', 'on', '1')
_FALSE = ('false', 'no', 'off', '0')
_SECTION = re.compile(r'^\[\s*([^\]]+?)\s*\]\s*$')
_KEYVAL = re.compile(r'^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$')
_FLAG = re.compile(r'^--([A-Za-z0-9_.-]+)(?:=(.*))?$')
_MANAGERS = ('FlatDHCPManager', 'VlanManager', 'FlatManager')


class NovaConfError(Exception):
    """Malformed nova.conf; the message names the file and line."""


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ('"', "'"):
        return value[1:-1]
    return value


def parse_ini(text, name='nova.conf'):
    """oslo.config INI text -> ordered {section: {key: [values...]}} (every value a list, in file order)."""
    sections = {}
    section = None
    key = None
    flagfile = False
    for num, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip('\r\n')
        stripped = line.strip()
        if not stripped or stripped[0] in '#;':
            key = None if not stripped else key
            continue
        if line[0].isspace() and key is not None and section is not None:
            vals = sections[section][key]
            vals[-1] = (vals[-1] + '\n' + stripped) if vals[-1] else stripped
            continue
        m = _SECTION.match(stripped)
        if m:
            section = m.group(1)
            if section.upper() == 'DEFAULT':
                section = 'DEFAULT'
            sections.setdefault(section, {})
            key = None
            continue
        m = _FLAG.match(stripped)
        if m and (section is None or flagfile):
            flagfile = True
            section = 'DEFAULT'
            sections.setdefault(section, {})
            key = m.group(1)
            value = m.group(2)
            if value is None:
                value = 'false' if key.startswith('no') and key[2:] in NETWORK_KEYS else 'true'
                key = key[2:] if key.startswith('no') and key[2:] in NETWORK_KEYS else key
            sections[section].setdefault(key, []).append(_unquote(value.strip()))
            continue
        m = _KEYVAL.match(stripped)
        if not m:
            raise NovaConfError('%s line %d: cannot parse %r (expected [section] or key = value)'
                                % (name, num, stripped[:80]))
        if section is None:
            raise NovaConfError('%s line %d: %r comes before any [section] header' % (name, num, stripped[:80]))
        key = m.group(1).strip()
        sections[section].setdefault(key, []).append(_unquote(m.group(2).strip()))
    return sections


def parse_bool(value):
    """oslo.config boolean: true/false, yes/no, on/off, 1/0 (any case); None if not one of them."""
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def manager_short_name(value):
    if not value:
        return None
    for name in _MANAGERS:
        if value == name or value.endswith('.' + name) or value.lower() == name.lower().replace('manager', ''):
            return name
    return value.rsplit('.', 1)[-1]


def _interpolate(value, flat, depth=0):
    if not isinstance(value, str) or '$' not in value or depth > 5:
        return value

    def rep(m):
        name = m.group(1) or m.group(2)
        if name in flat and isinstance(flat[name], str):
            return _interpolate(flat[name], flat, depth + 1)
        return m.group(0)
    return re.sub(r'\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)', rep, value)


def network_settings(sections):
    """Returns (network, other, errors): the nova-network settings of [DEFAULT], the rest by section."""
    default = sections.get('DEFAULT', {})
    network = {}
    errors = []
    flat = {k: v[-1] for k, v in default.items()}
    for key, kind in NETWORK_KEYS.items():
        vals = default.get(key)
        if not vals:
            network[key] = None
            continue
        raw = vals[-1]  # oslo: the last occurrence of a single-valued option wins
        if kind == 'bool':
            b = parse_bool(raw)
            if b is None:
                errors.append('%s = %r is not a boolean' % (key, raw))
            network[key] = b
        elif kind == 'int':
            try:
                network[key] = int(raw)
            except ValueError:
                errors.append('%s = %r is not an integer' % (key, raw))
                network[key] = None
        else:
            network[key] = _interpolate(raw, flat)
    network['network_manager_short'] = manager_short_name(network['network_manager'])
    state_path = network['state_path'] or '/var/lib/nova'
    network['effective'] = {
        'networks_path': network['networks_path'] or state_path.rstrip('/') + '/networks',
        'instances_path': network['instances_path'] or state_path.rstrip('/') + '/instances',
        'dhcp_domain': network['dhcp_domain'] if network['dhcp_domain'] is not None else 'novalocal',
        'public_interface': network['public_interface'] or 'eth0',
        'multi_host': bool(network['multi_host']),
    }
    other = {}
    for sec, keys in sections.items():
        for k, vals in keys.items():
            if sec == 'DEFAULT' and k in NETWORK_KEYS:
                continue
            other.setdefault(sec, {})[k] = vals[0] if len(vals) == 1 else list(vals)
    return network, other, errors


def repeated_keys(sections):
    return {sec: sorted(k for k, v in keys.items() if len(v) > 1) for sec, keys in sections.items()
            if any(len(v) > 1 for v in keys.values())}


_SECRET = re.compile(r'pass|secret|token|connection|private|credential|_key$|^key$', re.I)
REDACTED = 'VALUE_REDACTED'


def redact(other):
    """Replace the values of keys that look like secrets (passwords, DB URLs, tokens)."""
    out = {}
    for sec, keys in other.items():
        out[sec] = {k: (REDACTED if _SECRET.search(k) else v) for k, v in keys.items()}
    return out


def analyse(text, name='nova.conf', hide_secrets=True):
    """nova.conf text -> (nova_conf dict, problems)."""
    sections = parse_ini(text, name)
    network, other, errors = network_settings(sections)
    if hide_secrets:
        other = redact(other)
    problems = [{'code': 'nova_conf_invalid_value', 'object': name, 'message': '%s: %s' % (name, e)} for e in errors]
    return {'path': name, 'sections': list(sections), 'network': network, 'other': other,
            'repeated_keys': repeated_keys(sections)}, problems
