"""Media items: fingerprints (SHA-256, perceptual hash), type sniffing, encrypted storage."""
