"""A sync: specs, change sets, payloads, sending, recording."""
