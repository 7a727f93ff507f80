# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure a report page's layout in headless Chromium (test helper).

The page itself has no script. A copy of it gets one at the end of its body that reads the laid
out document (scrollWidth against the viewport, every path box's rectangle, which boxes are marked
as the fault) into an attribute; ``--dump-dom`` returns the DOM after the load, with it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

_PROBE = """<script>
(function () {
  var d = document.documentElement, out = {viewport: window.innerWidth, scroll_width: d.scrollWidth,
    body_scroll_width: document.body.scrollWidth, boxes: [], hosts: []};
  document.querySelectorAll('#path .hop, #path .place').forEach(function (el) {
    var r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    out.boxes.push({id: el.id, cls: el.className, left: r.left, right: r.right, top: r.top, width: r.width,
                    outline: cs.outlineStyle + ' ' + cs.outlineColor, border: cs.borderTopColor, background: cs.backgroundColor});
  });
  document.querySelectorAll('#path .host').forEach(function (el) {
    var r = el.getBoundingClientRect();
    out.hosts.push({id: el.id, host: el.getAttribute('data-host'), left: r.left, right: r.right, cls: el.className});
  });
  document.body.setAttribute('data-measure', JSON.stringify(out));
})();
</script>"""


def chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_argv(profile):
    return [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--hide-scrollbars', '--user-data-dir=%s' % profile]


def measure(page_html, workdir, width, height=1000):
    """Lay ``page_html`` out at ``width`` x ``height`` CSS pixels; return what the probe read."""
    assert '</body>' in page_html
    page = os.path.join(str(workdir), 'measure-%d.html' % width)
    with open(page, 'w', encoding='utf-8') as f:
        f.write(page_html.replace('</body>', _PROBE + '</body>', 1))
    argv = browser_argv(os.path.join(str(workdir), 'profile')) + [
        '--window-size=%d,%d' % (width, height), '--dump-dom', 'file://' + page]
    dom = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=True).stdout
    m = re.search(r'data-measure="([^"]*)"', dom)
    assert m, 'the layout probe did not run:\n%s' % dom[:2000]
    out = json.loads(html.unescape(m.group(1)))
    out['dom'] = dom
    return out
