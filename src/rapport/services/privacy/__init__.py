"""PrivacyService: consent, erasure, subject-access export, retention (issue 7)."""
