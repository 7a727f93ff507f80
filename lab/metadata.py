# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal stand-in for nova-api-metadata on a lab compute node (multi_host).

Instances reach http://169.254.169.254/ through nova-network's DNAT to metadata_host:8775; this
server answers the few EC2-style keys Cirros asks for, looked up by the client's fixed IP as
nova does. Usage: python -m lab.metadata --pidfile P --listen IP:PORT --map FILE.json
(daemonizes itself; FILE.json maps fixed IP -> {instance-id, hostname, local-ipv4, public-ipv4}).
"""

from __future__ import annotations

import http.server
import json
import os
import sys

from lab.syslogd import _daemonize


class _Handler(http.server.BaseHTTPRequestHandler):
    data = {}

    def do_GET(self):  # noqa: N802 (http.server API)
        meta = self.data.get(self.client_address[0])
        prefix = '/2009-04-04/meta-data/'
        if meta is None:
            return self._send(404, 'unknown instance %s' % self.client_address[0])
        if self.path.rstrip('/') == prefix.rstrip('/'):
            return self._send(200, '\n'.join(sorted(meta)))
        if self.path.startswith(prefix) and self.path[len(prefix):] in meta:
            return self._send(200, meta[self.path[len(prefix):]])
        return self._send(404, 'not found')

    def _send(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    opts = dict(zip(argv[0::2], argv[1::2]))
    host, port = opts['--listen'].rsplit(':', 1)
    with open(opts['--map']) as f:
        _Handler.data = json.load(f)
    server = http.server.ThreadingHTTPServer((host, int(port)), _Handler)
    _daemonize(opts['--pidfile'])
    server.serve_forever()


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main(sys.argv[1:]))
