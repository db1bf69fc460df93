__version__ = "0.1.0"

#: Version of the saved state of skanime's objects (joblib and skanime.io files);
#: bumped whenever a saved model of the previous format could not load correctly.
PERSISTENCE_FORMAT = 8
