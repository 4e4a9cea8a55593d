"""Blueprints: thin views that read the request, call a service and render or redirect."""
