# cloudops.netdiag: two set-up commands for a fresh Debian 12 machine as root.
#   make demo   install what is needed, bring the lab up, break it, diagnose it
#   make test   install what is needed, run the whole suite
# Everything else here is a building block of those two.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
VPY := $(VENV)/bin/python
COLL_LINK := $(VENV)/collections/ansible_collections/cloudops/netdiag
TOPOLOGY ?= seed
LAB ?= nd
FAULT ?=
INSTANCE ?=
export PATH := $(VENV)/bin:/usr/sbin:/sbin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONDONTWRITEBYTECODE := 1

# Debian packages. None of them may start a system service: the install runs under a policy-rc.d that
# denies every start (mariadb-server-core has the server binary only; the lab starts its own private
# mariadbd, and its own ovsdb-server, ovs-vswitchd, ovn-northd and ovn-controller inside lab namespaces).
APT_PACKAGES := iproute2 bridge-utils iptables ebtables conntrack tcpdump dnsmasq-base busybox \
	mariadb-server-core mariadb-client ethtool procps git chromium iputils-ping libvirt-clients sosreport \
	openvswitch-switch ovn-central ovn-host

.PHONY: help deps system-packages venv collection demo test test-unit test-integration \
	sanity units lint molecule lab-up lab-down lab-status lab-fault lab-heal bench clean

help:
	@echo "make demo    - install, bring the '$(TOPOLOGY)' lab up, inject a fault, diagnose it"
	@echo "make test    - install and run the whole suite"
	@echo "make lab-up|lab-down|lab-status|lab-heal [TOPOLOGY=seed|vlan|ovn|ml2ovs] [LAB=prefix]"
	@echo "make lab-fault FAULT=name [LAB=prefix]"
	@echo "make bench   - run the benchmarks in bench/"

deps: system-packages venv collection

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if ! $(PYTHON) -m venv --help >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\n# netdiag make: no package may start a system service\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod 755 /usr/sbin/policy-rc.d; guard=1; fi; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
	  if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	fi

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt requirements-dev.txt
	@[ -x $(VPY) ] || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@[ -L $(COLL_LINK) ] || ln -sfn $(CURDIR) $(COLL_LINK)

demo: deps
	$(VPY) tools/demo.py --topology $(TOPOLOGY) --lab $(LAB) $(if $(FAULT),--fault $(FAULT)) $(if $(INSTANCE),--instance $(INSTANCE))

test: deps
	$(VPY) tools/run_tests.py

test-unit: deps
	$(VPY) -m pytest -q tests/unit

test-integration: deps
	$(VPY) -m pytest -q tests/integration

sanity: deps
	$(VPY) tools/sanity.py

units: deps
	$(VPY) tools/sanity.py units

lint: deps
	$(VENV)/bin/ansible-lint --profile production

molecule: deps
	$(VPY) tools/run_tests.py --only molecule

lab-up: deps
	$(VPY) -m lab --lab $(LAB) up --topology $(TOPOLOGY)

lab-down: deps
	$(VPY) -m lab --lab $(LAB) down

lab-status: deps
	$(VPY) -m lab --lab $(LAB) status

lab-fault: deps
	@[ -n "$(FAULT)" ] || { echo "give FAULT=name (python -m lab faults lists them)"; exit 2; }
	$(VPY) -m lab --lab $(LAB) fault $(FAULT)

lab-heal: deps
	$(VPY) -m lab --lab $(LAB) heal

bench: deps
	for b in bench/*/run.py; do $(VPY) $$b; done

clean:
	rm -rf tests/output .pytest_cache build
