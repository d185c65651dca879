"""What crosses domains, one module per use case: a decision, a withdrawal, an erasure, a
rendition, documents and exports, expiry, the outbox."""
