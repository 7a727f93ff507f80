# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report files of a diagnosis (private): render a report as JSON, Markdown or HTML, write it atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _report, _report_html

FORMATS = ('json', 'md', 'html')


def render(report, fmt):
    if fmt == 'json':
        return json.dumps(report, indent=2, sort_keys=True) + '\n'
    if fmt == 'md':
        return _report.to_markdown(report)
    return _report_html.render(report)


def write(path, content, mode=0o644):
    """Write ``content`` atomically; return True when the file changed."""
    data = content.encode('utf-8')
    try:
        with open(path, 'rb') as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def base_name(name):
    """A file name stem from an instance name (hostile characters replaced)."""
    return re.sub(r'[^A-Za-z0-9_.-]', '_', str(name)).lstrip('.') or 'instance'


def save(dest, base, rendered, check_mode=False):
    """Write each rendered format to ``<dest>/<base>.<format>`` (``dest`` made if missing, a file rewritten only when its
    content changes); in check mode write nothing. Returns ({format: path}, whether a file changed or would)."""
    paths = {fmt: os.path.join(dest, '%s.%s' % (base, fmt)) for fmt in rendered}
    changed = False
    if check_mode:
        for fmt, path in paths.items():
            try:
                with open(path, 'rb') as f:
                    changed = changed or f.read() != rendered[fmt].encode('utf-8')
            except OSError:
                changed = True
        return paths, changed
    os.makedirs(dest, mode=0o755, exist_ok=True)
    for fmt, path in paths.items():
        changed = write(path, rendered[fmt]) or changed
    return paths, changed
