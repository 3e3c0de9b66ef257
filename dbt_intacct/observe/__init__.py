"""What users see: console output, debug, run history, the report, alerts."""
