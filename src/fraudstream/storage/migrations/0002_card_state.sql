-- Per-card state of the stream (fraudstream.features.CardState, msgpack), written in the same
-- transaction as the verdicts it produced. A verdict and the history it saw therefore commit
-- together: a replayed transaction finds its verdict stored and is not counted twice, and a
-- worker that lost a partition cannot overwrite a newer state (the version must advance by
-- exactly one; see fraudstream.stream_processor.scorer).
CREATE TABLE card_state (
    cc_num     bigint      PRIMARY KEY,
    state      bytea       NOT NULL,
    version    bigint      NOT NULL CHECK (version > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
