"""A Sparkov-like transaction generator, calibrated against real Sparkov rows.

The default feed of the producer and the test data of every component::

    from fraudstream.simulator import SimParams, Simulator
    sim = Simulator(SimParams(fraud_rate=0.01), seed=7)
    frame = sim.frame(100_000)          # Kaggle columns and dtypes
    for record in sim.records(with_label=False): ...  # endless Kaggle JSON dicts

Pacing them at a rate is the producer's (:mod:`fraudstream.producer.pacing`).
"""

from fraudstream.simulator.output import SCENARIO_COLUMN, DelayedLabel
from fraudstream.simulator.params import Calibration, Scenario, SimParams, default_calibration
from fraudstream.simulator.simulator import Simulator, WriteReport

__all__ = [
    "SCENARIO_COLUMN",
    "Calibration",
    "DelayedLabel",
    "Scenario",
    "SimParams",
    "Simulator",
    "WriteReport",
    "default_calibration",
]
