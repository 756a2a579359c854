-- factbot store, version 8 (issue 13, import speed): the claims' indexed text in a plain table.
-- Since V7 every search reads the postings (claim_postings), never FTS5's own index, which
-- every write still built: 20,000 claims' text took 0.45 s into FTS5 and 0.08 s into a table.
-- The table keeps FTS5's names (rowid = claims.id, claim, context), so the SQL is unchanged.
CREATE TABLE claim_search_text (
    rowid   INTEGER PRIMARY KEY,
    claim   TEXT NOT NULL,
    context TEXT NOT NULL
);
INSERT INTO claim_search_text (rowid, claim, context)
    SELECT rowid, ifnull(claim, ''), ifnull(context, '') FROM claim_search;
DROP TABLE claim_search_vocab;
DROP TABLE claim_search;
ALTER TABLE claim_search_text RENAME TO claim_search;
