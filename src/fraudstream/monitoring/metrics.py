"""Prometheus gauges of the latest drift report, served by the process that computes reports
(the challenger scheduler)."""

from __future__ import annotations

from prometheus_client import Gauge

from fraudstream.monitoring.report import DriftResult

FEATURE_PSI = Gauge(
    "fraudstream_drift_feature_psi", "PSI of each feature, recent window vs reference", ["feature"]
)
FEATURE_KS = Gauge(
    "fraudstream_drift_feature_ks", "KS statistic of each numeric feature", ["feature"]
)
SCORE_PSI = Gauge("fraudstream_drift_score_psi", "PSI of the serving model's scores")
DRIFTED_FEATURES = Gauge(
    "fraudstream_drift_drifted_features", "Features whose PSI is above the drift threshold"
)
FRAUD_RATE = Gauge(
    "fraudstream_drift_fraud_rate", "Fraud rate among the recent window's labelled rows"
)
REFERENCE_FRAUD_RATE = Gauge(
    "fraudstream_drift_reference_fraud_rate", "Fraud rate of the serving model's training rows"
)
REPORT_TIME = Gauge(
    "fraudstream_drift_report_timestamp_seconds", "When the latest drift report was computed"
)


def publish(result: DriftResult) -> None:
    """Expose one report's figures (the previous report's are overwritten)."""
    for name, drift in result.features.items():
        FEATURE_PSI.labels(name).set(drift.psi)
        if drift.ks is not None:
            FEATURE_KS.labels(name).set(drift.ks)
    SCORE_PSI.set(float("nan") if result.score is None else result.score.psi)
    DRIFTED_FEATURES.set(len(result.drifted_features))
    FRAUD_RATE.set(float("nan") if result.fraud_rate is None else result.fraud_rate)
    REFERENCE_FRAUD_RATE.set(result.reference_fraud_rate)
    REPORT_TIME.set_to_current_time()
