-- factbot store, version 1. Applied by bot.store inside one transaction with PRAGMA user_version.

-- Small facts about the database itself, e.g. which normaliser built the search index.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE claims (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER,                      -- NULL: global (imported, or added from the CLI)
    claim        TEXT    NOT NULL,
    verdict      TEXT    NOT NULL CHECK (verdict IN ('false', 'mostly-false', 'mixed', 'misleading',
                     'missing-context', 'unproven', 'mostly-true', 'true', 'satire', 'outdated')),
    note         TEXT    NOT NULL DEFAULT '',
    rating_label TEXT,                         -- the original label of an imported rating
    context      TEXT    NOT NULL DEFAULT '',  -- searchable extra text: fact-check headline, summary
    external_id  TEXT,                         -- identity in an import file, so re-imports update
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_by   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE UNIQUE INDEX claims_external ON claims (ifnull(guild_id, 0), external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX claims_guild ON claims (guild_id);

CREATE TABLE claim_urls (
    id          INTEGER PRIMARY KEY,
    claim_id    INTEGER NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
    url         TEXT    NOT NULL,              -- as entered
    url_key     TEXT    NOT NULL,              -- bot.links.canonical_url(url)
    key_version INTEGER NOT NULL,              -- bot.links.LINK_KEY_VERSION that made url_key
    UNIQUE (claim_id, url_key)
);
CREATE INDEX claim_urls_key ON claim_urls (url_key);
CREATE INDEX claim_urls_version ON claim_urls (key_version);

CREATE TABLE claim_sources (
    id       INTEGER PRIMARY KEY,
    claim_id INTEGER NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
    url      TEXT    NOT NULL,
    title    TEXT,
    kind     TEXT    NOT NULL CHECK (kind IN ('fact-check', 'alternative')),
    UNIQUE (claim_id, url)
);

CREATE TABLE source_notes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER,                        -- NULL: global
    domain     TEXT    NOT NULL,
    rating     TEXT    NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    updated_by TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE UNIQUE INDEX source_notes_scope ON source_notes (domain, ifnull(guild_id, 0));

-- Append-only: every change to a claim or a source note writes exactly one row.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT    NOT NULL,
    actor    TEXT    NOT NULL,
    guild_id INTEGER,
    action   TEXT    NOT NULL,
    claim_id INTEGER,
    domain   TEXT,
    before   TEXT,                             -- JSON snapshot, NULL on create
    after    TEXT                              -- JSON snapshot, NULL on delete
);
CREATE INDEX audit_claim ON audit_log (claim_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Full-text search over claims; rowid = claims.id. Columns hold bot.matching.index_terms() output.
CREATE VIRTUAL TABLE claim_search USING fts5 (
    claim, context, tokenize = 'unicode61 remove_diacritics 2'
);
-- Document frequency per indexed term (bot.matching picks a query's rarest terms and weighs
-- claim coverage by IDF); reads the FTS index itself, so it is never out of date.
CREATE VIRTUAL TABLE claim_search_vocab USING fts5vocab (claim_search, 'row');

-- What a fetched page said, per canonical key, with an expiry (failures expire sooner).
CREATE TABLE page_cache (
    url_key       TEXT PRIMARY KEY,
    expires_at    REAL NOT NULL,
    final_url     TEXT,
    title         TEXT,
    site_name     TEXT,
    description   TEXT,
    published     TEXT,
    lead          TEXT,
    canonical_url TEXT,
    og_url        TEXT,
    error         TEXT,
    fingerprint   INTEGER                      -- bot.fingerprint.simhash of title and lead
);
CREATE INDEX page_cache_expiry ON page_cache (expires_at);

-- Fingerprints of articles read, kept after the cache expires, to recognise syndicated copies.
-- A 64-bit SimHash split into four 16-bit bands: two texts within 3 bits share at least one band.
CREATE TABLE article_fingerprints (
    url_key     TEXT    PRIMARY KEY,
    final_key   TEXT    NOT NULL,                  -- canonical key of the page actually read
    fingerprint INTEGER NOT NULL,
    band0       INTEGER NOT NULL,
    band1       INTEGER NOT NULL,
    band2       INTEGER NOT NULL,
    band3       INTEGER NOT NULL
);
CREATE INDEX article_fingerprints_b0 ON article_fingerprints (band0);
CREATE INDEX article_fingerprints_b1 ON article_fingerprints (band1);
CREATE INDEX article_fingerprints_b2 ON article_fingerprints (band2);
CREATE INDEX article_fingerprints_b3 ON article_fingerprints (band3);

-- Sentence vectors for the optional semantic stage (float32, little-endian).
CREATE TABLE claim_vectors (
    claim_id INTEGER PRIMARY KEY REFERENCES claims (id) ON DELETE CASCADE,
    model    TEXT NOT NULL,
    vector   BLOB NOT NULL
);
