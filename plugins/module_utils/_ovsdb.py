# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small read-only OVSDB client (RFC 7047 JSON-RPC over a unix or tcp socket), standard library only (private).

``select(remote, database, {table: [columns] or None})`` returns ``{table: [row, ...]}`` with every value decoded
to plain Python: a uuid (``["uuid", "..."]``) to its string, a set to a list, a map to a dict, an empty set to an
empty list. One ``transact`` of ``select`` operations: the rows of every table are read from one snapshot of the
database. Only ``select`` is ever sent; the client answers the server's ``echo`` and never writes.
"""

from __future__ import annotations

import json
import socket
import time


class OvsdbError(Exception):
    """The database cannot be reached, or answered with an error."""


def parse_remote(remote):
    """``unix:/path``, ``/path``, ``tcp:HOST:PORT`` -> (family, address)."""
    if not isinstance(remote, str) or not remote:
        raise OvsdbError('the OVSDB remote must be unix:PATH or tcp:HOST:PORT, got %r' % (remote,))
    if remote.startswith('unix:'):
        return socket.AF_UNIX, remote[5:]
    if remote.startswith('/'):
        return socket.AF_UNIX, remote
    if remote.startswith('tcp:'):
        host, sep, port = remote[4:].rpartition(':')
        if not sep or not port.isdigit():
            raise OvsdbError('%s: tcp remotes are tcp:HOST:PORT' % remote)
        return socket.AF_INET6 if ':' in host else socket.AF_INET, (host.strip('[]'), int(port))
    raise OvsdbError('%s: only unix:PATH and tcp:HOST:PORT remotes are supported (ssl: use a unix socket on the host)' % remote)


def decode(value):
    """An OVSDB wire value -> plain Python."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, inner = value
        if kind in ('uuid', 'named-uuid'):
            return inner
        if kind == 'set':
            return [decode(v) for v in inner]
        if kind == 'map':
            return {str(decode(k)): decode(v) for k, v in inner}
    return value


class Connection(object):
    """One JSON-RPC connection (use as a context manager)."""

    def __init__(self, remote, timeout=10.0):
        family, address = parse_remote(remote)
        self.remote = remote
        self.timeout = timeout
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(address)
        except OSError as exc:
            self.sock.close()
            raise OvsdbError('cannot connect to %s: %s' % (remote, exc.strerror or exc))
        self.buf = ''
        self.decoder = json.JSONDecoder()
        self.next_id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _send(self, msg):
        try:
            self.sock.sendall(json.dumps(msg).encode('utf-8'))
        except OSError as exc:
            raise OvsdbError('%s: %s' % (self.remote, exc.strerror or exc))

    def _recv(self, deadline):
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    msg, end = self.decoder.raw_decode(text)
                    self.buf = text[end:]
                    return msg
                except ValueError:
                    pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise OvsdbError('%s did not answer within %g s' % (self.remote, self.timeout))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise OvsdbError('%s did not answer within %g s' % (self.remote, self.timeout))
            except OSError as exc:
                raise OvsdbError('%s: %s' % (self.remote, exc.strerror or exc))
            if not data:
                raise OvsdbError('%s closed the connection' % self.remote)
            self.buf += data.decode('utf-8', 'replace')

    def call(self, method, params):
        self.next_id += 1
        rid = self.next_id
        self._send({'method': method, 'params': params, 'id': rid})
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline)
            if msg.get('method') == 'echo':
                self._send({'result': msg.get('params'), 'error': None, 'id': msg.get('id')})
                continue
            if msg.get('id') != rid:
                continue        # a notification
            if msg.get('error'):
                raise OvsdbError('%s: %s %s' % (self.remote, method, msg['error']))
            return msg.get('result')

    def databases(self):
        return self.call('list_dbs', [])

    def kinds(self, database, tables):
        """{table: {column: scalar | optional | set | map}} from the database's schema (``get_schema``)."""
        schema = self.call('get_schema', [database]) or {}
        out = {}
        for t in tables:
            cols = ((schema.get('tables') or {}).get(t) or {}).get('columns')
            if cols is None:
                raise OvsdbError('%s: database %s has no table %s' % (self.remote, database, t))
            out[t] = {c: _kind(d.get('type')) for c, d in cols.items()}
        return out

    def select(self, database, tables):
        """{table: [decoded row]} of ``tables`` ({table: columns or None for all}) from one transaction.

        Values are shaped by the schema: an optional column (at most one value) is its value or None, a set column
        always a list (the wire sends a one-element set as the bare value), a map a dict."""
        kinds = self.kinds(database, tables)
        names = list(tables)
        ops = []
        for t in names:
            op = {'op': 'select', 'table': t, 'where': []}
            if tables[t]:
                op['columns'] = list(tables[t]) + ['_uuid']
            ops.append(op)
        result = self.call('transact', [database] + ops)
        if not isinstance(result, list) or len(result) < len(names):
            raise OvsdbError('%s: unexpected answer to a select of %s' % (self.remote, ', '.join(names)))
        out = {}
        for t, r in zip(names, result):
            if not isinstance(r, dict) or 'error' in r and r['error']:
                raise OvsdbError('%s: select of %s.%s failed: %s %s' % (
                    self.remote, database, t, (r or {}).get('error'), (r or {}).get('details', '')))
            kt = kinds[t]
            out[t] = [{k: _shape(decode(v), kt.get(k)) for k, v in row.items()} for row in r.get('rows') or []]
        return out


def _kind(ctype):
    if not isinstance(ctype, dict):
        return 'scalar'
    if 'value' in ctype:
        return 'map'
    hi = ctype.get('max', 1)
    lo = ctype.get('min', 1)
    if hi == 1:
        return 'optional' if lo == 0 else 'scalar'
    return 'set'


def _shape(value, kind):
    if kind == 'optional':
        return None if value == [] else value
    if kind == 'set':
        return value if isinstance(value, list) else [value]
    if kind == 'map' and value == []:
        return {}
    return value


def select(remote, database, tables, timeout=10.0):
    """Read ``tables`` of ``database`` at ``remote`` in one transaction (see ``Connection.select``)."""
    with Connection(remote, timeout) as conn:
        dbs = conn.databases()
        if database not in (dbs or []):
            served = [d for d in dbs or [] if not str(d).startswith('_')]
            raise OvsdbError('%s serves %s, not %s' % (remote, ', '.join(served) or 'no database', database))
        return conn.select(database, tables)
