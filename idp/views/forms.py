"""The HTML forms; every one carries a CSRF token and refuses text a database would choke on."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from wtforms import BooleanField, EmailField, Field, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

# NUL breaks PostgreSQL text columns, U+FFFD marks bytes that were not UTF-8, and the other
# control characters have no place in a name, an email or a password.
_BAD_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def clean_text(form: FlaskForm, field: Field) -> None:
    if isinstance(field.data, str) and _BAD_CHARACTERS.search(field.data):
        raise StopValidation(_l("This field contains characters that are not allowed."))


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class BaseForm(FlaskForm):
    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            """Read posted text fields only: Flask-WTF would also take a JSON body and file
            parts, whose lists, numbers and uploads crash the text validators (500, not 400)."""
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata
            return request.form if request.method in SUBMIT_METHODS else None

    def validate(self, extra_validators: Any = None) -> bool:
        for field in self:
            if isinstance(field, StringField):
                field.validators = [clean_text, *field.validators]
        return super().validate(extra_validators)


REQUIRED = _l("This field is required.")


def email_field() -> EmailField:
    return EmailField(
        _l("Email address"),
        validators=[DataRequired(REQUIRED), Length(max=320)],
        filters=[strip],
        render_kw={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "none"},
    )


def new_password_field(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        render_kw={"autocomplete": "new-password", "minlength": 8, "maxlength": 256},
        description=_l("At least 8 characters. A few unrelated words make a strong password."),
    )


class LoginForm(BaseForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(validators=[Optional(), Length(max=8192)])


class SignupForm(BaseForm):
    given_name = StringField(
        _l("First name"),
        validators=[Optional(), Length(max=100)],
        filters=[strip],
        render_kw={"autocomplete": "given-name"},
    )
    family_name = StringField(
        _l("Last name"),
        validators=[Optional(), Length(max=100)],
        filters=[strip],
        render_kw={"autocomplete": "family-name"},
    )
    email = email_field()
    password = new_password_field(_l("Password"))
    next = HiddenField(validators=[Optional(), Length(max=8192)])


class ForgotPasswordForm(BaseForm):
    email = email_field()


class ResetPasswordForm(BaseForm):
    password = new_password_field(_l("New password"))


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(REQUIRED), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    password = new_password_field(_l("New password"))


def one_time_code_field(label: Any, *, digits: bool = True) -> StringField:
    kw: dict[str, Any] = {"autocomplete": "one-time-code", "spellcheck": "false"}
    if digits:
        kw.update({"inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": 8})
    else:
        kw.update({"autocapitalize": "none", "maxlength": 32})
    return StringField(
        label, validators=[DataRequired(REQUIRED), Length(max=64)], filters=[strip], render_kw=kw
    )


class TotpForm(BaseForm):
    code = one_time_code_field(_l("6-digit code from your authenticator app"))
    remember = BooleanField(_l("Remember this browser for 30 days"))


class EnableTotpForm(BaseForm):
    code = one_time_code_field(_l("6-digit code shown by the app"))


class RecoveryCodeForm(BaseForm):
    code = one_time_code_field(_l("Recovery code"), digits=False)


class CsrfForm(BaseForm):
    """A button-only form: nothing to fill in but the CSRF token."""


# Named for the page that shows them; the same form.
LogoutForm = CsrfForm
ResendVerificationForm = CsrfForm
RemoveFactorForm = CsrfForm
