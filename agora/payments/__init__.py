"""The wallet: a double-entry ledger and everything that moves money through it."""
