"""Tests of the ``idp`` command families, each run as the installed console script."""
