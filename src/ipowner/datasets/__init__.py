"""Data files built from their publishers' inputs (the cloud providers' range snapshot, ...)."""
