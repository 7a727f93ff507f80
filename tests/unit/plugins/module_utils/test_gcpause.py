# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""paused_gc(): the collector is off inside the block and back to its previous state after it."""

from __future__ import annotations

import gc

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils._gcpause import paused_gc


@pytest.fixture
def gc_state():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize('enabled_before', [True, False])
def test_off_inside_and_restored(gc_state, enabled_before):
    if enabled_before:
        gc.enable()
    else:
        gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled_before


def test_restored_after_an_exception(gc_state):
    gc.enable()
    with pytest.raises(KeyError):
        with paused_gc():
            raise KeyError('x')
    assert gc.isenabled()


def test_inactive_leaves_the_collector_alone(gc_state):
    gc.enable()
    with paused_gc(active=False):
        assert gc.isenabled()
    assert gc.isenabled()
