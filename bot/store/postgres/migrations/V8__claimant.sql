-- factbot store, version 8, PostgreSQL dialect (the twin of bot/migrations/V9__claimant.sql):
-- who made each claim (ClaimReview itemReviewed.author); NULL: not known.
ALTER TABLE claims ADD COLUMN claimant TEXT;
