-- The tables of fraudstream. Applied once, in one transaction, by fraudstream.storage.migrate.
--
-- Who writes and who reads:
--   stream processor   writes scored_transactions, labels, stream_metrics, dead_letters
--   model service      writes shadow_scores (the challenger scored in shadow)
--   challenger job     reads scored_transactions JOIN labels by transaction time; writes
--                      challenger_decisions
--   monitoring         reads recent scored_transactions; writes drift_reports
--   dashboard          reads everything as fraudstream_reader (latest flagged, time series)
--
-- Times: trans_date_trans_time and dob are Sparkov's local wall-clock values (timestamp, date,
-- no zone), exactly as in the feed. Every time the system itself measures is timestamptz.
-- No foreign keys between labels and scored rows: a chargeback may arrive before the verdict of
-- its transaction is stored (two topics, two agents) and must not be refused.

CREATE TABLE scored_transactions (
    trans_num             text             PRIMARY KEY,
    -- the feed, typed (fraudstream.schema.FEED_COLUMNS)
    trans_date_trans_time timestamp        NOT NULL,
    cc_num                bigint           NOT NULL,
    merchant              text             NOT NULL,
    category              text             NOT NULL,
    -- double precision, not numeric: the value round-trips exactly to the float the model saw,
    -- and pandas readers get float64 instead of Decimal objects
    amt                   double precision NOT NULL CHECK (amt >= 0),
    first                 text             NOT NULL,
    last                  text             NOT NULL,
    gender                text             NOT NULL CHECK (gender IN ('F', 'M')),
    street                text             NOT NULL,
    city                  text             NOT NULL,
    state                 text             NOT NULL,
    zip                   integer          NOT NULL,
    lat                   double precision NOT NULL,
    long                  double precision NOT NULL,
    city_pop              integer          NOT NULL,
    job                   text             NOT NULL,
    dob                   date             NOT NULL,
    unix_time             bigint           NOT NULL,
    merch_lat             double precision NOT NULL,
    merch_long            double precision NOT NULL,
    -- the verdict (fraudstream.schema.Verdict)
    score                 double precision NOT NULL CHECK (score >= 0 AND score <= 1),
    is_fraud_pred         smallint         NOT NULL CHECK (is_fraud_pred IN (0, 1)),
    threshold             double precision NOT NULL,
    model_name            text             NOT NULL,
    model_version         text             NOT NULL,
    reasons               jsonb            NOT NULL DEFAULT '[]',
    -- the journey: Kafka timestamp of the transaction, answer of the service, commit here
    produced_at           timestamptz      NOT NULL,
    scored_at             timestamptz      NOT NULL,
    stored_at             timestamptz      NOT NULL DEFAULT now()
);

-- dashboard: the newest verdicts, and time series over them
CREATE INDEX scored_transactions_scored_at ON scored_transactions (scored_at DESC);
-- dashboard: "latest flagged"; partial, so it stays about 0.5 % of the table
CREATE INDEX scored_transactions_flagged ON scored_transactions (scored_at DESC)
    WHERE is_fraud_pred = 1;
-- challenger and monitoring: windows of transaction time (replayed files carry old times)
CREATE INDEX scored_transactions_event_time ON scored_transactions (trans_date_trans_time);
-- dashboard filters and breakdowns
CREATE INDEX scored_transactions_category ON scored_transactions (category, scored_at DESC);
CREATE INDEX scored_transactions_state ON scored_transactions (state, scored_at DESC);


-- Delayed ground truth (chargebacks). A later label for the same transaction replaces an
-- earlier one (a reversed chargeback); a replayed label changes nothing.
CREATE TABLE labels (
    trans_num   text        PRIMARY KEY,
    is_fraud    smallint    NOT NULL CHECK (is_fraud IN (0, 1)),
    labelled_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX labels_labelled_at ON labels (labelled_at);


-- Scores of a model in shadow (the challenger beside the champion), one row per version.
CREATE TABLE shadow_scores (
    trans_num     text             NOT NULL,
    model_version text             NOT NULL,
    model_name    text             NOT NULL,
    score         double precision NOT NULL CHECK (score >= 0 AND score <= 1),
    scored_at     timestamptz      NOT NULL,
    PRIMARY KEY (trans_num, model_version)
);

CREATE INDEX shadow_scores_version_time ON shadow_scores (model_version, scored_at);


-- Every run of the champion/challenger job, whatever it decided.
CREATE TABLE challenger_decisions (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_at              timestamptz      NOT NULL DEFAULT now(),
    model_name          text             NOT NULL,
    metric              text             NOT NULL,
    champion_version    text,
    challenger_version  text,
    champion_metric     double precision,
    champion_ci_low     double precision,
    champion_ci_high    double precision,
    challenger_metric   double precision,
    challenger_ci_low   double precision,
    challenger_ci_high  double precision,
    window_start        timestamp,
    window_end          timestamp,
    n_rows              integer          NOT NULL CHECK (n_rows >= 0),
    n_frauds            integer          NOT NULL CHECK (n_frauds >= 0),
    action              text             NOT NULL
        CHECK (action IN ('promoted', 'kept', 'no_decision', 'failed')),
    reason              text             NOT NULL,
    drift               jsonb
);

CREATE INDEX challenger_decisions_run_at ON challenger_decisions (run_at DESC);


-- Drift between the training reference and a window of recent traffic.
CREATE TABLE drift_reports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    window_start timestamp   NOT NULL,
    window_end   timestamp   NOT NULL,
    reference    text        NOT NULL,
    features     jsonb       NOT NULL,
    drifted      boolean     NOT NULL,
    summary      text        NOT NULL,
    CHECK (window_start <= window_end)
);

CREATE INDEX drift_reports_created_at ON drift_reports (created_at DESC);


-- What each stream worker saw over each reporting interval, for the dashboard's health page.
CREATE TABLE stream_metrics (
    ts              timestamptz      NOT NULL,
    worker          text             NOT NULL,
    batch_size      integer          NOT NULL CHECK (batch_size >= 0),
    throughput      double precision NOT NULL,  -- transactions per second over the interval
    lag             bigint           NOT NULL,  -- messages behind the end of the topic
    retries         integer          NOT NULL CHECK (retries >= 0),
    dlq_count       integer          NOT NULL CHECK (dlq_count >= 0),
    latency_p50_ms  double precision,  -- produced_at to stored_at
    latency_p95_ms  double precision,
    latency_p99_ms  double precision,
    PRIMARY KEY (worker, ts)
);

CREATE INDEX stream_metrics_ts ON stream_metrics (ts DESC);


-- A mirror of the dead-letter topic's reasons; one row per Kafka message, so a replay adds none.
CREATE TABLE dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    failed_at       timestamptz NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    reason          text        NOT NULL,
    key             bytea,
    payload         bytea,
    UNIQUE (topic, kafka_partition, kafka_offset)
);

CREATE INDEX dead_letters_failed_at ON dead_letters (failed_at DESC);
