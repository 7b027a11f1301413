"""The simulator's knobs: the settings (how `fraudstream up` switches drift on), then the
command's options on top, and one readable line for a bad value."""

from __future__ import annotations

from datetime import datetime

import pytest

from fraudstream.config import Settings, SimulatorSettings
from fraudstream.errors import ConfigError
from fraudstream.simulator.knobs import parse_mix, sim_params
from fraudstream.simulator.params import Scenario

pytestmark = pytest.mark.unit


def _settings(**values: object) -> SimulatorSettings:
    return Settings(_env_file=None, **values).simulator


def test_drift_comes_from_the_settings() -> None:
    params = sim_params(
        _settings(sim_drift_at="2019-01-20", sim_drift_scenario="far_from_home", sim_customers=50)
    )
    assert params.drift_at == datetime(2019, 1, 20)
    assert params.drift_scenario is Scenario.FAR_FROM_HOME
    assert params.customers == 50


def test_drift_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_SIM_DRIFT_AT", "2019-02-01T06:00")
    params = sim_params(_settings())
    assert params.drift_at == datetime(2019, 2, 1, 6)
    assert params.drift_scenario is Scenario.CARD_TESTING


def test_options_override_the_settings_and_none_keeps_them() -> None:
    settings = _settings(sim_drift_at="2019-01-20", sim_fraud_rate=0.01)
    params = sim_params(settings, drift_at=datetime(2019, 3, 1), fraud_rate=None, drift_weight=0.8)
    assert params.drift_at == datetime(2019, 3, 1)
    assert params.fraud_rate == 0.01
    assert params.drift_weight == 0.8


def test_a_bad_scenario_in_the_settings_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="FRAUD_SIM_DRIFT_SCENARIO must be one of night_spree"):
        sim_params(_settings(sim_drift_scenario="phishing"))


def test_a_bad_mix_names_the_pair() -> None:
    assert parse_mix("night_spree=1,card_testing") == {
        Scenario.NIGHT_SPREE: 1.0,
        Scenario.CARD_TESTING: 1.0,
    }
    with pytest.raises(ConfigError, match="got 'aliens=2'"):
        parse_mix("night_spree=1,aliens=2")
