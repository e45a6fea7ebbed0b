from django.contrib.auth.hashers import PBKDF2PasswordHasher


class WitnessPinHasher(PBKDF2PasswordHasher):
    """PBKDF2 with fewer rounds, for the witness PIN only (never for passwords).

    A witness confirms every dose at the hatch; the full password cost (~0.5 s) would blow the
    50 ms record-a-dose budget. Online guessing is stopped by the lockout in
    clinics.services.witness_secret_is_correct; the PIN guards a co-present second signature,
    not the account.
    """

    algorithm = "pbkdf2_sha256_pin"
    iterations = 20_000
