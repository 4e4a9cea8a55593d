"""The OAuth 2.0 / OpenID Connect layer: the only place that builds Authlib server objects."""
