-- factbot store, version 7 (issue 8, matching speed): per-term postings for ranking a text's
-- gathering query (up to 128 terms) without FTS5 merging and scoring every matching claim.
-- bot/store/postings.py packs the rows; every write of claim_search writes them too, and the
-- store fills them from claim_search's text when it opens (claim_postings_totals has no row).
CREATE TABLE claim_postings (
    term  TEXT    NOT NULL,
    chunk INTEGER NOT NULL, -- claim id >> 16
    data  BLOB    NOT NULL, -- packed (claim id, indexed length, count in claim, in context)
    PRIMARY KEY (term, chunk)
);
-- Claims holding each term (what fts5vocab counted by walking the term's doclist, ~0.1 ms a
-- term at 100,000 claims, hundreds of terms an article).
CREATE TABLE claim_term_docs (
    term TEXT    PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;
-- Claims indexed and their tokens, for BM25's IDF and mean length.
CREATE TABLE claim_postings_totals (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    docs     INTEGER NOT NULL,
    tokens   INTEGER NOT NULL
);
