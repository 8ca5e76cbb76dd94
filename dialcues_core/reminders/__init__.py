"""What and when: the reminder, its states, its repetition and its edits."""
