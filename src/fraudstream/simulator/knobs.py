"""The simulator's knobs as the commands take them: the settings (``FRAUD_SIM_*``, which is how
``fraudstream up`` and compose configure the feed), then any command-line option on top, with
one readable line for every value that does not parse."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from fraudstream.config import SimulatorSettings
from fraudstream.errors import ConfigError
from fraudstream.simulator.params import Scenario, SimParams

_SCENARIOS = ", ".join(s.value for s in Scenario)


def parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} must be a date or time like 2019-01-01 or 2020-06-21T12:00, got {value!r}"
        ) from None


def parse_scenario(value: str | None, option: str) -> Scenario | None:
    if value is None:
        return None
    try:
        return Scenario(value)
    except ValueError:
        raise ConfigError(f"{option} must be one of {_SCENARIOS}; got {value!r}") from None


def parse_mix(value: str | None) -> dict[Scenario, float] | None:
    if value is None:
        return None
    mix: dict[Scenario, float] = {}
    for part in value.split(","):
        name, _, weight = part.partition("=")
        try:
            mix[Scenario(name.strip())] = float(weight or 1)
        except ValueError:
            raise ConfigError(
                f"--fraud-mix takes name=weight pairs of {_SCENARIOS}; got {part!r}"
            ) from None
    return mix


def sim_params(simulator: SimulatorSettings, **options: Any) -> SimParams:
    """The settings' simulator, with every option that is not None on top (already parsed:
    ``drift_at`` a datetime, ``drift_scenario`` a :class:`Scenario`)."""
    knobs: dict[str, Any] = {
        "customers": simulator.customers,
        "merchants": simulator.merchants,
        "fraud_rate": simulator.fraud_rate,
        "label_delay_days": simulator.label_delay_days,
        "drift_at": simulator.drift_at,
        "drift_scenario": parse_scenario(simulator.drift_scenario, "FRAUD_SIM_DRIFT_SCENARIO"),
    }
    knobs.update({name: value for name, value in options.items() if value is not None})
    try:
        return SimParams.model_validate(knobs)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid simulator settings: {problems}") from None
