"""AtsService and the ATS sync: adapters, web hooks in and out, the delivery worker (issue 9)."""
