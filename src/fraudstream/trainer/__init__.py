"""The trainer: load -> validate -> features -> benchmark LR / RF / XGBoost -> search the best
two -> choose the threshold -> evaluate on a later slice -> log to MLflow -> register.

``fraudstream train`` runs it; the champion/challenger job calls :func:`train` to retrain the
losing model on recent data. :mod:`fraudstream.trainer.artifact` is the model format the
model service loads.
"""
