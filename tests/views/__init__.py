"""Tests of the pages: the real app driven through its HTTP surface."""
