"""Signed 64-bit "warehouse hash" identifiers, derived bijectively so they never collide."""

from __future__ import annotations

from data.presets import HASH_NULL

MASK64 = (1 << 64) - 1

# Domains keep the id spaces apart: an invoice id never equals an organization id by construction
# of the input (the domain sits in the top bits, far above any index used below).
ORG, INVOICE, PARENT, TRANSACTION, COUNTRY, TYPE = range(1, 7)


def mix64(value: int) -> int:
    """SplitMix64 finalizer: a bijection on unsigned 64-bit integers that scatters the bits."""
    value &= MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def to_signed(value: int) -> int:
    """Reinterpret an unsigned 64-bit integer as signed (about half come out negative)."""
    return value - (1 << 64) if value >= 1 << 63 else value


class IdFactory:
    """Makes the ids of one generation run; equal (seed, domain, key) always give the same id."""

    def __init__(self, seed: int) -> None:
        self.salt = mix64(seed * 0x9E3779B97F4A7C15 + 0x5EED)

    def make(self, domain: int, key: int) -> int:
        """Signed 64-bit id for `key` (< 2**58) in `domain`; never the HASH(NULL) sentinel."""
        value = to_signed(mix64((domain << 58 | key) ^ self.salt))
        return value ^ 1 if value == HASH_NULL else value

    def text(self, domain: int, key: int) -> str:
        """The id formatted for the CSV."""
        return str(self.make(domain, key))


def invoice_key(org_index: int, month: int, seq: int) -> int:
    """Key of an invoice: organization, month of the range, sequence in that month."""
    return org_index << 36 | month << 24 | seq


def seed_for(seed: int, *parts: int) -> int:
    """A seed for random.Random derived from the run seed and a path of small integers."""
    value = mix64(seed + 0x1234567)
    for part in parts:
        value = mix64(value ^ (part * 0x9E3779B97F4A7C15 + 1))
    return value
