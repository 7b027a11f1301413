-- No planner statistics for the columns of scored_transactions that no query filters, joins,
-- groups or sorts on: the cardholder's name and address, the coordinates, the merchant, the
-- verdict's threshold and reasons.
--
-- Autovacuum analyzes the table as it grows (under load about once a minute while it is young).
-- ANALYZE sorts its 30,000-row sample once per column: 0.43 s of CPU for this 32-column table at
-- 400,000 rows, 0.27 s without these 17 columns (bench/storage_analyze.py). On two cores already
-- busy with the stream, the attempts of that second waited for a core (BENCHMARKS.md,
-- "2026-12-06, at night"). Statistics are what the planner reads for WHERE, JOIN, GROUP BY and
-- ORDER BY; the columns below appear in none of the queries the components run, so the planner
-- loses nothing and ANALYZE skips them. A query that comes to filter on one of them restores its
-- statistics (SET STATISTICS -1) in its own migration.
ALTER TABLE scored_transactions
    ALTER COLUMN first      SET STATISTICS 0,
    ALTER COLUMN last       SET STATISTICS 0,
    ALTER COLUMN gender     SET STATISTICS 0,
    ALTER COLUMN street     SET STATISTICS 0,
    ALTER COLUMN city       SET STATISTICS 0,
    ALTER COLUMN zip        SET STATISTICS 0,
    ALTER COLUMN lat        SET STATISTICS 0,
    ALTER COLUMN long       SET STATISTICS 0,
    ALTER COLUMN city_pop   SET STATISTICS 0,
    ALTER COLUMN job        SET STATISTICS 0,
    ALTER COLUMN dob        SET STATISTICS 0,
    ALTER COLUMN unix_time  SET STATISTICS 0,
    ALTER COLUMN merch_lat  SET STATISTICS 0,
    ALTER COLUMN merch_long SET STATISTICS 0,
    ALTER COLUMN merchant   SET STATISTICS 0,
    ALTER COLUMN threshold  SET STATISTICS 0,
    ALTER COLUMN reasons    SET STATISTICS 0;
