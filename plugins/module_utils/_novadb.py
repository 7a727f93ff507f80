# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nova (nova-network) database: connection, instance facts, audit, floating IP repair (private).

Exact about the real schema (nova 34.0.0 migrations; the nova-network tables keep the columns of
nova 24.2.1): ``instances``, ``fixed_ips`` (-> instances by ``instance_uuid``), ``floating_ips``
(-> fixed_ips by ``fixed_ip_id``, no foreign key), ``networks``, ``virtual_interfaces``. A floating
IP is never tied to an instance directly, only through a fixed IP.

Soft delete as nova does it: a live row has ``deleted = 0``; a soft-deleted row has ``deleted = id``
and ``deleted_at`` set. Nova's own queries only see ``deleted = 0`` rows, and so do ours unless
they say otherwise.

Everything here works without AnsibleModule: functions take a PyMySQL connection (or the
connection options) and return plain JSON types, or raise :class:`NovaDBError` with one sentence
that never contains the password. Every SQL statement is parameterized; no value given by a user
is ever formatted into SQL text.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import json
import os
import re
import time
import uuid as uuidlib

try:
    import pymysql
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    pymysql = None
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = exc

DEFAULT_CONFIG_FILE = '~/.my.cnf'
MAX_NAME_LENGTH = 255  # instances.hostname / display_name are varchar(255)
# every read and write of the connection (the greeting, the login, each statement's answer) is bounded by
# connect_timeout + the lock wait a statement may do (lock_timeout of the repair module) + this margin
ANSWER_MARGIN = 5

INSTANCE_COLUMNS = ('id', 'uuid', 'hostname', 'display_name', 'host', 'node', 'project_id', 'vm_state',
                    'task_state', 'power_state', 'launched_at', 'terminated_at', 'deleted', 'deleted_at')
FIXED_IP_COLUMNS = ('id', 'address', 'network_id', 'allocated', 'leased', 'reserved', 'virtual_interface_id',
                    'host', 'instance_uuid', 'deleted', 'deleted_at', 'updated_at')
FLOATING_IP_COLUMNS = ('id', 'address', 'fixed_ip_id', 'project_id', 'host', 'auto_assigned', 'pool',
                       'interface', 'deleted', 'deleted_at', 'updated_at')
NETWORK_COLUMNS = ('id', 'label', 'cidr', 'bridge', 'bridge_interface', 'vlan', 'gateway', 'multi_host', 'host',
                   'dhcp_server', 'project_id', 'deleted')
VIF_COLUMNS = ('id', 'address', 'uuid', 'network_id', 'instance_uuid', 'deleted')

# the columns floating_ip_disassociate changes (and compares after the change)
DISASSOCIATE_COLUMNS = ('fixed_ip_id', 'host')
RELEASE_COLUMNS = ('project_id', 'auto_assigned')

# MySQL/MariaDB error numbers we explain
ER_ACCESS_DENIED = 1045
ER_DBACCESS_DENIED = 1044
ER_BAD_DB = 1049
ER_TABLEACCESS_DENIED = 1142
ER_COLUMNACCESS_DENIED = 1143
ER_NO_SUCH_TABLE = 1146
ER_BAD_FIELD = 1054
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
ER_QUERY_INTERRUPTED = 1317
ER_READ_ONLY = 1290
ER_OPTION_PREVENTS = 1290
ER_CONNECTION_KILLED = 1927
CR_CONN_HOST_ERROR = 2003
CR_CONNECTION_ERROR = 2002
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013
CR_UNKNOWN_HOST = 2005
LOST = (CR_SERVER_GONE, CR_SERVER_LOST, ER_CONNECTION_KILLED, ER_QUERY_INTERRUPTED)


class NovaDBError(Exception):
    """A foreseeable failure, with a one-sentence message for the user (never a password)."""

    def __init__(self, message, code='db_error', **details):
        super(NovaDBError, self).__init__(message)
        self.code = code
        self.details = details


# ---------------------------------------------------------------------------------------------
# values and rows
# ---------------------------------------------------------------------------------------------

def jsonable(value):
    """A value from PyMySQL as a plain JSON type."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode('utf-8', 'replace')
    return value


def row_dict(columns, row):
    return dict((c, jsonable(v)) for c, v in zip(columns, row))


def is_live(row):
    """Nova's view: a row is visible when ``deleted = 0``."""
    return row is not None and row.get('deleted') == 0


def instance_is_gone(inst):
    """True for a soft-deleted or terminated instance (what the chapter calls "terminated")."""
    if inst is None:
        return True
    return inst.get('deleted') not in (0, None) or inst.get('vm_state') in ('deleted', 'soft-delete') \
        or inst.get('terminated_at') is not None


def describe_instance(inst):
    state = 'deleted' if inst.get('deleted') not in (0, None) else (inst.get('vm_state') or 'unknown state')
    return '%s (uuid %s, host %s, %s)' % (inst.get('hostname') or inst.get('display_name') or '?', inst.get('uuid'),
                                          inst.get('host') or '-', state)


# ---------------------------------------------------------------------------------------------
# input validation (before any SQL is sent)
# ---------------------------------------------------------------------------------------------

_CONTROL = re.compile('[\x00-\x1f\x7f]')


def _shown(value, limit=60):
    """A user value made safe to put in a message: repr, truncated."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...(%d characters)' % len(value)


def validate_name(value, what='instance'):
    """A hostname / display name / uuid given by the user, checked before it reaches SQL."""
    if not isinstance(value, str):
        raise NovaDBError('%s must be a string, got %s' % (what, type(value).__name__), code='bad_input')
    if not value.strip():
        raise NovaDBError('%s must not be empty' % what, code='bad_input')
    if len(value) > MAX_NAME_LENGTH:
        raise NovaDBError('%s %s is longer than %d characters, the size of the nova columns, so no instance can have it'
                          % (what, _shown(value), MAX_NAME_LENGTH), code='bad_input')
    try:
        value.encode('utf-8', 'strict')
    except UnicodeEncodeError:
        raise NovaDBError('%s %s is not valid UTF-8' % (what, _shown(value)), code='bad_input')
    if '\ufffd' in value:
        raise NovaDBError('%s %s contains bytes that were not valid UTF-8 (U+FFFD)' % (what, _shown(value)), code='bad_input')
    if _CONTROL.search(value):
        raise NovaDBError('%s %s contains control characters' % (what, _shown(value)), code='bad_input')
    if any(ord(ch) > 0xFFFF for ch in value):
        # utf8mb3 columns cannot hold 4-byte characters: no row can match, and comparing would fail
        raise NovaDBError('%s %s contains characters outside the Basic Multilingual Plane, which nova\'s utf8mb3'
                          ' columns cannot store' % (what, _shown(value)), code='bad_input')
    return value


def validate_address(value):
    """A floating IP address: must parse as IPv4 or IPv6; returns its canonical text."""
    if not isinstance(value, str) or len(value) > 45:
        raise NovaDBError('address %s is not an IP address' % _shown(value), code='bad_input')
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise NovaDBError('address %s is not an IP address' % _shown(value), code='bad_input')


def validate_id(value, what='fixed_ip_id'):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NovaDBError('%s %s is not an integer' % (what, _shown(value)), code='bad_input')
    if isinstance(value, bool) or number <= 0 or number > 2 ** 31 - 1:
        raise NovaDBError('%s %s is not a valid row id' % (what, _shown(value)), code='bad_input')
    return number


def looks_like_uuid(value):
    try:
        return str(uuidlib.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False


# ---------------------------------------------------------------------------------------------
# connection
# ---------------------------------------------------------------------------------------------

def _where(params):
    if params.get('login_unix_socket'):
        return 'socket %s' % params['login_unix_socket']
    return '%s:%s' % (params.get('login_host') or 'localhost', params.get('login_port') or 3306)


def explain_error(exc, params=None, action=None, table=None, service='nova'):
    """A PyMySQL exception turned into a NovaDBError with one clear sentence (password never included)."""
    params = params or {}
    code = exc.args[0] if getattr(exc, 'args', None) and isinstance(exc.args[0], int) else None
    text = exc.args[1] if getattr(exc, 'args', None) and len(exc.args) > 1 else str(exc)
    text = str(text)
    password = params.get('login_password')
    if password:
        text = text.replace(password, '********')
    where = _where(params)
    db = params.get('login_db') or service
    user = params.get('login_user') or '(default user)'
    doing = (' while trying to %s' % action) if action else ''
    if code == CR_CONN_HOST_ERROR and re.search(r'\bSSL\b|certificate|TLS', text):
        return NovaDBError('the TLS connection to the %s database at %s failed (%s); check ca_cert, client_cert, client_key,'
                           ' check_hostname and that login_host is the name in the server certificate' % (service, where, text),
                           code='db_tls_error')
    if code in (CR_CONN_HOST_ERROR, CR_CONNECTION_ERROR, CR_UNKNOWN_HOST):
        return NovaDBError('cannot connect to the %s database at %s: the server is down or unreachable (%s)' % (service, where, text),
                           code='db_unreachable')
    if code == ER_ACCESS_DENIED:
        return NovaDBError('access denied for user %s at %s: wrong user name or password' % (user, where),
                           code='db_access_denied')
    if code == ER_DBACCESS_DENIED:
        return NovaDBError('user %s may not use database %s at %s' % (user, db, where), code='db_access_denied')
    if code == ER_BAD_DB:
        return NovaDBError('database %s does not exist at %s' % (db, where), code='db_missing')
    if code == ER_NO_SUCH_TABLE:
        return NovaDBError('%s%s: database %s at %s lacks a %s table; is it %s?'
                           % (text, doing, db, where, 'nova-network' if service == 'nova' else service,
                              'a nova cell database' if service == 'nova' else 'the %s database' % service), code='table_missing')
    if code == ER_BAD_FIELD:
        return NovaDBError('%s%s: the schema of database %s at %s is not the %s schema this module knows'
                           % (text, doing, db, where, service), code='schema_mismatch')
    if code in (ER_TABLEACCESS_DENIED, ER_COLUMNACCESS_DENIED):
        return NovaDBError('user %s is not allowed to change %s in database %s at %s (read-only account?): %s'
                           % (user, table or 'the table', db, where, text), code='db_permission_denied')
    if code == ER_OPTION_PREVENTS:
        return NovaDBError('the server at %s refuses changes (%s)%s' % (where, text, doing), code='db_read_only')
    if code == ER_LOCK_WAIT_TIMEOUT:
        return NovaDBError('the rows are locked by another transaction and the lock wait timed out%s; nothing changed,'
                           ' try again later' % doing, code='lock_timeout')
    if code == ER_LOCK_DEADLOCK:
        return NovaDBError('deadlock with another transaction%s; the server rolled back, nothing changed, try again' % doing,
                           code='deadlock')
    if code in LOST:
        return NovaDBError('the connection to the %s database at %s was lost%s (%s)' % (service, where, doing, text),
                           code='connection_lost')
    return NovaDBError('%s database error at %s%s: %s' % (service, where, doing, text), code='db_error')


def connection_argument_spec():
    """The connection options of every nova DB module (documented in the nova_db doc fragment).

    Named as community.mysql names them, so operators' module_defaults carry over.
    """
    return dict(
        login_host=dict(type='str'),
        login_port=dict(type='int', default=3306),
        login_user=dict(type='str'),
        login_password=dict(type='str', no_log=True),
        login_db=dict(type='str', default='nova'),
        login_unix_socket=dict(type='str'),
        config_file=dict(type='path', default=DEFAULT_CONFIG_FILE),
        ca_cert=dict(type='path', aliases=['ssl_ca']),
        client_cert=dict(type='path', aliases=['ssl_cert']),
        client_key=dict(type='path', aliases=['ssl_key'], no_log=False),
        check_hostname=dict(type='bool'),
        connect_timeout=dict(type='int', default=30),
    )


def connection_kwargs(params):
    """PyMySQL keyword arguments from the modules' (community.mysql) option names."""
    # PyMySQL bounds the TCP connect with connect_timeout, every later read and write (greeting and login too)
    # with read_timeout/write_timeout: a hung server is given up after connect_timeout, plus the longest lock
    # wait a statement of the module may do (the server answers "lock wait timeout" then), plus a margin
    connect_timeout = int(params.get('connect_timeout') or 30)
    answer = connect_timeout + int(params.get('lock_timeout') or 0) + ANSWER_MARGIN
    kw = {'connect_timeout': connect_timeout, 'charset': 'utf8mb4', 'autocommit': False,
          'read_timeout': answer, 'write_timeout': answer}
    config_file = params.get('config_file')
    if config_file:
        path = os.path.expanduser(config_file)
        if os.path.exists(path):
            if not os.access(path, os.R_OK):
                raise NovaDBError('config_file %s is not readable' % path, code='bad_config')
            kw['read_default_file'] = path
        elif os.path.expanduser(DEFAULT_CONFIG_FILE) != path:
            raise NovaDBError('config_file %s does not exist' % path, code='bad_config')
    if params.get('login_user') is not None:
        kw['user'] = params['login_user']
    if params.get('login_password') is not None:
        kw['password'] = params['login_password']
    kw['database'] = params.get('login_db') or 'nova'
    if params.get('login_unix_socket'):
        kw['unix_socket'] = params['login_unix_socket']
    else:
        if params.get('login_host'):
            kw['host'] = params['login_host']
        kw['port'] = int(params.get('login_port') or 3306)
    for option in ('ca_cert', 'client_cert', 'client_key'):
        if params.get(option) and not os.access(params[option], os.R_OK):
            raise NovaDBError('%s %s %s' % (option, params[option], 'is not readable' if os.path.exists(params[option])
                                                                    else 'does not exist'), code='bad_config')
    if params.get('ca_cert'):
        kw['ssl_ca'] = params['ca_cert']
    if params.get('client_cert'):
        kw['ssl_cert'] = params['client_cert']
    if params.get('client_key'):
        kw['ssl_key'] = params['client_key']
    check_hostname = params.get('check_hostname')
    if params.get('ca_cert'):
        # as community.mysql gets it from PyMySQL: the server's certificate is verified against ca_cert and its
        # name checked unless check_hostname=false (PyMySQL's ssl_ca alone would verify nothing)
        kw['ssl_verify_cert'] = True
        kw['ssl_verify_identity'] = True if check_hostname is None else bool(check_hostname)
    elif check_hostname is not None and params.get('client_cert'):
        # no CA given: check_hostname=true verifies against the system's CA store
        kw['ssl_verify_cert'] = bool(check_hostname)
        kw['ssl_verify_identity'] = bool(check_hostname)
    return kw


def connect(params, service='nova'):
    """Open a PyMySQL connection for the options in ``params``; NovaDBError on any failure."""
    if not HAS_PYMYSQL:
        raise NovaDBError('the PyMySQL Python library is required on the host that runs this module', code='missing_library')
    kw = connection_kwargs(params)
    try:
        conn = pymysql.connect(**kw)
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] in LOST:
            raise NovaDBError('cannot connect to the %s database at %s: no answer within %d s (connect_timeout %d s + %d s) (%s)'
                              % (service, _where(params), kw['read_timeout'], kw['connect_timeout'], kw['read_timeout'] - kw['connect_timeout'],
                                 exc.args[-1]), code='db_unreachable')
        raise explain_error(exc, params, action='connect', service=service)
    except Exception as exc:  # configparser errors from a malformed my.cnf, SSL file errors, socket errors
        message = str(exc)
        if params.get('login_password'):
            message = message.replace(params['login_password'], '********')
        raise NovaDBError('cannot connect to the %s database at %s: %s: %s' % (service, _where(params), type(exc).__name__, message),
                          code='db_unreachable')
    return conn


def close_quietly(conn):
    """Close ``conn``; a connection the server already dropped has nothing left to close."""
    try:
        conn.close()
    except Exception:  # pylint: disable=broad-except
        pass


def _query(cur, sql, args=None, params=None, action=None, table=None):
    try:
        cur.execute(sql, args)
        return cur.fetchall()
    except pymysql.err.MySQLError as exc:
        raise explain_error(exc, params, action=action, table=table)


def _select(cur, table, columns, where, args, params=None, lock=None, order='id'):
    sql = 'SELECT %s FROM `%s` WHERE %s ORDER BY %s' % (', '.join('`%s`' % c for c in columns), table, where, order)
    if lock == 'update':
        sql += ' FOR UPDATE'
    elif lock == 'share':
        sql += ' LOCK IN SHARE MODE'
    rows = _query(cur, sql, args, params, action='read %s' % table, table=table)
    return [row_dict(columns, r) for r in rows]


def _in(ids):
    ids = [int(i) for i in ids]
    return ', '.join(['%s'] * len(ids)), ids


# ---------------------------------------------------------------------------------------------
# instance lookup and facts
# ---------------------------------------------------------------------------------------------

def find_instances(cur, ref, params=None):
    """Instances (live and soft-deleted) whose uuid, hostname or display_name is exactly ``ref``."""
    validate_name(ref, 'instance')
    if looks_like_uuid(ref):
        rows = _select(cur, 'instances', INSTANCE_COLUMNS, 'uuid = %s', (ref.lower(),), params)
    else:
        rows = _select(cur, 'instances', INSTANCE_COLUMNS, 'hostname = %s OR display_name = %s', (ref, ref), params)
    # the collation is case-insensitive and ignores trailing spaces: keep exact matches only
    exact = [r for r in rows if ref.lower() == (r['uuid'] or '').lower() or ref in (r['hostname'], r['display_name'])]
    return exact, [r for r in rows if r not in exact]


def candidate_summary(rows):
    return [dict((k, r.get(k)) for k in ('uuid', 'hostname', 'display_name', 'host', 'vm_state', 'deleted', 'deleted_at'))
            for r in rows]


def resolve_instance(cur, ref, params=None, prefer_live=False):
    """Exactly one instance for ``ref`` or NovaDBError(code='ambiguous_instance'/'instance_not_found').

    With ``prefer_live``, several matches of which exactly one is live resolve to the live one.
    """
    exact, similar = find_instances(cur, ref, params)
    if not exact:
        hint = ''
        if similar:
            hint = '; similar (case or trailing spaces differ): %s' % ', '.join(describe_instance(r) for r in similar[:10])
        raise NovaDBError('no instance has the uuid, hostname or display name %s%s' % (_shown(ref), hint),
                          code='instance_not_found', candidates=candidate_summary(similar))
    if len(exact) == 1:
        return exact[0], exact
    if prefer_live:
        live = [r for r in exact if not instance_is_gone(r)]
        if len(live) == 1:
            return live[0], exact
    raise NovaDBError('instance %s is ambiguous, %d instances match: %s; give the uuid instead'
                      % (_shown(ref), len(exact), '; '.join(describe_instance(r) for r in exact[:20])),
                      code='ambiguous_instance', candidates=candidate_summary(exact))


def instance_network(cur, inst, params=None):
    """The instance's fixed IPs (with network and VIF) and the live floating IPs on them."""
    fixed = _select(cur, 'fixed_ips', FIXED_IP_COLUMNS, 'instance_uuid = %s', (inst['uuid'],), params)
    net_ids = sorted(set(f['network_id'] for f in fixed if f['network_id'] is not None))
    vif_ids = sorted(set(f['virtual_interface_id'] for f in fixed if f['virtual_interface_id'] is not None))
    nets, vifs = {}, {}
    if net_ids:
        marks, args = _in(net_ids)
        nets = dict((n['id'], n) for n in _select(cur, 'networks', NETWORK_COLUMNS, 'id IN (%s)' % marks, args, params))
    vif_rows = _select(cur, 'virtual_interfaces', VIF_COLUMNS, 'instance_uuid = %s', (inst['uuid'],), params)
    vifs = dict((v['id'], v) for v in vif_rows)
    missing_vifs = [i for i in vif_ids if i not in vifs]
    if missing_vifs:
        marks, args = _in(missing_vifs)
        for v in _select(cur, 'virtual_interfaces', VIF_COLUMNS, 'id IN (%s)' % marks, args, params):
            vifs[v['id']] = v
    floating = []
    if fixed:
        marks, args = _in([f['id'] for f in fixed])
        floating = _select(cur, 'floating_ips', FLOATING_IP_COLUMNS, 'fixed_ip_id IN (%s) AND deleted = 0' % marks, args, params)
    by_fixed = dict((f['id'], f) for f in fixed)
    fixed_out = []
    for f in fixed:
        item = dict(f)
        item['deleted'] = f['deleted'] not in (0, None)
        item['allocated'] = bool(f['allocated'])
        item['leased'] = bool(f['leased'])
        item['reserved'] = bool(f['reserved'])
        item['network'] = nets.get(f['network_id'])
        vif = vifs.get(f['virtual_interface_id'])
        item['virtual_interface'] = vif
        item['mac'] = vif['address'] if vif else None
        item['floating_ips'] = [fl['address'] for fl in floating if fl['fixed_ip_id'] == f['id']]
        fixed_out.append(item)
    floating_out = []
    for fl in floating:
        item = dict(fl)
        item['deleted'] = False
        item['auto_assigned'] = bool(fl['auto_assigned'])
        item['fixed_address'] = by_fixed[fl['fixed_ip_id']]['address']
        floating_out.append(item)
    return fixed_out, floating_out, sorted(vifs.values(), key=lambda v: v['id'])


def instance_facts(conn, ref, params=None):
    """What nova_network_info returns for one instance: ``{instance, matches}``."""
    with conn.cursor() as cur:
        try:
            inst, matches = resolve_instance(cur, ref, params, prefer_live=True)
        except NovaDBError as exc:
            if exc.code == 'ambiguous_instance':
                return {'instance': None, 'matches': exc.details['candidates'],
                        'problems': [{'code': 'ambiguous_instance', 'message': str(exc), 'object': ref}]}
            if exc.code == 'instance_not_found':
                return {'instance': None, 'matches': exc.details.get('candidates', []),
                        'problems': [{'code': 'instance_not_found', 'message': str(exc), 'object': ref}]}
            raise
        fixed, floating, vifs = instance_network(cur, inst, params)
    out = dict(inst)
    out['deleted'] = inst['deleted'] not in (0, None)
    out['gone'] = instance_is_gone(inst)
    out['fixed_ips'] = fixed
    out['floating_ips'] = floating
    out['virtual_interfaces'] = vifs
    problems = []
    if out['gone'] and floating:
        problems.append({'code': 'floating_ip_on_deleted_instance', 'object': inst['uuid'],
                         'message': 'instance %s is deleted but floating IP(s) %s are still associated with its fixed IP(s)'
                         % (describe_instance(inst), ', '.join(f['address'] for f in floating))})
    return {'instance': out, 'matches': candidate_summary(matches), 'problems': problems}


# ---------------------------------------------------------------------------------------------
# audit of the whole database
# ---------------------------------------------------------------------------------------------

REPAIRABLE = ('floating_ip_on_deleted_instance', 'floating_ip_on_missing_fixed_ip', 'floating_ip_on_deleted_fixed_ip',
              'floating_ip_on_unallocated_fixed_ip')


def _select_ids(cur, table, columns, key, values, params=None, extra=''):
    """Rows whose ``key`` is in ``values``, in chunks (IN lists of at most 1000 values)."""
    values = sorted(set(v for v in values if v is not None))
    rows = []
    for i in range(0, len(values), 1000):
        chunk = values[i:i + 1000]
        rows.extend(_select(cur, table, columns, '`%s` IN (%s)%s' % (key, ', '.join(['%s'] * len(chunk)), extra), chunk, params))
    return rows


def load_tables(conn, params=None):
    """The rows the audit can need, read in one consistent snapshot.

    Not whole tables: nova-manage creates a fixed_ips row for every address of every network and
    deleted instances accumulate, so only these are read: live floating IPs; the fixed IPs they
    point at, every live fixed IP that names an instance and live duplicates of a fixed address;
    the instances and virtual interfaces those fixed IPs name, live duplicates of a MAC; networks.
    """
    with conn.cursor() as cur:
        _query(cur, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY', None, params)
        try:
            floating = _select(cur, 'floating_ips', FLOATING_IP_COLUMNS, 'deleted = 0', None, params)
            fixed = _select(cur, 'fixed_ips', FIXED_IP_COLUMNS,
                            '(deleted = 0 AND instance_uuid IS NOT NULL) OR (deleted = 0 AND address IN'
                            ' (SELECT address FROM fixed_ips WHERE deleted = 0 GROUP BY address HAVING COUNT(*) > 1))',
                            None, params)
            known = set(f['id'] for f in fixed)
            fixed.extend(_select_ids(cur, 'fixed_ips', FIXED_IP_COLUMNS, 'id',
                                     [fl['fixed_ip_id'] for fl in floating if fl['fixed_ip_id'] not in known], params))
            instances = _select_ids(cur, 'instances', INSTANCE_COLUMNS, 'uuid', [f['instance_uuid'] for f in fixed], params)
            vifs = _select_ids(cur, 'virtual_interfaces', VIF_COLUMNS, 'id', [f['virtual_interface_id'] for f in fixed], params)
            known = set(v['id'] for v in vifs)
            vifs.extend(v for v in _select(cur, 'virtual_interfaces', VIF_COLUMNS,
                                           'deleted = 0 AND address IN (SELECT address FROM virtual_interfaces WHERE deleted = 0'
                                           ' GROUP BY address HAVING COUNT(*) > 1)', None, params) if v['id'] not in known)
            data = {
                'instances': sorted(instances, key=lambda r: r['id']),
                'fixed_ips': sorted(fixed, key=lambda r: r['id']),
                'floating_ips': floating,
                'networks': _select(cur, 'networks', NETWORK_COLUMNS, '1 = 1', None, params),
                'virtual_interfaces': sorted(vifs, key=lambda r: r['id']),
            }
        finally:
            try:
                conn.rollback()
            except pymysql.err.MySQLError:
                pass
    return data


def _finding(code, severity, obj, message, rows, repair=None):
    item = {'code': code, 'severity': severity, 'object': obj, 'message': message, 'rows': rows}
    if repair:
        item['repair'] = repair
    return item


def audit(data):
    """Inconsistencies between instances, fixed_ips, floating_ips, networks and VIFs (pure function).

    ``data`` maps table name to a list of row dicts (as :func:`load_tables` returns). Returns
    ``{'findings': [...], 'summary': {...}}``; each finding has ``code``, ``severity``
    (``error``/``warning``), ``object`` (an address or uuid), ``message``, ``rows`` (the rows that
    show it, by table) and for repairable ones ``repair`` (floating_ip_disassociate arguments).
    """
    instances = dict((i['uuid'], i) for i in data.get('instances', []))
    fixed_all = dict((f['id'], f) for f in data.get('fixed_ips', []))
    networks = dict((n['id'], n) for n in data.get('networks', []))
    vifs = dict((v['id'], v) for v in data.get('virtual_interfaces', []))
    floating_live = [f for f in data.get('floating_ips', []) if is_live(f)]
    fixed_live = [f for f in data.get('fixed_ips', []) if is_live(f)]
    findings = []

    for fl in floating_live:
        if fl['fixed_ip_id'] is None:
            continue
        fx = fixed_all.get(fl['fixed_ip_id'])
        repair = {'address': fl['address']}
        if fx is None:
            findings.append(_finding(
                'floating_ip_on_missing_fixed_ip', 'error', fl['address'],
                'floating IP %s points at fixed IP id %s, which does not exist' % (fl['address'], fl['fixed_ip_id']),
                {'floating_ips': [fl]}, repair))
            continue
        if not is_live(fx):
            findings.append(_finding(
                'floating_ip_on_deleted_fixed_ip', 'error', fl['address'],
                'floating IP %s points at fixed IP %s (id %s), which is soft-deleted' % (fl['address'], fx['address'], fx['id']),
                {'floating_ips': [fl], 'fixed_ips': [fx]}, repair))
            continue
        if not fx['instance_uuid']:
            findings.append(_finding(
                'floating_ip_on_unallocated_fixed_ip', 'error', fl['address'],
                'floating IP %s is associated with fixed IP %s (id %s), which is not allocated to any instance'
                % (fl['address'], fx['address'], fx['id']),
                {'floating_ips': [fl], 'fixed_ips': [fx]}, repair))
            continue
        inst = instances.get(fx['instance_uuid'])
        if instance_is_gone(inst):
            what = 'does not exist' if inst is None else 'is deleted/terminated'
            findings.append(_finding(
                'floating_ip_on_deleted_instance', 'error', fl['address'],
                'floating IP %s is still associated with fixed IP %s of instance %s, which %s'
                % (fl['address'], fx['address'], describe_instance(inst) if inst else fx['instance_uuid'], what),
                {'floating_ips': [fl], 'fixed_ips': [fx], 'instances': [inst] if inst else []}, repair))
            continue
        net = networks.get(fx['network_id'])
        if net and net.get('multi_host') and fl['host'] and inst.get('host') and fl['host'] != inst['host']:
            findings.append(_finding(
                'floating_ip_host_mismatch', 'warning', fl['address'],
                'floating IP %s is set up on host %s but its instance %s runs on %s (multi_host network %s)'
                % (fl['address'], fl['host'], describe_instance(inst), inst['host'], net.get('label') or net['id']),
                {'floating_ips': [fl], 'fixed_ips': [fx], 'instances': [inst], 'networks': [net]}))
        if fl['project_id'] and inst.get('project_id') and fl['project_id'] != inst['project_id']:
            findings.append(_finding(
                'floating_ip_project_mismatch', 'warning', fl['address'],
                'floating IP %s belongs to project %s but is associated with instance %s of project %s'
                % (fl['address'], fl['project_id'], describe_instance(inst), inst['project_id']),
                {'floating_ips': [fl], 'fixed_ips': [fx], 'instances': [inst]}))

    for fx in fixed_live:
        if not fx['instance_uuid']:
            continue
        inst = instances.get(fx['instance_uuid'])
        # nova-network clears allocated/leased at deallocation and instance_uuid only later
        # (fixed_ip_disassociate_timeout): an unallocated row still naming a deleted instance is normal
        if instance_is_gone(inst) and fx['allocated']:
            findings.append(_finding(
                'fixed_ip_allocated_to_deleted_instance', 'error', fx['address'],
                'fixed IP %s (id %s) is still allocated to instance %s, which is deleted/terminated'
                % (fx['address'], fx['id'], describe_instance(inst) if inst else fx['instance_uuid']),
                {'fixed_ips': [fx], 'instances': [inst] if inst else []}))
        vif = vifs.get(fx['virtual_interface_id']) if fx['virtual_interface_id'] else None
        if vif is not None and vif['instance_uuid'] and vif['instance_uuid'] != fx['instance_uuid']:
            findings.append(_finding(
                'fixed_ip_vif_conflict', 'error', fx['address'],
                'fixed IP %s (id %s) is allocated to instance %s but its virtual interface %s (MAC %s) belongs to instance %s'
                % (fx['address'], fx['id'], fx['instance_uuid'], vif['id'], vif['address'], vif['instance_uuid']),
                {'fixed_ips': [fx], 'virtual_interfaces': [vif]}))

    def duplicates(rows, key):
        groups = {}
        for r in rows:
            if r[key] is not None:
                groups.setdefault(r[key], []).append(r)
        return sorted((k, v) for k, v in groups.items() if len(v) > 1)

    for address, rows in duplicates(floating_live, 'address'):
        findings.append(_finding('duplicate_floating_ip', 'error', address,
                                 'floating IP %s has %d live rows' % (address, len(rows)), {'floating_ips': rows}))
    for address, rows in duplicates(fixed_live, 'address'):
        findings.append(_finding('duplicate_fixed_ip', 'error', address,
                                 'fixed IP %s has %d live rows' % (address, len(rows)), {'fixed_ips': rows}))
    for fixed_id, rows in duplicates([f for f in floating_live if f['fixed_ip_id'] is not None], 'fixed_ip_id'):
        fx = fixed_all.get(fixed_id)
        findings.append(_finding(
            'fixed_ip_multiple_floating', 'warning', fx['address'] if fx else str(fixed_id),
            'fixed IP %s (id %s) has %d floating IPs: %s' % (fx['address'] if fx else '?', fixed_id, len(rows),
                                                             ', '.join(r['address'] for r in rows)),
            {'floating_ips': rows, 'fixed_ips': [fx] if fx else []}))
    for mac, rows in duplicates([v for v in data.get('virtual_interfaces', []) if is_live(v)], 'address'):
        findings.append(_finding('duplicate_mac', 'error', mac, 'MAC %s is used by %d live virtual interfaces' % (mac, len(rows)),
                                 {'virtual_interfaces': rows}))

    summary = {'findings': len(findings), 'errors': len([f for f in findings if f['severity'] == 'error']),
               'warnings': len([f for f in findings if f['severity'] == 'warning']), 'by_code': {},
               'rows_read': dict((t, len(data.get(t, []))) for t in sorted(data))}
    for f in findings:
        summary['by_code'][f['code']] = summary['by_code'].get(f['code'], 0) + 1
    return {'findings': findings, 'summary': summary}


def audit_problems(result):
    return [{'code': f['code'], 'message': f['message'], 'object': f['object']} for f in result['findings']]


# ---------------------------------------------------------------------------------------------
# floating IP disassociation: plan and apply
# ---------------------------------------------------------------------------------------------

def target_after(row, release):
    after = dict(row)
    after['fixed_ip_id'] = None
    after['host'] = None
    if release:
        after['project_id'] = None
        after['auto_assigned'] = 0
    return after


def changed_columns(release):
    return DISASSOCIATE_COLUMNS + (RELEASE_COLUMNS if release else ())


def _needs_change(row, release):
    after = target_after(row, release)
    return any(row[c] != after[c] for c in changed_columns(release))


def select_targets(cur, selection, params=None, lock=None):
    """Live floating_ips rows chosen by ``selection`` (one of address / fixed_ip_id / instance).

    Returns ``(rows, context)``; context names the instance when selected by instance. Raises
    NovaDBError for bad input or an unknown/ambiguous name. With ``lock='update'`` the rows are
    locked (SELECT ... FOR UPDATE) until the transaction ends.
    """
    context = {}
    if selection.get('address') is not None:
        address = validate_address(selection['address'])
        rows = _select(cur, 'floating_ips', FLOATING_IP_COLUMNS, 'address = %s AND deleted = 0', (address,), params, lock=lock)
        if not rows:
            known = _select(cur, 'floating_ips', ('id', 'deleted'), 'address = %s', (address,), params)
            if not known:
                raise NovaDBError('floating IP %s does not exist in table floating_ips' % address, code='floating_ip_not_found')
            context['note'] = 'floating IP %s exists only as soft-deleted rows' % address
        context['address'] = address
    elif selection.get('fixed_ip_id') is not None:
        fixed_id = validate_id(selection['fixed_ip_id'])
        rows = _select(cur, 'floating_ips', FLOATING_IP_COLUMNS, 'fixed_ip_id = %s AND deleted = 0', (fixed_id,), params, lock=lock)
        context['fixed_ip_id'] = fixed_id
    elif selection.get('instance') is not None:
        inst, dummy = resolve_instance(cur, selection['instance'], params)
        fixed = _select(cur, 'fixed_ips', ('id',), 'instance_uuid = %s', (inst['uuid'],), params, lock='share' if lock else None)
        rows = []
        if fixed:
            marks, args = _in([f['id'] for f in fixed])
            rows = _select(cur, 'floating_ips', FLOATING_IP_COLUMNS, 'fixed_ip_id IN (%s) AND deleted = 0' % marks, args, params,
                           lock=lock)
        context['instance'] = inst
    else:
        raise NovaDBError('one of address, fixed_ip_id or instance is required', code='bad_input')
    return rows, context


def owners(cur, rows, params=None, lock=None):
    """For each floating row: its fixed IP row and the instance row behind it (or None)."""
    out = {}
    fixed_ids = sorted(set(r['fixed_ip_id'] for r in rows if r['fixed_ip_id'] is not None))
    fixed = {}
    if fixed_ids:
        marks, args = _in(fixed_ids)
        fixed = dict((f['id'], f) for f in _select(cur, 'fixed_ips', FIXED_IP_COLUMNS, 'id IN (%s)' % marks, args, params, lock=lock))
    uuids = sorted(set(f['instance_uuid'] for f in fixed.values() if f['instance_uuid']))
    insts = {}
    if uuids:
        marks = ', '.join(['%s'] * len(uuids))
        insts = dict((i['uuid'], i) for i in _select(cur, 'instances', INSTANCE_COLUMNS, 'uuid IN (%s)' % marks, uuids, params, lock=lock))
    for r in rows:
        fx = fixed.get(r['fixed_ip_id'])
        inst = insts.get(fx['instance_uuid']) if fx and fx['instance_uuid'] else None
        out[r['id']] = (fx, inst)
    return out


def make_plan(rows, owner_map, release=False, force=False, context=None):
    """The plan for the selected rows (pure): what changes, what is refused, why."""
    changes, unchanged, refused = [], [], []
    for r in rows:
        fx, inst = owner_map.get(r['id'], (None, None))
        item = {'id': r['id'], 'address': r['address'], 'before': r, 'after': target_after(r, release),
                'fixed_address': fx['address'] if fx else None,
                'instance': candidate_summary([inst])[0] if inst else None}
        if not _needs_change(r, release):
            unchanged.append(item)
            continue
        if r['fixed_ip_id'] is not None and inst is not None and not instance_is_gone(inst) and not force:
            item['reason'] = ('floating IP %s is in use by instance %s, which is not deleted; set force=true to disassociate it anyway'
                              % (r['address'], describe_instance(inst)))
            refused.append(item)
            continue
        changes.append(item)
    selection = dict((k, v) for k, v in (context or {}).items() if k in ('address', 'fixed_ip_id', 'note'))
    return {'changes': changes, 'unchanged': unchanged, 'refused': refused, 'release': bool(release),
            'columns': list(changed_columns(release)), 'selection': selection}


def plan_diff(plan):
    before = {'floating_ips': [c['before'] for c in plan['changes']]}
    after = {'floating_ips': [c['after'] for c in plan['changes']]}
    return {'before': before, 'after': after}


def compute_plan(conn, selection, release=False, force=False, params=None):
    """Read-only plan (check mode): no locks, nothing written."""
    with conn.cursor() as cur:
        rows, context = select_targets(cur, selection, params)
        plan = make_plan(rows, owners(cur, rows, params), release, force, context)
    _attach_instance(plan, context)
    try:
        conn.rollback()
    except pymysql.err.MySQLError:
        pass
    return plan


def _attach_instance(plan, context):
    if context.get('instance'):
        plan['selection']['instance'] = candidate_summary([context['instance']])[0]


def write_backup(backup_dir, plan, params=None, now=None):
    """Write the rows about to change as JSON (mode 0600) and return the path; before any UPDATE."""
    directory = os.path.abspath(os.path.expanduser(backup_dir))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        ids = '-'.join(str(c['id']) for c in plan['changes'][:5])
        name = 'floating_ips-%s-%s-%d.json' % (now.strftime('%Y%m%dT%H%M%S.%fZ'), ids, os.getpid())
        path = os.path.join(directory, name)
        restore = []
        for c in plan['changes']:
            cols = plan['columns']
            restore.append({'table': 'floating_ips', 'id': c['id'], 'set': dict((k, c['before'][k]) for k in cols)})
        doc = {
            'created_at': now.isoformat(),
            'tool': 'cloudops.netdiag.floating_ip_disassociate',
            'database': {'where': _where(params or {}), 'db': (params or {}).get('login_db') or 'nova'},
            'table': 'floating_ips',
            'selection': plan['selection'],
            'release': plan['release'],
            'rows_before': [c['before'] for c in plan['changes']],
            'rows_planned_after': [c['after'] for c in plan['changes']],
            'restore': restore,
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            json.dump(doc, f, indent=2, sort_keys=True)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        os.chmod(path, 0o600)
    except OSError as exc:
        raise NovaDBError('cannot write the backup to %s (%s); nothing was changed' % (directory, exc.strerror or exc),
                          code='backup_failed')
    return path


def apply_plan(conn, selection, release=False, force=False, backup_dir=None, params=None, lock_timeout=10):
    """Disassociate in ONE transaction; returns ``(plan, backup_path, rows_after)``.

    Steps: lock the selected floating_ips rows (SELECT ... FOR UPDATE, and the fixed_ips/instances
    rows behind them in share mode), plan from the locked rows, stop if the plan is empty or
    refused, write the JSON backup, UPDATE each row with its old values in the WHERE clause,
    re-read, ROLLBACK and fail if the rows differ from the plan, else COMMIT.
    """
    step = 'start the transaction'
    backup_path = None
    try:
        with conn.cursor() as cur:
            _query(cur, 'SET SESSION innodb_lock_wait_timeout = %s', (int(lock_timeout),), params, action='set the lock timeout')
            conn.begin()
            step = 'lock the floating IP rows'
            rows, context = select_targets(cur, selection, params, lock='update')
            plan = make_plan(rows, owners(cur, rows, params, lock='share'), release, force, context)
            _attach_instance(plan, context)
            if plan['refused'] or not plan['changes']:
                conn.rollback()
                return plan, None, []
            step = 'write the backup'
            backup_path = write_backup(backup_dir, plan, params)
            cols = plan['columns']
            for c in plan['changes']:
                step = 'update floating IP %s' % c['address']
                sets = ', '.join('`%s` = %%s' % k for k in cols) + ', `updated_at` = UTC_TIMESTAMP()'
                guard = ' AND '.join('`%s` <=> %%s' % k for k in cols)
                args = [c['after'][k] for k in cols] + [c['id']] + [c['before'][k] for k in cols]
                try:
                    cur.execute('UPDATE `floating_ips` SET ' + sets + ' WHERE `id` = %s AND `deleted` = 0 AND ' + guard, args)
                except pymysql.err.MySQLError as exc:
                    raise explain_error(exc, params, action=step, table='floating_ips')
                if cur.rowcount != 1:
                    raise NovaDBError('floating IP %s changed under the lock (%d rows matched the update)' % (c['address'], cur.rowcount),
                                      code='verify_failed')
            step = 're-read the changed rows'
            marks, args = _in([c['id'] for c in plan['changes']])
            after = _select(cur, 'floating_ips', FLOATING_IP_COLUMNS, 'id IN (%s)' % marks, args, params, lock='update')
            got = dict((r['id'], r) for r in after)
            for c in plan['changes']:
                row = got.get(c['id'])
                expected = dict((k, v) for k, v in c['after'].items() if k != 'updated_at')
                actual = dict((k, v) for k, v in (row or {}).items() if k != 'updated_at')
                if expected != actual:
                    raise NovaDBError('floating IP %s reads back as %s, not as planned %s; rolled back, nothing changed'
                                      % (c['address'], json.dumps(actual, sort_keys=True), json.dumps(expected, sort_keys=True)),
                                      code='verify_failed')
            step = 'commit'
            try:
                conn.commit()
            except pymysql.err.MySQLError as exc:
                if exc.args and exc.args[0] == ER_LOCK_DEADLOCK:  # e.g. a Galera certification conflict: rolled back
                    raise NovaDBError('the COMMIT of the repair of %s was refused by the server (%s); the transaction was rolled'
                                      ' back, nothing changed, try again' % (', '.join(c['address'] for c in plan['changes']),
                                                                             exc.args[-1]), code='deadlock')
                raise NovaDBError('the COMMIT of the repair of %s failed (%s): its outcome is unknown, run again in check mode to see'
                                  ' the current rows; backup at %s' % (', '.join(c['address'] for c in plan['changes']), exc,
                                                                       backup_path), code='commit_unknown')
            return plan, backup_path, after
    except NovaDBError as exc:
        _safe_rollback(conn)
        if exc.code in ('commit_unknown', 'bad_input', 'floating_ip_not_found', 'instance_not_found', 'ambiguous_instance'):
            raise  # nothing was written yet; the message says all
        suffix = '' if 'nothing changed' in str(exc) or 'nothing was changed' in str(exc) else \
            '; the transaction was rolled back, nothing changed'
        if exc.code == 'connection_lost':
            suffix = '; the server rolls back an uncommitted transaction, so nothing changed'
        if backup_path:
            suffix += ' (backup of the unchanged rows at %s)' % backup_path
        details = dict(exc.details, step=step, backup_path=backup_path)
        raise NovaDBError('%s%s' % (exc, suffix), code=exc.code, **details)
    except pymysql.err.MySQLError as exc:
        _safe_rollback(conn)
        err = explain_error(exc, params, action=step)
        raise NovaDBError('%s; the transaction was rolled back, nothing changed' % err, code=err.code, step=step,
                          backup_path=backup_path)


def _safe_rollback(conn):
    try:
        conn.rollback()
    except Exception:  # the connection may be gone; the server then rolls back by itself
        pass


def now_utc():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
