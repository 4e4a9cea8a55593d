"""Every model, imported so Alembic and ``db.create_all`` see the whole schema."""

from idp.models.customer import Customer, CustomerStatus, PasswordCredential
from idp.models.events import LoginEvent
from idp.models.links import UsedLink
from idp.models.sessions import BrowserSession

__all__ = [
    "BrowserSession",
    "Customer",
    "CustomerStatus",
    "LoginEvent",
    "PasswordCredential",
    "UsedLink",
]
