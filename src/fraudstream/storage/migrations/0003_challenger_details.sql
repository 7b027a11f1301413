-- What the champion/challenger job and the drift monitor learnt beyond the first schema.
--
-- challenger_decisions: the paired difference (challenger minus champion) with its confidence
-- interval, which is what the decision rests on; where the scores came from (stored verdicts and
-- shadow scores, or both models scored offline); the versions the aliases point to after the
-- run (a promotion moves both); and how long the run took.
-- drift_reports: the serving model's version the report is about, the score's drift and the
-- fraud rate among the window's labelled rows beside the training one, so the dashboard can
-- chart them without opening the features document.

ALTER TABLE challenger_decisions
    ADD COLUMN difference             double precision,
    ADD COLUMN difference_ci_low      double precision,
    ADD COLUMN difference_ci_high     double precision,
    ADD COLUMN scoring                text CHECK (scoring IN ('stored', 'offline')),
    ADD COLUMN new_champion_version   text,
    ADD COLUMN new_challenger_version text,
    ADD COLUMN duration_seconds       double precision CHECK (duration_seconds >= 0);

ALTER TABLE drift_reports
    ADD COLUMN model_name           text,
    ADD COLUMN model_version        text,
    ADD COLUMN score_psi            double precision,
    ADD COLUMN max_feature_psi      double precision,
    ADD COLUMN n_rows               integer CHECK (n_rows >= 0),
    ADD COLUMN labelled_rows        integer CHECK (labelled_rows >= 0),
    ADD COLUMN fraud_rate           double precision,
    ADD COLUMN reference_fraud_rate double precision;
