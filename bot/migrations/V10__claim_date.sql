-- factbot store, version 10 (issue 8, matching articles): when each claim was made, as an ISO
-- date "YYYY-MM-DD" (ClaimReview itemReviewed.datePublished). An article repeats the claims of
-- its day far more often than older ones with the same words (measured on CheckThat 2B train:
-- the gold claim was made within a year of the transcript for 89 % of the annotated lines;
-- the store's claims span 26 years). NULL: not known.
ALTER TABLE claims ADD COLUMN claim_date TEXT;
