-- Issue 9: before link key version 2, a page read through a link on one site could be cached
-- under another article's key (any host's ?url= was unwrapped). Forget every cached read, and
-- every fingerprint whose key is not the page actually read: the pages are simply read again.
DELETE FROM page_cache;
DELETE FROM article_fingerprints WHERE url_key <> final_key;
