"""CandidatePortalService: one-time sign-in links for the candidate portal (issue 9)."""
