# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Processes a test started, found by a unique marker in their command line (never by process name)."""

from __future__ import annotations

import os
import signal


def pids_with(*needles):
    """(pid, command line) of every process whose command line contains all of ``needles``."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                cmd = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except OSError:
            continue
        if all(needle in cmd for needle in needles):
            found.append((int(pid), cmd))
    return found


def tcpdumps_with(marker):
    """pids of the tcpdump processes whose command line (the -w path) holds ``marker``."""
    return [pid for pid, dummy in pids_with(marker, 'tcpdump')]


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def reap_ansible_workers(marker):
    """SIGKILL what is left of an Ansible run the test killed: its worker detaches into its own session and
    outlives the controller (with a large result it then blocks forever on the queue to the dead controller).
    The test's marker is in its command line (the module arguments)."""
    kill_pids([pid for pid, dummy in pids_with(marker, 'cloudops.netdiag.packet_capture')])


def sample_pcap_sizes(root, sizes):
    """Record in ``sizes`` the largest size seen so far of every ``*.pcap`` file under ``root`` (by path).

    Called in a loop while captures run: a file removed or not yet created in between is skipped."""
    for where, dummy, files in os.walk(str(root)):
        for name in files:
            if name.endswith('.pcap'):
                path = os.path.join(where, name)
                try:
                    sizes[path] = max(sizes.get(path, 0), os.path.getsize(path))
                except OSError:
                    pass
