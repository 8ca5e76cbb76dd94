"""One folder per telephony provider."""
