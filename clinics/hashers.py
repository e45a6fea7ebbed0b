"""Witness PINs: a keyed hash, because no number of rounds protects a six-digit secret.

A PIN of 6 to 12 digits has at most a million guesses at its short end: a stolen table of PIN hashes
falls to a search of every PIN however slow each hash is (20,000 PBKDF2 rounds cost an attacker
seconds on a graphics card). What does protect it is a key the database does not hold: each PIN is
first keyed with HMAC-SHA256 under `WITNESS_PIN_KEY` (a setting, from the environment; NIST SP 800-63B
5.1.1.2 calls it a secret salt), so a copy of the database alone allows no search at all. Online
guessing is stopped by the lockout in clinics.services.witness_secret_is_correct. A few PBKDF2 rounds
on top keep the stored form one Django knows how to salt, compare and upgrade.

The witness confirms every dose at the hatch, so the PIN check is on the record-a-dose path: 100 rounds
cost about 0.03 ms, 1,000 cost 0.2 ms (2 to 3% of a dose's CPU under load, issue 13) and the unkeyed 20,000
about 10 ms. Should the key leak with the database, a graphics card searches every 6-digit PIN in well under
a second at either count: the rounds were never the protection, the key and the lockout are. PINs stored
with another count are stored again at this one the first time they are right (Django's must_update). PINs
stored by the unkeyed hasher (`LegacyWitnessPinHasher`) are still checked, and stored again keyed the first
time they are right.
Never for passwords: those keep Django's own hasher.
"""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class WitnessPinHasher(PBKDF2PasswordHasher):
    algorithm = "pin_hmac_pbkdf2_sha256"
    iterations = 100

    def encode(self, password, salt, iterations=None):
        # Django's verify() and harden_runtime() call encode() with the PIN as typed: all paths are keyed.
        keyed = hmac.new(settings.WITNESS_PIN_KEY.encode(), str(password).encode(), hashlib.sha256).hexdigest()
        return super().encode(keyed, salt, iterations)


class LegacyWitnessPinHasher(PBKDF2PasswordHasher):
    """PINs set before the keyed hash: checked, then stored again by `WitnessPinHasher`."""

    algorithm = "pbkdf2_sha256_pin"
    iterations = 20_000
