"""The ``dialcues`` command line: the process-level composition root."""
