"""The trainer: load -> validate -> features -> benchmark LR / RF / XGBoost -> search the best
two -> choose the threshold -> evaluate on a later slice -> log to MLflow -> register.

``fraudstream train`` runs it; the champion/challenger job calls :func:`train` to retrain the
losing model on recent data. The trainer is the only writer of :mod:`fraudstream.artifact`, the
model format every other component loads; :mod:`fraudstream.trainer.tracking` decides what a
run records, :mod:`fraudstream.registry` writes it to MLflow.
"""
