-- The article's main text (bounded by bot.article.MAX_TEXT_CHARS), matched sentence by sentence.
-- Pages cached before this have none: the matcher falls back to their lead until they expire.
ALTER TABLE page_cache ADD COLUMN text TEXT;
