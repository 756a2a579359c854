-- factbot store, version 9 (issue 8, matching articles): who made each claim. A fact-check's
-- ClaimReview names the claimant (itemReviewed.author); an article that names the claimant is
-- far more likely to repeat that person's claim than another's with the same words (measured
-- on CheckThat 2B train passages: the gold claim's claimant is named in 90 % of them, a wrong
-- top-ten candidate's in 37 %). NULL: not known.
ALTER TABLE claims ADD COLUMN claimant TEXT;
