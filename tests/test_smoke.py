"""The demo customer can sign in and reach the account page."""

from tests.factories import make_customer
from tests.helpers import login


def test_sign_in_reaches_account(app, client):
    """A registered customer signs in with email and password and sees the account page."""
    customer = make_customer(app, email="ana@example.com", given_name="Ana")
    response = login(client, "ana@example.com", "a long enough passphrase")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert customer.public_id in page.get_data(as_text=True)
