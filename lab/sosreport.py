# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real sosreport of one lab host (``python -m lab sosreport HOST``).

Runs Debian's ``sos report`` (package ``sosreport``) inside the host's network namespace, so every
command sos runs (``ip -d address``, ``iptables -vnxL``, ``sysctl -a``, ``ps auxwww``, ...) sees that
host's network stack, exactly as on a real compute node. The host's files live under the lab's own
directory, not in ``/etc``: they are copied into a staging tree laid out like the host's root
(``etc/nova/nova.conf``, ``etc/libvirt/qemu/*.xml``, ``var/log/syslog``) and sos reads it through
``--sysroot`` with ``--chroot never`` (the commands themselves run on this machine, in the namespace).

sos runs in a private mount and UTS namespace (``unshare -m -u``): its host name is the lab host's,
and when this machine keeps a systemd journal a tmpfs hides it there, so that sos's logs plugin
takes ``/var/log/syslog`` (where the lab's dnsmasq logs) as it does on a host without a journal.
Nothing outside that private namespace changes. The lab's kernel has no module list, so sos's
module predicates would skip ``iptables -vnxL`` and ``ss``: ``--allow-system-changes`` lets them
run (on this kernel it loads nothing).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess

from lab.sysutil import LabError, which

PLUGINS = ('networking', 'process', 'kernel', 'openstack_nova', 'libvirt', 'logs')
TIMEOUT = 180

_SCRIPT = r'''
set -e
mount --make-rprivate /
if [ -d /var/log/journal ]; then mount -t tmpfs netdiag-sos /var/log; fi
if [ -d /run/log/journal ]; then mount -t tmpfs netdiag-sos /run/log; fi
hostname "$NETDIAG_SOS_HOST"
exec "$@"
'''


def _stage(host, rec, root):
    """The staging tree of ``host``: its files where a real host keeps them."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(os.path.join(root, 'etc'), mode=0o755)
    for name in ('os-release', 'debian_version'):
        if os.path.exists('/etc/' + name):
            shutil.copy('/etc/' + name, os.path.join(root, 'etc', name))
    with open(os.path.join(root, 'etc', 'hostname'), 'w') as f:
        f.write(host + '\n')
    paths = rec.get('paths') or {}
    copies = []
    if paths.get('nova_conf'):
        copies.append((paths['nova_conf'], 'etc/nova/nova.conf'))
    for xml in sorted(glob.glob(os.path.join(glob.escape(paths.get('libvirt') or '/nonexistent'), '*.xml'))):
        copies.append((xml, 'etc/libvirt/qemu/' + os.path.basename(xml)))
    if paths.get('syslog'):
        copies.append((paths['syslog'], 'var/log/syslog'))
    for src, dst in copies:
        if os.path.exists(src):
            os.makedirs(os.path.dirname(os.path.join(root, dst)), mode=0o755, exist_ok=True)
            shutil.copy(src, os.path.join(root, dst))


def sosreport(lab, host, out_dir, archive=False, plugins=PLUGINS, timeout=TIMEOUT):
    """Run ``sos report`` for lab host ``host``; return the path of the report (a directory, or the
    archive with ``archive``). Raises LabError naming what is missing."""
    hosts = lab.state.get('hosts') or {}
    if host not in hosts:
        raise LabError('no host %r in lab %s (hosts: %s)' % (host, lab.name, ', '.join(sorted(hosts)) or 'none, is it up?'))
    rec = hosts[host]
    if rec.get('role') == 'switch':
        raise LabError('%s is the lab\'s switch, not a host' % host)
    sos = which('sos')
    if not sos:
        raise LabError('sos is not installed (Debian: apt-get install sosreport)')
    ns = rec.get('netns') or lab.ns(host)
    stage = os.path.join(lab.root, 'sosroot', host)
    _stage(host, rec, stage)
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    before = set(os.listdir(out_dir))
    argv = [which('ip'), 'netns', 'exec', ns, which('unshare'), '-m', '-u', '/bin/sh', '-c', _SCRIPT, 'netdiag-sos',
            sos, 'report', '--batch', '--quiet', '--sysroot', stage, '--chroot', 'never', '--allow-system-changes',
            '-o', ','.join(plugins), '--tmp-dir', out_dir]
    if not archive:
        argv.append('--build')
    env = dict(os.environ, NETDIAG_SOS_HOST=host)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        out, dummy = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise LabError('sos report on %s did not finish in %d s' % (host, timeout))
    text = out.decode('utf-8', 'replace')
    made = sorted(set(os.listdir(out_dir)) - before)
    made = [m for m in made if m.startswith('sosreport-') and not m.endswith(('.md5', '.sha256'))]
    if proc.returncode != 0 or not made:
        raise LabError('sos report on %s failed (exit %s): %s' % (host, proc.returncode, text.strip()[-600:]))
    return os.path.join(out_dir, made[-1])
