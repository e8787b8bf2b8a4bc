"""Ed25519 signing keys: create, load, sign and check. The only module that imports `cryptography`.

A private key reaches hsa-cert two ways, never written out by it: `$HSA_CERT_SIGNING_KEY` holding
the PEM text (or the path of a PEM file), or a key file named with `--signing-key`. `hsa-cert keys
new --out KEY.pem` creates one (owner-only permissions where the OS has them) and prints the public
key and its fingerprint, which the issuer publishes: whoever checks a certificate compares the
fingerprint `hsa-cert verify` names with the published one (`--trust`).

The fingerprint of a key is `SHA256:` and the hex SHA-256 of its 32 raw public-key bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harness.errors import ConfigError, UsageError

__all__ = ["ALGORITHM", "KEY_ENV", "SigningKey", "fingerprint_of", "load_signing_key", "new_key_file",
           "public_key_from_text", "verify_signature"]

ALGORITHM = "Ed25519"
KEY_ENV = "HSA_CERT_SIGNING_KEY"


def fingerprint_of(public_raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(public_raw).hexdigest()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """A loaded private key; `source` says where it came from (never the key itself)."""

    private: Ed25519PrivateKey
    source: str

    @property
    def public_raw(self) -> bytes:
        return _raw(self.private.public_key())

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_raw)

    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def _parse_private(pem: bytes, source: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError("The signing key is not an unencrypted PEM private key", location=source,
                          detail=str(exc), hint="create one with `hsa-cert keys new --out KEY.pem`") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"The signing key is not an {ALGORITHM} key", location=source,
                          hint="create one with `hsa-cert keys new --out KEY.pem`")
    return SigningKey(key, source)


def load_signing_key(key_file: Path | None = None) -> SigningKey | None:
    """The key named by `key_file`, else by $HSA_CERT_SIGNING_KEY (PEM text or a path); None: unsigned."""
    if key_file is None:
        value = os.environ.get(KEY_ENV, "").strip()
        if not value:
            return None
        if value.startswith("-----BEGIN"):
            return _parse_private(value.encode("ascii", errors="replace"), f"${KEY_ENV}")
        key_file = Path(value)
    try:
        pem = key_file.read_bytes()
    except OSError as exc:
        raise ConfigError("Cannot read the signing key file", location=str(key_file), detail=str(exc)) from exc
    return _parse_private(pem, str(key_file))


def new_key_file(out: Path) -> SigningKey:
    """Create a new Ed25519 key in `out` (refusing to overwrite), readable by its owner only."""
    if out.exists():
        raise UsageError(f"{out} exists: not overwriting a key", hint="choose another --out path")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Created with owner-only permissions from the start (no window where the key is world-readable).
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    except OSError as exc:  # a folder that cannot be made, a read-only place, a path through a file
        raise UsageError(f"cannot write the key to {out}: {exc.strerror or exc}", location=str(out),
                         hint="choose an --out path in a folder you can write to") from exc
    return SigningKey(key, str(out))


def public_key_from_text(text: str) -> bytes:
    """Raw public-key bytes from a PEM public key or a base64 raw key; ValueError if neither."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"not an {ALGORITHM} public key")
        return _raw(key)
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return raw


def verify_signature(public_b64: str, signature_b64: str, data: bytes) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        public.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
