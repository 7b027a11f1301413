"""The no-Docker local stack: a real Kafka broker, a real PostgreSQL, the MLflow store, and the
process runner behind ``fraudstream up``."""
