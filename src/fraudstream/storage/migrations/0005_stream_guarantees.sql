-- What the stream needs to keep its guarantees under anything, and to say what it is doing.
--
-- scored_transactions: the Kafka message each verdict was scored from. A message delivered again
-- after a crash finds its own position here and has its verdict published again (its first
-- publication was in a Kafka transaction that never committed); another message with the same
-- trans_num (a producer's retry) finds someone else's position, and is acknowledged without a
-- second verdict on the topic. `fraudstream reconcile` accounts for every offset with it. Rows
-- stored before this migration have no position (NULL).
--
-- stream_metrics: each worker's state as an operator needs it: flowing, retrying since when and
-- why (an outage), or isolating messages that broke a stage; and the last failure it saw.

ALTER TABLE scored_transactions
    ADD COLUMN kafka_partition integer CHECK (kafka_partition >= 0),
    ADD COLUMN kafka_offset    bigint  CHECK (kafka_offset >= 0);

ALTER TABLE stream_metrics
    ADD COLUMN state           text CHECK (state IN ('starting', 'flowing', 'retrying', 'isolating')),
    ADD COLUMN state_since     timestamptz,
    ADD COLUMN state_reason    text,
    ADD COLUMN isolating       integer CHECK (isolating >= 0),
    ADD COLUMN last_failure    text,
    ADD COLUMN last_failure_at timestamptz;
