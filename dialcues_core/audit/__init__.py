"""The audit trail: who changed a policy, bypassed a window or touched a suppression, and when."""
