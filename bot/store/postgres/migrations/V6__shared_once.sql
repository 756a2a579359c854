-- factbot store, version 6 (issue 12), PostgreSQL dialect (the twin of
-- bot/migrations/V6__shared_once.sql): what several bot processes must agree on to answer once.

-- The repeat window: which process answers a link in a channel (the row's claim wins for the
-- window; the next claim after it replaces the row).
CREATE TABLE reply_window (
    channel_id BIGINT           NOT NULL,
    url_key    TEXT             NOT NULL,
    claimed_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel_id, url_key)
);
CREATE INDEX reply_window_claimed ON reply_window (claimed_at);

-- Page fetches a member caused in the last minute, across processes.
CREATE TABLE member_fetches (
    member_id  BIGINT           NOT NULL,
    fetched_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX member_fetches_member ON member_fetches (member_id, fetched_at);
