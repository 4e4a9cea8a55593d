"""Tests of the staff-only services: customer search."""
