"""Make ``ansible_collections.cloudops.netdiag`` importable for plain pytest runs.

``make`` links the repo into .venv/collections/ansible_collections/cloudops/netdiag (the same
layout ansible-test uses), so tests import the collection exactly as Ansible does.
"""

import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COLL_ROOT = os.path.join(_REPO, '.venv', 'collections')
_LINK = os.path.join(_COLL_ROOT, 'ansible_collections', 'cloudops', 'netdiag')

if not os.path.exists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(_REPO, _LINK)
if _COLL_ROOT not in sys.path and 'ansible_collections' not in os.path.dirname(_REPO):
    sys.path.insert(0, _COLL_ROOT)
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)
