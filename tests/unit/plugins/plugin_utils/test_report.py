# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report: JSON Schema validity, Markdown, and the HTML page rendered by headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import xml.dom.minidom

import jsonschema
import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _report, _verdict

from diagnose_evidence import healthy, iface, probe, with_hops

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCHEMA = os.path.join(REPO, 'schemas', 'diagnose_report.schema.json')


def _schema():
    with open(SCHEMA, encoding='utf-8') as f:
        return json.load(f)


def _report_for(ev):
    ev = with_hops(ev)
    v = _verdict.evaluate(ev)
    return _report.build_report(ev, ev['hops'], v, query='test', timings={'facts': 1.25, 'total': 3.5})


def _vnet_down():
    ev = healthy()
    iface(ev, 'mynode', 'vnet1')['flags'] = ['BROADCAST', 'MULTICAST']
    probe(ev, 'guest_external', False)
    probe(ev, 'guest_compute', False)
    for h in ev['capture']['hops']:
        h['reply_seen'] = False
        if h['interface'] != 'eth0' or h['host'] != 'guest-test':
            h['request_seen'] = False
    return ev


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(_schema())


@pytest.mark.parametrize('make', [healthy, _vnet_down], ids=['healthy', 'vnet_down'])
def test_report_validates(make):
    rep = _report_for(make())
    jsonschema.Draft202012Validator(_schema()).validate(rep)
    # and survives a JSON round trip unchanged (plain JSON types only)
    assert json.loads(json.dumps(rep)) == rep


def test_schema_rejects_inconsistent_verdicts():
    val = jsonschema.Draft202012Validator(_schema())
    rep = _report_for(healthy())
    bad = json.loads(json.dumps(rep))
    bad['verdict']['cause'] = 'vnet_down'  # ok with a cause
    assert not val.is_valid(bad)
    bad = json.loads(json.dumps(_report_for(_vnet_down())))
    bad['verdict']['segment'] = None  # fault without a segment
    assert not val.is_valid(bad)
    bad['verdict']['segment'] = 'somewhere'
    assert not val.is_valid(bad)


def test_fault_report_marks_the_failing_hop():
    rep = _report_for(_vnet_down())
    assert rep['verdict']['cause'] == 'vnet_down'
    marked = [h for h in rep['hops'] if h['status'] == 'fault']
    assert [h['interface'] for h in marked] == ['vnet1']
    assert rep['capture']['request_last_seen'] == '00-guest_nic'
    assert rep['timings'] == {'facts': 1.25, 'total': 3.5}


def test_markdown():
    md = _report.to_markdown(_report_for(_vnet_down()))
    assert md.startswith('# Network diagnosis: test')
    assert '**Verdict: FAULT**, segment `instance_to_compute`, cause `vnet_down`' in md
    assert '| 1 | vnet vnet1 | mynode | vnet1 |  | no | no | **fault** |' in md
    assert '`ip link set vnet1 up`' in md


def test_html_is_well_formed_and_escapes_hostile_text():
    ev = _vnet_down()
    ev['instance']['hostname'] = '<script>alert(1)</script>'
    html = _report.to_html(_report_for(ev))
    assert '<script>' not in html
    # the SVG part is XML on its own
    svg = html[html.index('<svg'):html.index('</svg>') + 6]
    doc = xml.dom.minidom.parseString(svg)
    groups = [g for g in doc.getElementsByTagName('g') if 'hop' in g.getAttribute('class').split()]
    assert len(groups) == 7
    failing = [g.getAttribute('data-hop-id') for g in groups if 'hop-failing' in g.getAttribute('class').split()]
    assert failing == ['01-vnet']


def _chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason='chromium is not installed')
def test_html_renders_in_headless_chromium():
    rep = _report_for(_vnet_down())
    tmp = tempfile.mkdtemp(prefix='tdiag-html-')
    try:
        page = os.path.join(tmp, 'report.html')
        with open(page, 'w', encoding='utf-8') as f:
            f.write(_report.to_html(rep))
        base = [_chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--user-data-dir=%s' % os.path.join(tmp, 'profile')]
        dom = subprocess.run(base + ['--dump-dom', 'file://' + page], capture_output=True, text=True, timeout=90, check=True).stdout
        # the DOM as the browser built it: the verdict block, one box per hop, the failing hop marked
        assert 'id="verdict"' in dom and 'data-cause="vnet_down"' in dom
        assert dom.count('class="hop hop-') == len(rep['hops'])
        assert 'class="hop hop-fault hop-failing" id="hop-01-vnet"' in dom
        assert 'request last seen' in dom
        shot = os.path.join(tmp, 'shot.png')
        subprocess.run(base + ['--window-size=1400,900', '--screenshot=%s' % shot, 'file://' + page],
                       capture_output=True, timeout=90, check=True)
        with open(shot, 'rb') as f:
            head = f.read(24)
        assert head[:8] == b'\x89PNG\r\n\x1a\n'
        width = int.from_bytes(head[16:20], 'big')
        assert width == 1400
        if os.environ.get('NETDIAG_KEEP_SCREENSHOT'):
            shutil.copy(shot, os.environ['NETDIAG_KEEP_SCREENSHOT'])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
