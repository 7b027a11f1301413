-- Labels get a source and a history (docs/labels.md).
--
-- labels: the one label of each transaction that counts. Its source says who gave it: the card
-- issuer ('chargeback': a chargeback, or its window closing without one) or a fraud analyst's
-- review ('analyst', with the analyst's name). A chargeback outranks an analyst's decision, and
-- between two labels of the same source the later one counts.
--
-- label_decisions: every label ever received, never changed or deleted (the audit trail): who
-- said what about which transaction, when. An analyst overruled by a later chargeback keeps
-- their row here; the disagreement is what the audit page shows. A replayed message adds nothing.

ALTER TABLE labels
    ADD COLUMN source text NOT NULL DEFAULT 'chargeback'
        CHECK (source IN ('chargeback', 'analyst')),
    ADD COLUMN author text;

CREATE TABLE label_decisions (
    id          bigserial   PRIMARY KEY,
    trans_num   text        NOT NULL,
    is_fraud    smallint    NOT NULL CHECK (is_fraud IN (0, 1)),
    source      text        NOT NULL CHECK (source IN ('chargeback', 'analyst')),
    author      text,
    note        text,
    labelled_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((source = 'analyst') = (author IS NOT NULL))
);

-- one row per message, whatever the replays
CREATE UNIQUE INDEX label_decisions_once
    ON label_decisions (trans_num, source, labelled_at, (coalesce(author, '')));
-- the audit page's disagreements: every label of a transaction
CREATE INDEX label_decisions_trans_num ON label_decisions (trans_num);
-- "my reviews", and the audit page's newest first
CREATE INDEX label_decisions_stored_at ON label_decisions (stored_at DESC);

CREATE FUNCTION label_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'label_decisions is the audit trail: its rows are never changed or deleted';
END
$$;

CREATE TRIGGER label_decisions_append_only BEFORE UPDATE OR DELETE ON label_decisions
    FOR EACH ROW EXECUTE FUNCTION label_decisions_append_only();

INSERT INTO label_decisions (trans_num, is_fraud, source, labelled_at, stored_at)
SELECT trans_num, is_fraud, 'chargeback', labelled_at, stored_at FROM labels;

-- the review queue shows the card's recent history beside each flagged transaction
CREATE INDEX scored_transactions_card ON scored_transactions (cc_num, trans_date_trans_time DESC);
