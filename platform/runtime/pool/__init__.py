"""The public pool (claim, release, recycling) and conversions of one record into several."""
