"""The signed record: the columns every signed, logged record carries, the receipt bodies, the
stored envelope, and signing and logging in the caller's transaction."""
