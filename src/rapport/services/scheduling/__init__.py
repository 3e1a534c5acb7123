"""SchedulingService: recruiters' calendars, free slots, calls candidates book (issue 9)."""
