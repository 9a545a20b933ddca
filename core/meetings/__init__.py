"""Cross-department information-exchange meetings: series, occurrences, RSVPs and reminders."""
