"""Data files built from their publishers' inputs: the registry table from the RIRs' delegation statistics, the cloud providers' range snapshot."""
