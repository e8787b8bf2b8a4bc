"""The Chinese national cryptography primitives (国密): SM3 digest, SM4 block cipher, SM2 signatures.

The one owner of `gmssl` (pure-Python SM2/SM3/SM4 from PyPI). Primitives only: how a province wraps a
message with them (harness/gateway.py signs and encrypts; harness/platform/gateway_sm.py verifies
and decrypts) is written twice, apart. Keys are hex text: SM4 16 bytes (32 hex digits); SM2 private 32
bytes (64 hex), public the uncompressed point without the 04 prefix (128 hex). Standards: GB/T 32905
(SM3), GB/T 32907 (SM4), GB/T 32918 (SM2, the recommended 256-bit curve); signatures are SM2 over the
SM3 hash with the signer's Z value (the library's sign_with_sm3), r‖s as 128 hex digits.
"""

from __future__ import annotations

import functools
import secrets

from gmssl import func, sm2, sm3, sm4

__all__ = ["SmError", "sm2_keypair", "sm2_public_key", "sm2_sign", "sm2_verify", "sm3_hex", "sm4_decrypt",
           "sm4_encrypt"]


class SmError(ValueError):
    """A key of the wrong shape, or a ciphertext that does not decrypt."""


def sm3_hex(data: bytes) -> str:
    """SM3 digest as 64 lower-case hex digits (GB/T 32905)."""
    return sm3.sm3_hash(func.bytes_to_list(data))


def _sm4_key(key_hex: str) -> bytes:
    try:
        key = bytes.fromhex(key_hex)
    except ValueError as exc:
        raise SmError("an SM4 key is 32 hex digits") from exc
    if len(key) != 16:
        raise SmError("an SM4 key is 16 bytes (32 hex digits)")
    return key


def sm4_encrypt(key_hex: str, data: bytes) -> bytes:
    """SM4-ECB with PKCS#7 padding (GB/T 32907 block cipher)."""
    cipher = sm4.CryptSM4()
    cipher.set_key(_sm4_key(key_hex), sm4.SM4_ENCRYPT)
    return bytes(cipher.crypt_ecb(data))


def sm4_decrypt(key_hex: str, data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise SmError("an SM4-ECB ciphertext is a non-empty multiple of 16 bytes")
    cipher = sm4.CryptSM4()
    cipher.set_key(_sm4_key(key_hex), sm4.SM4_DECRYPT)
    plain = bytes(cipher.crypt_ecb(data))
    # the library strips the padding without checking it; PKCS#7 is unique, so a round trip checks it
    if sm4_encrypt(key_hex, plain) != data:
        raise SmError("the ciphertext does not decrypt with this key (bad padding)")
    return plain


def _curve(private_hex: str = "", public_hex: str = "") -> sm2.CryptSM2:
    return sm2.CryptSM2(private_key=private_hex, public_key=public_hex)


@functools.lru_cache(maxsize=64)  # a scalar multiplication in pure Python: once per key, not per message
def sm2_public_key(private_hex: str) -> str:
    """The public key (128 hex digits, x‖y) of an SM2 private key: d·G on the recommended curve."""
    if len(private_hex) != 64:
        raise SmError("an SM2 private key is 64 hex digits")
    curve = _curve()
    return curve._kg(int(private_hex, 16), curve.ecc_table["g"])


def sm2_keypair() -> tuple[str, str]:
    """A fresh (private, public) key pair, e.g. for a test environment."""
    while True:
        private = secrets.token_hex(32)
        if 0 < int(private, 16) < int(_curve().ecc_table["n"], 16) - 1:
            return private, sm2_public_key(private)


def sm2_sign(private_hex: str, data: bytes) -> str:
    """SM2 signature (with SM3 and the default user id) as r‖s, 128 hex digits."""
    curve = _curve(private_hex, sm2_public_key(private_hex))
    return curve.sign_with_sm3(data, secrets.token_hex(32))


def sm2_verify(public_hex: str, signature_hex: str, data: bytes) -> bool:
    if len(public_hex) != 128 or len(signature_hex) != 128:
        return False
    try:
        return bool(_curve(public_hex=public_hex).verify_with_sm3(signature_hex, data))
    except (ValueError, TypeError, ZeroDivisionError):
        return False
