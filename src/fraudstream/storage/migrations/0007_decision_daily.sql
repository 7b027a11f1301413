-- The card metrics of the champion/challenger job day by day.
--
-- challenger_decisions.daily: for a decision on cp_at_k (card precision top-k per day) or
-- amount_at_k (fraud amount of those top-k cards), what the window's figure is made of:
-- {"cards_per_day": k, "days": [{"day": "2019-06-01", "champion": 0.25, "challenger": 0.3}, ...]}
-- (fraudstream.storage.models.DailyMetric). The window's figure is the mean of the days (CP@k)
-- or their sum (amount); the dashboard draws the days. NULL for the other metrics, for runs that
-- measured nothing and for rows recorded before this migration.

ALTER TABLE challenger_decisions
    ADD COLUMN daily jsonb;
