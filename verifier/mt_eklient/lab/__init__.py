"""The simulated Windows lab: a strict test double of Windows 10/11 LTSC hosts.

Ansible's build roles and the verifier run against it in CI and the demo: the module stand-ins
(Ansible action plugins in a shadow collection tree, see `lab/ansible/`) apply changes to a JSON
state per host, and `facts.facts_from_state` plays the collector. Production code paths (`mtk scan`,
`mtk verify`) never import this package; a test checks that.
"""
