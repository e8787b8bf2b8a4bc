"""The mutation proxy (layer 2): plant bugs in the answers of any site, on the wire.

A catalogue of named mutations (`mutations.json`, data) and a small interpreter of its operation
kinds rewrite response envelopes; `MutatingTarget` wraps any `harness.transport.Target` with one
mutation, so that the self-test (`hsa-cert selftest --site X`) measures the suite against that very
site, not against our own platform's conventions. It knows the envelope shape, nothing of the
reference platform.

    load_mutations() -> {name: Mutation}, select_mutations(names)
    catalogue.select_by_name(catalogue, names, ...)   the selection, shared with the platform mutants'
    MutatingTarget(target, mutation, err_msg_patterns=) .send / .applied
    mutate_answer(mutation, infno, request, text, state) -> rewritten text or None
"""

from harness.proxy.catalogue import CATALOGUE_FILE, Mutation, load_mutations, mutation_from, select_mutations
from harness.proxy.operations import KINDS, ProxyState, apply_ops
from harness.proxy.wrapper import MutatingTarget, mutate_answer

__all__ = ["CATALOGUE_FILE", "KINDS", "MutatingTarget", "Mutation", "ProxyState", "apply_ops", "load_mutations",
           "mutate_answer", "mutation_from", "select_mutations"]
