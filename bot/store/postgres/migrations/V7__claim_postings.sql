-- factbot store, version 7 (issue 8, matching speed), PostgreSQL dialect (the twin of
-- bot/migrations/V7__claim_postings.sql): per-term postings for ranking a text's gathering
-- query (up to 128 terms) without unnesting every matching tsvector. bot/store/postings.py
-- packs the rows; every write of claim_search writes them too, and the store fills them from
-- claim_search's text when it opens (until meta holds 'claim_postings'). The totals are
-- claim_search_totals, which the V1 triggers keep.
CREATE TABLE claim_postings (
    term  TEXT    NOT NULL,
    chunk INTEGER NOT NULL, -- claim id >> 16
    data  BYTEA   NOT NULL, -- packed (claim id, indexed length, count in claim, in context)
    PRIMARY KEY (term, chunk)
);
-- Packed ids do not compress; reading them back uncompressed is what ranking pays for.
ALTER TABLE claim_postings ALTER COLUMN data SET STORAGE EXTERNAL;
