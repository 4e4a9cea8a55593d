"""The console's forms; each carries its CSRF token like every form of idp."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from idp.services.client_metadata import GRANT_TYPES
from idp.views.forms import (
    REQUIRED,
    BaseForm,
    email_field,
    new_password_field,
    one_time_code_field,
    strip,
)


class AdminLoginForm(BaseForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(validators=[Optional(), Length(max=2048)])


class AdminCodeForm(BaseForm):
    code = one_time_code_field(_l("6-digit code from your authenticator app"))


ROLE_CHOICES = [
    SelectChoice("viewer", _l("Viewer: reads everything, changes nothing")),
    SelectChoice("support", _l("Support: account actions, links and merges")),
    SelectChoice("admin", _l("Admin: everything, including applications and staff")),
]


class NewStaffForm(BaseForm):
    email = email_field()
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(REQUIRED)])


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(REQUIRED)])


class ReasonForm(BaseForm):
    """Actions that the audit log should explain carry a reason."""

    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(REQUIRED), Length(max=500)],
        filters=[strip],
        description=_l("Written to the audit log."),
    )


def _lines(value: Any) -> list[str]:
    """A textarea of URIs, one per line, blank lines dropped."""
    if not isinstance(value, str):
        return []
    return [line.strip() for line in value.splitlines() if line.strip()]


class ClientForm(BaseForm):
    """An application's registration; the service validates it as ``idp clients`` does."""

    name = StringField(
        _l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)], filters=[strip]
    )
    client_type = SelectField(
        _l("Type"),
        choices=[
            SelectChoice("web", _l("Web application with a backend (confidential)")),
            SelectChoice("native", _l("Mobile or desktop app (public, PKCE)")),
            SelectChoice("device", _l("Connected device without a keyboard (device flow)")),
            SelectChoice("service", _l("Backend service (client credentials)")),
        ],
        validators=[DataRequired(REQUIRED)],
    )
    redirect_uris = TextAreaField(
        _l("Redirect URIs"),
        validators=[Optional(), Length(max=20_000)],
        description=_l("One per line, exactly as the application sends them."),
    )
    post_logout_redirect_uris = TextAreaField(
        _l("Post-logout redirect URIs"),
        validators=[Optional(), Length(max=20_000)],
        description=_l("One per line."),
    )
    backchannel_logout_uri = StringField(
        _l("Back-channel logout URI"), validators=[Optional(), Length(max=2000)], filters=[strip]
    )
    grant_types = SelectMultipleField(
        _l("Grants"),
        choices=[SelectChoice(g, g) for g in GRANT_TYPES],
        validators=[Optional()],
        description=_l("Leave all unticked for the type's usual grants."),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    scope = StringField(
        _l("Scopes it may ask for"), validators=[Optional(), Length(max=2000)], filters=[strip]
    )
    first_party = BooleanField(_l("First-party: no consent screen"))
    require_mfa = BooleanField(_l("Require a second factor to sign in to it"))

    def values(self, *, creating: bool) -> dict[str, Any]:
        """The fields as ``services.clients`` takes them."""
        values: dict[str, Any] = {
            "name": self.name.data,
            "redirect_uris": _lines(self.redirect_uris.data),
            "post_logout_redirect_uris": _lines(self.post_logout_redirect_uris.data),
            "backchannel_logout_uri": self.backchannel_logout_uri.data or None,
            "first_party": bool(self.first_party.data),
            "require_mfa": bool(self.require_mfa.data),
        }
        if self.scope.data:
            values["scope"] = self.scope.data
        if self.grant_types.data:
            values["grant_types"] = list(self.grant_types.data)
        if creating:
            values["client_type"] = self.client_type.data
        return values


class StaffPasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = new_password_field(_l("New password"))
