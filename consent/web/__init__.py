"""The web plumbing: error pages and JSON errors, uploads, security headers, sessions, the
request log, rate limits, API-key checks and the verify fast path."""
