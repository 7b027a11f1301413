"""The simulator measured against real Sparkov rows: calibration and the fidelity report.

Tooling around the generator, never used by it: :mod:`.real_profile` says which real rows stand
for which feature, :mod:`.calibrate` derives the committed ``params.json`` from them,
:mod:`.fidelity` compares simulated rows with real ones (PSI and KS from
:mod:`fraudstream.stats`) and :mod:`.plots` draws the same comparison. ``fraudstream report
calibrate | fidelity`` (:mod:`fraudstream.simulator.cli`) wires them.
"""
