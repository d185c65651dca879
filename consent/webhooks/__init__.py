"""Webhooks: publishers subscribe to consent events, sent from an outbox (Standard Webhooks)."""
