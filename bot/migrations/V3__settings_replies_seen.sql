-- factbot store, version 3 (issue 10): per-server settings, the replies the bot posted, and the
-- links it saw. Message text is never stored: only Discord ids, canonical link keys and claim ids.

-- A server's settings (channel_id 0) and per-channel overrides. A key without a row takes the
-- config file's value. Every change writes one audit row (action 'settings').
CREATE TABLE guild_settings (
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL DEFAULT 0,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,               -- JSON, as bot.settings parsed it
    updated_by TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, channel_id, key)
) WITHOUT ROWID;

-- One row per reply the bot posted (or reaction it added), kept for the corrections horizon.
CREATE TABLE bot_replies (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER,
    channel_id   INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,             -- the member's message
    reply_id     INTEGER,                      -- the bot's message; NULL for a reaction
    style        TEXT    NOT NULL CHECK (style IN ('full', 'compact', 'reaction')),
    shown        TEXT    NOT NULL,             -- JSON: per link, its key, the claims and verdicts
    posted_at    REAL    NOT NULL,             -- unix time
    state        TEXT    NOT NULL DEFAULT 'live'
                     CHECK (state IN ('live', 'deleted', 'forbidden', 'failed')),
    corrected_at REAL
);
CREATE INDEX bot_replies_posted ON bot_replies (posted_at);
CREATE INDEX bot_replies_message ON bot_replies (message_id);

-- Which replies showed which claim: a corrected claim finds its replies by index.
CREATE TABLE reply_claims (
    claim_id INTEGER NOT NULL,
    reply    INTEGER NOT NULL REFERENCES bot_replies (id) ON DELETE CASCADE,
    PRIMARY KEY (claim_id, reply)
) WITHOUT ROWID;
CREATE INDEX reply_claims_reply ON reply_claims (reply);

-- Links seen in watched channels, for backfill: canonical keys with message and channel ids, kept
-- for the server's backfill_hours (expires_at), then deleted.
CREATE TABLE seen_links (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    url_key    TEXT    NOT NULL,
    seen_at    REAL    NOT NULL,
    expires_at REAL    NOT NULL,
    UNIQUE (message_id, url_key)
);
CREATE INDEX seen_links_key ON seen_links (url_key, expires_at);
CREATE INDEX seen_links_expiry ON seen_links (expires_at);
