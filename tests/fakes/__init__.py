"""Test support: fakes of the outside world that tests run against on 127.0.0.1."""
