-- factbot store, version 9, PostgreSQL dialect (the twin of bot/migrations/V10__claim_date.sql):
-- when each claim was made, "YYYY-MM-DD" (ClaimReview itemReviewed.datePublished); NULL: not
-- known.
ALTER TABLE claims ADD COLUMN claim_date TEXT;
