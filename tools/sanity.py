#!/usr/bin/env python
"""Run ``ansible-test sanity`` (and optionally ``units``) without Docker.

ansible-test wants the collection at ``.../ansible_collections/cloudops/netdiag`` and downloads a
pip bootstrap script from a host this machine cannot reach. This script copies the tracked and
untracked-but-not-ignored files into a temporary tree, installs a stand-in bootstrap script that
uses ``ensurepip`` and then pip from the package index, and runs ansible-test there.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP = '''\
"""Stand-in for ansible-test's pip bootstrap script (its download host is unreachable here)."""
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
# get-pip's own options have no pip equivalent: an ensurepip venv has neither setuptools nor wheel to remove.
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
'''


def install_bootstrap():
    """Write the stand-in bootstrap for the pip version this ansible-test asks for."""
    from ansible_test._internal import python_requirements  # pylint: disable=import-outside-toplevel

    with open(python_requirements.__file__, encoding='utf-8') as f:
        versions = set(re.findall(r"pip='([0-9.]+)'", f.read())) or {'24.2'}
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    for ver in versions:
        with open(os.path.join(cache, 'get_pip_%s.py' % ver.replace('.', '_')), 'w', encoding='utf-8') as f:
            f.write(BOOTSTRAP)


def copy_tree(dest_root):
    """Copy the files git knows (tracked, or untracked and not ignored) to dest_root."""
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO,
                           check=True, capture_output=True).stdout.decode().split('\0')
    for rel in filter(None, files):
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        dst = os.path.join(dest_root, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    subprocess.run(['git', 'init', '-q', dest_root], check=True)
    subprocess.run(['git', 'add', '-A'], cwd=dest_root, check=True)


LOCAL_TMP = os.path.expanduser('~/.ansible/tmp')


def _local_temps():
    try:
        return set(os.listdir(LOCAL_TMP))
    except OSError:
        return set()


def _remove_orphaned_local_temps(before):
    """Remove the empty ``ansible-local-<pid>...`` directories that appeared during the run and whose process is gone.

    pytest-xdist workers that import ansible under ``ansible-test units`` end without running Ansible's atexit
    clean-up. Ansible names the directory ``mkdtemp(prefix='ansible-local-<pid>')``: the pid, then the 8 random
    characters of mkdtemp. A directory is left alone while that process is alive, and when it is not empty.
    """
    for name in _local_temps() - before:
        match = re.match(r'^ansible-local-(\d+)[a-z0-9_]{8}$', name)
        path = os.path.join(LOCAL_TMP, name)
        if not match or not os.path.isdir(path) or os.listdir(path):
            continue
        if os.path.exists('/proc/%s' % match.group(1)):
            continue
        try:
            os.rmdir(path)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('command', nargs='?', default='sanity', choices=('sanity', 'units'))
    parser.add_argument('--python', default='%d.%d' % sys.version_info[:2])
    parser.add_argument('--keep', action='store_true', help='keep the temporary tree')
    parser.add_argument('extra', nargs='*', help='extra ansible-test arguments')
    args = parser.parse_args()

    install_bootstrap()
    tmp = tempfile.mkdtemp(prefix='netdiag-ansible-test-')
    coll = os.path.join(tmp, 'ansible_collections', 'cloudops', 'netdiag')
    try:
        copy_tree(coll)
        ansible_test = os.path.join(os.path.dirname(sys.executable), 'ansible-test')
        cmd = [ansible_test, args.command, '--venv', '--python', args.python, '--color', 'no']
        if args.command == 'units':
            cmd.append('--requirements')
        before = _local_temps()
        rc = subprocess.call(cmd + args.extra, cwd=coll)
        _remove_orphaned_local_temps(before)
        return rc
    finally:
        if args.keep:
            print('tree kept in %s' % coll)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
