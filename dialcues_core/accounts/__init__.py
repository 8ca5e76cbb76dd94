"""Who: organizations, users, outbound lines, provider settings, API keys, OAuth
clients and authentication.
"""
