"""Dialcues core: schedule reminders and phone people on time, embeddable in any Python app."""

from dialcues_core.bootstrap import Dialcues

__all__ = ["Dialcues"]
__version__ = "0.1.0"
