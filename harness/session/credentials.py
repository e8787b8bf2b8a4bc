"""Fresh gateway credentials for one run of the embedded platform under a signing profile.

The embedded platform verifies what the harness signs, so each run makes a new pair (the harness's, the
platform's) for the profile's gateway family: nothing is configured and no key outlives the run.
"""

from __future__ import annotations

import secrets

from harness.gateway import SM_FAMILIES
from harness.sm_crypto import sm2_keypair


def _embedded_credentials(family: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """Fresh gateway credentials for one embedded run under a signing profile: (the harness's, the platform's)."""
    if family in SM_FAMILIES:
        return _embedded_sm_credentials()
    first, second = secrets.token_hex(8), secrets.token_hex(16)
    if family == "tif":
        return {"paasid": first, "token": second}, {"tif_paasid": first, "tif_token": second}
    if family == "csb":
        return {"access_key": first, "secret_key": second}, {"csb_ak": first, "csb_sk": second}
    return None


def _embedded_sm_credentials() -> tuple[dict[str, str], dict[str, str]]:
    """Fresh national-crypto credentials for one embedded run: (the harness's, the platform's)."""
    private, public = sm2_keypair()
    app_id, token, sm4_key = f"hsa-cert-{secrets.token_hex(4)}", secrets.token_hex(16), secrets.token_hex(16)
    return ({"app_id": app_id, "access_token": token, "sm4_key": sm4_key, "sm2_private_key": private},
            {"sm_public_key": public, "sm_app_id": app_id, "sm_access_token": token, "sm4_key": sm4_key})
