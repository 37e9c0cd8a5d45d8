"""Everything a generation run decides up front, and the public list of planted swings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from data.days import Calendar, build_calendar
from data.invoices import Context, Invoice, make_context, org_invoices
from data.plan import OrgPlan, build_plans
from data.presets import DEFAULT_PRESET, DEFAULT_SEED, Preset, resolve_preset
from data.swings import Plant, choose_plants, expected_days, plant_invoices


class PlantedSwing(NamedTuple):
    """A day the balance monitor should flag."""

    organization_id: int
    day: str
    description: str


class PlantedEvent(NamedTuple):
    """A planted balance event; is_swing is False for the exact-threshold control."""

    organization_id: int
    day: str
    description: str
    is_swing: bool


@dataclass
class Run:
    """The resolved preset, lookup tables, organization plans and planted organizations."""

    preset: Preset
    seed: int
    cal: Calendar
    ctx: Context
    plans: list[OrgPlan]
    plants: dict[int, Plant]

    def base_invoices(self, plan: OrgPlan) -> list[Invoice]:
        """The organization's invoices in the base range, planted events included."""
        plant = self.plants.get(plan.index)
        if plant is None:
            return org_invoices(plan, self.ctx, 0, self.cal.end_day)
        planted = plant_invoices(org_invoices(plant.plan, self.ctx, 0, self.cal.end_day),
                                 plant, self.ctx)
        assert planted is not None, "a chosen plant always fits"
        return planted

    def events(self) -> list[PlantedEvent]:
        """Planted events in date order."""
        out = []
        for index, plant in self.plants.items():
            for day, text in expected_days(plant, self.cal.end_day).items():
                out.append(PlantedEvent(
                    int(self.plans[index].org_id), self.cal.dates[day], text, plant.spec.is_swing
                ))
        return sorted(out, key=lambda e: (e.day, e.organization_id))


def prepare(preset: Preset, seed: int) -> Run:
    """Plan a run: calendar, organizations, and which of them carry planted swings."""
    cal = build_calendar(preset.start, preset.end, seed)
    ctx = make_context(seed, cal)
    plans = build_plans(preset, seed, cal)
    return Run(preset, seed, cal, ctx, plans, choose_plants(plans, ctx))


def planted_events(preset: str = DEFAULT_PRESET, seed: int = DEFAULT_SEED) -> list[PlantedEvent]:
    """All planted events of a preset, including the exact +50% control that is not a swing."""
    return prepare(resolve_preset(preset), seed).events()


def planted_swings(preset: str = DEFAULT_PRESET, seed: int = DEFAULT_SEED) -> list[PlantedSwing]:
    """(organization_id, 'YYYY-MM-DD', description) of every swing the monitor should flag."""
    return [
        PlantedSwing(e.organization_id, e.day, e.description)
        for e in planted_events(preset, seed)
        if e.is_swing
    ]
