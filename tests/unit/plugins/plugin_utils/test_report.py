# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report: JSON Schema validity, place of the cause, observations per hop, evidence links,
Markdown, and the HTML page laid out by headless Chromium at every width from 1024 to 1920 px."""

from __future__ import annotations

import html.parser
import json
import os
import re

import jsonschema
import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _report, _report_html, _verdict

from diagnose_evidence import FLOAT, healthy, iface, probe, with_hops
from report_browser import chromium, measure

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


def _firewall_drop():
    ev = healthy()
    probe(ev, 'guest_external', False)
    rule = {'source': '10.0.2.24/32', 'target': 'DROP', 'packets': 3, 'bytes': 252, 'rule': '-A FORWARD -s 10.0.2.24/32 -j DROP'}
    ev['hosts']['mynode']['iptables']['tables']['filter']['chains']['FORWARD']['rules'].insert(0, rule)
    ev['capture']['moved_rules'] = [{'host': 'mynode', 'moved': [dict(rule, table='filter', chain='FORWARD', packets=2)]}]
    for h in ev['capture']['hops']:
        h['reply_seen'] = False
        h['request_seen'] = h['interface'] != 'eth0' or h['host'] != 'mynode'
    return ev


def _stale():
    ev = healthy()
    ev['instance'].update(vm_state='deleted', deleted=7)
    ev['probes'] = []
    ev['capture'] = {}
    return ev


def _dhcp_not_seen():
    ev = healthy()
    iface(ev, 'guest-test', 'eth0')['addresses'] = []
    ev['hosts']['mynode']['console_log'] = {'lease_obtained': False, 'no_lease': True, 'evidence': [
        'udhcpc (v1.17.2) started', 'Sending discover...', 'No lease, forking to background']}
    probe(ev, 'guest_external', False)
    probe(ev, 'guest_compute', False)
    ev['hosts']['mynode']['dnsmasq']['dhcp_by_mac'] = {}
    ev['capture'] = {}
    return ev


CASES = {'healthy': healthy, 'vnet_down': _vnet_down, 'firewall_drop': _firewall_drop, 'floating_ip_stale': _stale,
         'dhcp_request_not_seen': _dhcp_not_seen}


@pytest.mark.parametrize('make', list(CASES.values()), ids=list(CASES))
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
    bad = json.loads(json.dumps(_report_for(_vnet_down())))
    bad['verdict']['place'] = None  # a fault without its place
    assert not val.is_valid(bad)


def test_fault_report_marks_the_failing_hop():
    rep = _report_for(_vnet_down())
    assert rep['verdict']['cause'] == 'vnet_down'
    marked = [h for h in rep['hops'] if h['status'] == 'fault']
    assert [h['interface'] for h in marked] == ['vnet1']
    assert rep['verdict']['place'] == {'kind': 'hop', 'label': "the instance's tap", 'host': 'mynode', 'hop': '01-vnet',
                                       'after': None, 'hops': [], 'object': 'vnet1', 'evidence': []}
    assert rep['capture']['request_last_seen'] == '00-guest_nic'
    assert rep['timings'] == {'facts': 1.25, 'total': 3.5}


def test_firewall_drop_lies_in_the_compute_nodes_stack_not_on_its_interfaces():
    rep = _report_for(_firewall_drop())
    place = rep['verdict']['place']
    assert (place['kind'], place['host'], place['after']) == ('stack', 'mynode', '02-bridge')
    assert place['object'] == 'filter: -A FORWARD -s 10.0.2.24/32 -j DROP (+2 packets during the probes)'
    # no interface is blamed: the bridge and the NIC are what was observed there, nothing more
    assert [h['status'] for h in rep['hops'] if h['status'] in ('fault', 'suspect')] == []
    obs = {h['id']: h['observed'] for h in rep['hops']}
    assert obs['00-guest_nic'] == 'request_only' and obs['02-bridge'] == 'request_only' and obs['04-physical'] == 'none'


def test_place_of_a_db_cause_and_of_a_segment_cause():
    rep = _report_for(_stale())
    assert rep['verdict']['place']['kind'] == 'db' and rep['verdict']['place']['host'] == 'nova-db'
    assert FLOAT in rep['verdict']['place']['object']
    rep = _report_for(_dhcp_not_seen())
    assert rep['verdict']['cause'] == 'dhcp_request_not_seen'
    place = rep['verdict']['place']
    assert (place['kind'], place['hops']) == ('segment', ['01-vnet', '02-bridge'])
    assert [h['id'] for h in rep['hops'] if h['status'] == 'suspect'] == ['01-vnet', '02-bridge']
    # healthy: no place at all
    assert _report_for(healthy())['verdict']['place'] is None


def test_each_hop_says_what_was_observed_and_why_when_it_was_not_captured():
    rep = _report_for(_firewall_drop())
    by = {h['id']: h for h in rep['hops']}
    assert by['01-vnet']['observed_why'] is None
    # the uplink: captured host, but multi_host traffic does not cross it; its link facts say up
    assert by['03-uplink']['observed'] == 'link_up' and 'not on the path' in by['03-uplink']['observed_why']
    # address hops are measured by the ladder
    assert by['05-gateway']['observed'] == 'probe_ok' and 'compute_gateway ping' in by['05-gateway']['observed_why']
    assert by['06-external']['observed'] == 'probe_failed'
    # no capture at all: every interface hop is read from its link facts, with the reason
    rep = _report_for(_dhcp_not_seen())
    assert {h['observed'] for h in rep['hops'] if h['interface']} == {'link_up'}
    assert all(h['observed_why'].startswith('no capture ran') for h in rep['hops'])
    # a capture that could not run, and a guest Ansible cannot reach: unknown, and why
    ev = _vnet_down()
    ev['capture'] = {'error': 'hosts missed the window'}
    ev['guest_host'] = None
    ev['hosts'].pop('guest-test')
    ev['_hops_inputs'].update(guest_host=None, guest_interfaces=None)
    rep = _report_for(ev)
    g = rep['hops'][0]
    assert (g['observed'], g['status']) == ('unknown', 'unknown')
    assert 'not reachable by Ansible' in g['observed_why']
    assert 'the capture could not run: hosts missed the window' in rep['hops'][2]['observed_why']


def test_evidence_points_at_its_hop_or_host_and_hops_point_back():
    rep = _report_for(_vnet_down())
    ev = rep['verdict']['evidence']
    assert ev[0]['kind'] == 'cause' and ev[0]['hop'] == '01-vnet'
    assert 0 in rep['hops'][1]['evidence']
    probes = [e for e in ev if e['kind'] == 'probe']
    assert probes and all(e['hop'] is None for e in probes)
    rep = _report_for(_firewall_drop())
    first = rep['verdict']['evidence'][0]
    # the rule names br100 in no way, and it is the place's evidence, not the bridge's
    assert first['place'] is True and first['hop'] is None
    assert rep['verdict']['place']['evidence'] == [0]
    assert all(0 not in h['evidence'] for h in rep['hops'])


def test_commands_are_the_quoted_ones_of_the_advice():
    assert _report_for(_vnet_down())['verdict']['commands'] == ['ip link set vnet1 up']
    cmds = _report_for(_stale())['verdict']['commands']
    assert cmds == ['ansible-playbook playbooks/repair_floating_ip.yml -e floating_ip=%s --check --diff' % FLOAT,
                    'ansible-playbook playbooks/repair_floating_ip.yml -e floating_ip=%s -e confirm=true' % FLOAT]
    assert _report.commands_of('a `x` and `x` and `` and `y`') == ['x', 'y']


def test_markdown():
    md = _report.to_markdown(_report_for(_vnet_down()))
    assert md.startswith('# Network diagnosis: test')
    assert '**Verdict: FAULT**, segment `instance_to_compute`, cause `vnet_down`' in md
    assert "**Where:** the instance's tap, hop 01-vnet on mynode (vnet1)" in md
    assert '```sh\nip link set vnet1 up\n```' in md
    assert '| 1 | vnet vnet1 | mynode | vnet1 |  | not seen | no | no | **fault** | E1 |  |' in md
    assert '- **E1** mynode (interface_info), at hop 01-vnet (vnet1 on mynode):' in md
    md = _report.to_markdown(_report_for(_firewall_drop()))
    assert '| | **iptables filter rules** | mynode | | | | | | **fault** | E1 | filter: -A FORWARD -s 10.0.2.24/32 -j DROP' in md
    assert md.index('| 2 | bridge br100') < md.index('**iptables filter rules**') < md.index('| 3 | bridge uplink eth1')


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []
        self.h2 = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_h2 = tag == 'h2'

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())
            self._in_h2 = False


def _parse(page):
    p = _Tags()
    p.feed(page)
    return p


def test_html_and_markdown_say_the_same_in_the_same_order():
    for make in CASES.values():
        rep = _report_for(make())
        md_heads = [ln[3:] for ln in _report.to_markdown(rep).splitlines() if ln.startswith('## ')]
        assert _parse(_report_html.render(rep)).h2 == md_heads


def test_html_is_well_formed_and_escapes_hostile_text():
    ev = _vnet_down()
    ev['instance']['hostname'] = '<script>alert(1)</script>'
    page = _report_html.render(_report_for(ev))
    assert '<script>' not in page
    tags = _parse(page).elements
    hops = [a for t, a in tags if 'hop' in (a.get('class') or '').split()]
    assert len(hops) == 7
    assert [a['data-hop-id'] for a in hops if 'fault' in a['class'].split()] == ['01-vnet']
    ids = [a['id'] for t, a in tags if a.get('id')]
    assert len(ids) == len(set(ids))
    # every link lands on an element of the page
    for t, a in tags:
        if t == 'a':
            assert a['href'][1:] in ids, a['href']


def test_evidence_links_and_backlinks_in_html():
    page = _report_html.render(_report_for(_firewall_drop()))
    assert re.search(r'<li id="ev-1" class="ev ev-cause"><strong>E1 mynode</strong> \(iptables_info\), at '
                     r'<a href="#place">the place of the cause</a>', page)
    place = page[page.index('<div class="place" id="place"'):]
    assert '<a href="#ev-1">E1</a>' in place[:place.index('</div>')]
    assert '<code class="cmd">iptables -t filter -D FORWARD -s 10.0.2.24/32 -j DROP</code>' in page


def _long_path_report():
    """A firewall drop on a path as long as the Neutron backends' (tap, qbr, qvb, qvo, br-int, br-tun, tunnel, ...),
    with long device and host names."""
    rep = _report_for(_firewall_drop())
    names = [('guest_nic', 'instance-with-a-rather-long-name', 'eth0'), ('tap', 'compute-node-0001.example.org', 'tap3f0a9c1e-7b'),
             ('qbr', 'compute-node-0001.example.org', 'qbr3f0a9c1e-7b'), ('qvb', 'compute-node-0001.example.org', 'qvb3f0a9c1e-7b'),
             ('qvo', 'compute-node-0001.example.org', 'qvo3f0a9c1e-7b'), ('br-int', 'compute-node-0001.example.org', 'br-int'),
             ('br-tun', 'compute-node-0001.example.org', 'br-tun'), ('tunnel', 'compute-node-0001.example.org', 'vxlan-0a000102'),
             ('br-tun', 'network-node-0001.example.org', 'br-tun'), ('br-int', 'network-node-0001.example.org', 'br-int'),
             ('qr', 'network-node-0001.example.org', 'qr-8d2b7c4a-19'), ('qg', 'network-node-0001.example.org', 'qg-1c9e0f3b-aa'),
             ('br-ex', 'network-node-0001.example.org', 'br-ex'), ('uplink', 'network-node-0001.example.org', 'enp129s0f1np1'),
             ('gateway', None, None), ('external', 'external-probe', None)]
    hops = []
    for i, (kind, host, dev) in enumerate(names):
        hops.append(dict(rep['hops'][min(i, 6)], index=i, id='%02d-%s' % (i, kind), kind=kind, host=host, interface=dev,
                         status='ok', evidence=[]))
    rep['hops'] = hops
    rep['verdict']['place'] = dict(rep['verdict']['place'], host='compute-node-0001.example.org', after='04-qvo')
    return rep


@pytest.mark.skipif(chromium() is None, reason='chromium is not installed')
@pytest.mark.parametrize('width', [1024, 1300, 1920])
def test_html_fits_every_width_and_marks_one_place_in_chromium(width, tmp_path):
    for rep in (_report_for(_vnet_down()), _long_path_report()):
        m = measure(_report_html.render(rep), tmp_path, width)
        assert m['viewport'] == width
        # no horizontal scroll bar: nothing is wider than the window
        assert m['scroll_width'] <= width and m['body_scroll_width'] <= width, m['scroll_width']
        assert len(m['boxes']) == len(rep['hops']) + (1 if rep['verdict']['place']['kind'] == 'stack' else 0)
        for b in m['boxes'] + m['hosts']:
            assert 0 <= b['left'] and b['right'] <= width, b
        # exactly one box is drawn as the place of the cause, in red, and it is the verdict's
        red = [b for b in m['boxes'] if 'rgb(217, 48, 37)' in (b['outline'] + b['border'])]
        place = rep['verdict']['place']
        assert [b['id'] for b in red] == (['hop-%s' % place['hop']] if place['kind'] == 'hop' else ['place'])
        faulty_hosts = [h['host'] for h in m['hosts'] if 'has-fault' in h['cls'].split()]
        assert faulty_hosts == [place['host']]
    # the long path wraps onto several rows instead of running off the page
    assert len({round(b['top']) for b in m['boxes']}) > 1
