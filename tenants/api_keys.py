"""The shape of an API key, ``infyn_<prefix>_<secret>``, and how it is stored (an HMAC).

Pure functions, used by the services that mint keys and the selectors that look them up.
"""

import hashlib
import hmac

from django.conf import settings

API_KEY_PREFIX = "infyn"


def api_key_hash(raw_key: str) -> str:
    secret = settings.API_KEY_HASH_SECRET.encode()
    return hmac.new(secret, raw_key.encode(), hashlib.sha256).hexdigest()


def api_key_split(raw_key: str) -> str | None:
    """Return the lookup prefix of a key shaped like ``infyn_<prefix>_<secret>``, or None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]
