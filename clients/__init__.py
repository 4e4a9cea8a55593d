"""Example applications that sign in through idp the way a third party would.

``webshop`` (a Flask site), ``mobile`` (a native app, RFC 8252) and ``device`` (a smart speaker,
RFC 8628); each has a README with the one command that starts it against ``idp demo``.
"""
