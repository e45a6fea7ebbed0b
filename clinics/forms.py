from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """One message for every failed sign-in, so nothing reveals which part was wrong."""

    error_messages = {
        "invalid_login": "The username or password is not right. Please try again.",
        "inactive": "The username or password is not right. Please try again.",
    }

    username = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
