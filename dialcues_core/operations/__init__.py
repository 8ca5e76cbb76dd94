"""Running the platform: heartbeats, health, the database watchdog."""
