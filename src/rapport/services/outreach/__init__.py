"""OutreachService: sequences, enrolment, triggers, the scheduler that sends mail over SMTP, and
the inbox that records replies (DESIGN §8)."""
