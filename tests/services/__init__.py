"""Tests of the services, called with the real app and database."""
