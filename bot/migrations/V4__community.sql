-- factbot store, version 4 (issue 11): what members ask and say about the notes, and what leaves
-- with a server. Member ids, message ids and link keys; a request's message text only when the
-- message had no link (that text is what the member asked to have checked).

-- Fact-check requests: one row per thing asked about in a server (a canonical link key, or a
-- message's normalised text). One open request per key and server.
CREATE TABLE check_requests (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('url', 'text')),
    key        TEXT    NOT NULL,               -- bot.links.canonical_url, or the normalised text
    url        TEXT,                           -- the link as first posted (pre-fills the form)
    channel_id INTEGER NOT NULL,               -- the first message asked about
    message_id INTEGER NOT NULL,
    asked_at   REAL    NOT NULL,               -- unix time of the first ask
    state      TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    closed_at  REAL,
    claim_id   INTEGER,                        -- the claim that answered it
    logged     INTEGER NOT NULL DEFAULT 0 CHECK (logged IN (0, 1))  -- posted to the mod log
);
CREATE UNIQUE INDEX check_requests_open ON check_requests (guild_id, key) WHERE state = 'open';
CREATE INDEX check_requests_guild ON check_requests (guild_id, state);

-- Who asked: member ids only (a count is what moderators see).
CREATE TABLE request_askers (
    request   INTEGER NOT NULL REFERENCES check_requests (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL,
    asked_at  REAL    NOT NULL,
    PRIMARY KEY (request, member_id)
) WITHOUT ROWID;
CREATE INDEX request_askers_member ON request_askers (member_id, asked_at);

-- Members who asked to be told (/notify on) when their request is answered, per server.
CREATE TABLE notify_members (
    guild_id  INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    since     REAL    NOT NULL,
    PRIMARY KEY (guild_id, member_id)
) WITHOUT ROWID;

-- Helpful / not helpful, one per member per reply (a reply is named by the member's message it
-- answered, as in bot_replies.message_id and the buttons' custom ids); a new vote replaces it.
CREATE TABLE reply_votes (
    guild_id   INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    member_id  INTEGER NOT NULL,
    helpful    INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    voted_at   REAL    NOT NULL,
    PRIMARY KEY (guild_id, message_id, member_id)
) WITHOUT ROWID;

-- The claims a voted-on reply showed, copied from its reply record at the first vote: tallies
-- per claim outlive the reply records (which go after the corrections horizon).
CREATE TABLE vote_claims (
    guild_id   INTEGER NOT NULL,
    claim_id   INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (guild_id, claim_id, message_id)
) WITHOUT ROWID;
CREATE INDEX vote_claims_message ON vote_claims (guild_id, message_id);

-- A claim flagged in a server's mod log ("not helpful" past the threshold): once per server.
CREATE TABLE claim_flags (
    guild_id   INTEGER NOT NULL,
    claim_id   INTEGER NOT NULL,
    flagged_at REAL    NOT NULL,
    PRIMARY KEY (guild_id, claim_id)
) WITHOUT ROWID;

-- Servers the bot left: their rows are deleted at delete_at unless the bot comes back first.
CREATE TABLE guild_departures (
    guild_id  INTEGER PRIMARY KEY,
    left_at   REAL NOT NULL,
    delete_at REAL NOT NULL
);

-- A server being forgotten, only inside forget's own transaction: the one time the audit log
-- lets rows go (that server's), so its notes' history leaves with it.
CREATE TABLE guild_erasures (
    guild_id INTEGER PRIMARY KEY
);
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.guild_id IS NULL OR OLD.guild_id NOT IN (SELECT guild_id FROM guild_erasures)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
