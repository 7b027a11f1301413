"""A Sparkov-like transaction generator, calibrated against real Sparkov rows.

The default feed of the producer and the test data of every component::

    from fraudstream.simulator import SimParams, Simulator
    sim = Simulator(SimParams(fraud_rate=0.01), seed=7)
    frame = sim.frame(100_000)          # Kaggle columns and dtypes
    for record in sim.stream(rate=200): ...  # paced Kaggle JSON dicts
"""

from fraudstream.simulator.output import SCENARIO_COLUMN, LabelEvent
from fraudstream.simulator.pacing import Pacer, paced
from fraudstream.simulator.params import Calibration, Scenario, SimParams, default_calibration
from fraudstream.simulator.simulator import Simulator, WriteReport

__all__ = [
    "SCENARIO_COLUMN",
    "Calibration",
    "LabelEvent",
    "Pacer",
    "Scenario",
    "SimParams",
    "Simulator",
    "WriteReport",
    "default_calibration",
    "paced",
]
