"""`atrium seed`: realistic demo data from the blueprint's seed plan."""
