"""Deterministic generator of Deel-format sample deliveries, and the shipped sample.

`python -m data.generate --out DIR --preset sample` regenerates `data/sample/` byte for byte.
"""

from data.run import PlantedEvent, PlantedSwing, planted_events, planted_swings
from data.writer import GenerationSummary, generate

__all__ = [
    "GenerationSummary",
    "PlantedEvent",
    "PlantedSwing",
    "generate",
    "planted_events",
    "planted_swings",
]
