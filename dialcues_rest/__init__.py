"""The public REST API v1: an aiohttp skin over :mod:`dialcues_core`.

Build the application with :func:`dialcues_rest.app.create_app` and serve it with
:func:`dialcues_rest.app.start_rest`. Importing this package builds nothing.
"""
