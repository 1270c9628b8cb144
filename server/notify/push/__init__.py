"""Web Push: building encrypted messages, delivering them, and the outbox worker (docs/push.md)."""
