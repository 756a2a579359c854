-- factbot store, version 6 (issue 12): nothing in SQLite. One process owns an SQLite file, so
-- the repeat window, the single-flight page fetch and the per-member fetch limit stay in its
-- memory; PostgreSQL's V6 gives the processes that share one database the same, in tables.
SELECT 1;
