"""How transport names an infrastructure failure: each kind of exception, and causes hidden in a chain.

Found by mutation testing (`tools/mutation.py --module transport`): the classification of network
errors (what `Exchange.error` says, what a user reads in a report) had no test of its own for most of
its branches. Expectations are literals.
"""

from __future__ import annotations

import ssl

import pytest
import requests
import urllib3

from harness.transport import _network_error


def test_a_dropped_connection_names_the_exception() -> None:
    exc = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(3 bytes read)")
    assert _network_error(exc) == ("connection dropped: ChunkedEncodingError: "
                                   "Connection broken: IncompleteRead(3 bytes read)")


def test_a_redirect_loop_quotes_the_error() -> None:
    exc = requests.exceptions.TooManyRedirects("Exceeded 30 redirects.")
    assert _network_error(exc) == "redirect loop: Exceeded 30 redirects."


def test_an_undecodable_answer_quotes_the_error() -> None:
    exc = requests.exceptions.ContentDecodingError("Received response with content-encoding: gzip, but failed")
    assert _network_error(exc) == "undecodable answer: Received response with content-encoding: gzip, but failed"


@pytest.mark.parametrize("text", [
    "HTTPConnectionPool(host='h', port=1): [Errno 111] Connection refused",  # Linux
    "[WinError 10061] No connection could be made because the target machine actively refused it",  # Windows
])
def test_a_refusal_is_recognised_by_its_text(text: str) -> None:
    assert _network_error(requests.exceptions.ConnectionError(text)) == "connection refused"


def test_a_refusal_is_found_in_the_first_argument() -> None:
    # requests wraps urllib3's error as its first argument; the refusal itself says nothing readable.
    exc = requests.exceptions.ConnectionError(ConnectionRefusedError(), "while connecting")
    assert _network_error(exc) == "connection refused"


def test_a_refusal_is_found_through_the_reason() -> None:
    exc = urllib3.exceptions.MaxRetryError(None, "/hsa-fsi/2207", reason=ConnectionRefusedError())
    assert _network_error(exc) == "connection refused"


def test_a_refusal_is_found_through_the_cause() -> None:
    exc = requests.exceptions.ConnectionError("cannot connect")
    exc.__cause__ = ConnectionRefusedError()
    assert _network_error(exc) == "connection refused"


def test_a_refusal_is_found_through_the_context() -> None:
    try:
        try:
            raise ConnectionRefusedError()
        except ConnectionRefusedError:
            raise requests.exceptions.ConnectionError("cannot connect") from None
    except requests.exceptions.ConnectionError as exc:
        exc.__suppress_context__ = False
        assert exc.__context__ is not None
        assert _network_error(exc) == "connection refused"


def test_a_tls_error_deep_in_the_chain_is_named_by_its_text() -> None:
    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                         "unable to get local issuer certificate (_ssl.c:1006)")
    exc = requests.exceptions.ConnectionError("connect failed")
    exc.__cause__ = inner
    assert _network_error(exc) == (
        "TLS: the certificate comes from a CA this machine does not trust ([SSL: CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)); "
        "hint: set [tls] ca_bundle to the site's CA bundle (PEM)")


def test_an_unknown_tls_failure_is_a_failed_handshake() -> None:
    exc = requests.exceptions.SSLError("sslv3 alert handshake failure")
    assert _network_error(exc) == ("TLS: handshake failed (sslv3 alert handshake failure); "
                                   "hint: check [tls] ca_bundle, client_cert and client_key")


def test_anything_else_is_a_connection_error_named_by_its_type() -> None:
    assert _network_error(requests.exceptions.ConnectionError()) == "connection error: ConnectionError: (empty body)"
    exc = OSError("Network is unreachable")
    assert _network_error(exc) == "connection error: OSError: Network is unreachable"


def test_a_cycle_of_causes_ends() -> None:
    first, second = RuntimeError("first"), RuntimeError("second")
    first.__context__, second.__context__ = second, first
    assert _network_error(first) == "connection error: RuntimeError: first"
