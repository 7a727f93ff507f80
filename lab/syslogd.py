# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's stand-in for a syslog daemon on the compute nodes.

dnsmasq run with ``--log-facility=<file>`` writes ``Nov 25 20:14:20 dnsmasq-dhcp[9321]: ...``:
the syslog line without the host name. A real compute node's /var/log/syslog carries the
host name (``Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100) ...``), which is
what rsyslog adds. This daemon reads each dnsmasq's log FIFO and appends the lines to the
host's ``log/syslog`` with the host name inserted, nothing else changed.

Usage: python -m lab.syslogd --pidfile P FIFO=HOST=OUTFILE [...]   (daemonizes itself)
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import sys

_LINE = re.compile(r'^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) (.*)$')


def reformat(line, host):
    """Insert ``host`` after the timestamp of a dnsmasq file-log line."""
    m = _LINE.match(line)
    if not m:
        return line
    return '%s %s %s' % (m.group(1), host, m.group(2))


def _daemonize(pidfile):
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    tmp = pidfile + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % os.getpid())
    os.replace(tmp, pidfile)


def main(argv):
    if len(argv) < 3 or argv[0] != '--pidfile':
        sys.stderr.write(__doc__)
        return 2
    pidfile = argv[1]
    specs = []
    for spec in argv[2:]:
        fifo, host, out = spec.split('=', 2)
        specs.append((fifo, host, out))
    for fifo, dummy, dummy2 in specs:
        if not os.path.exists(fifo):
            os.mkfifo(fifo, 0o660)
    _daemonize(pidfile)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    sel = selectors.DefaultSelector()
    bufs = {}
    for fifo, host, out in specs:
        fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # O_RDWR: never EOF when a writer goes away
        sel.register(fd, selectors.EVENT_READ, (host, out))
        bufs[fd] = b''
    while True:
        for key, dummy in sel.select():
            host, out = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            bufs[key.fd] += data
            *lines, bufs[key.fd] = bufs[key.fd].split(b'\n')
            if lines:
                text = ''.join(reformat(ln.decode('utf-8', 'replace'), host) + '\n' for ln in lines)
                with open(out, 'a') as f:
                    f.write(text)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
