"""Signing in and the second factor, on django-two-factor-auth (built on django-otp).

The library does the work: a sign-in wizard (password, then the authenticator code or a one-time
recovery code) that signs the person in only when both are right, the enrolment wizard, and
recovery codes. What we add: our forms and pages, and one rule the library leaves open: a
session that has given only the password may enrol an authenticator only while the account has
none. Otherwise whoever holds a stolen password could add their own device and be fully signed in.
"""

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.urls import reverse
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from two_factor.forms import AuthenticationTokenForm, BackupTokenForm
from two_factor.utils import get_otpauth_url
from two_factor.views import BackupTokensView, LoginView, SetupView

from .forms import LoginForm


class StaffLoginView(LoginView):
    """Password, then the code. The person is signed in only after both (or after the password alone
    for an account without a device, which the two-factor middleware then sends to enrol)."""

    template_name = "clinics/sign_in.html"
    form_list = (
        (LoginView.AUTH_STEP, LoginForm),
        (LoginView.TOKEN_STEP, AuthenticationTokenForm),
        (LoginView.BACKUP_STEP, BackupTokenForm),
    )

    def get_form_prefix(self, step=None, form=None):
        # The password step keeps the plain field names (username, password) that password
        # managers and scripted clients (the benchmark) already post.
        return "" if step == self.AUTH_STEP else super().get_form_prefix(step, form)

    def post(self, *args, **kwargs):
        step_field = f"{self.prefix}-current_step"
        if step_field not in self.request.POST and "username" in self.request.POST:
            # A plain username and password (no wizard step): start the sign-in from its first step.
            data = self.request.POST.copy()
            data[step_field] = self.AUTH_STEP
            self.request.POST = data
            self.storage.reset()
        return super().post(*args, **kwargs)


class StaffSetupView(SetupView):
    """Enrol an authenticator app: only while the account has no device, or in a verified session."""

    template_name = "clinics/two_factor_setup.html"
    success_url = "two_factor:backup_tokens"

    def get_success_url(self):
        return reverse(self.success_url)  # always the recovery codes next: make them while it is easy

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not user.is_verified() and user_has_device(user, confirmed=True):
            # The account has a device: prove it first (the sign-in asks for its code).
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form, **kwargs)
        context["next"] = self.get_redirect_url()
        if self.steps.current == "generator":
            url = get_otpauth_url(self.request.user.get_username(), context["secret_key"], settings.OTP_TOTP_ISSUER)
            buffer = BytesIO()
            qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12).save(buffer)
            context["qr_code"] = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
            secret = context["secret_key"]
            context["secret_groups"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        return context

    def done(self, form_list, **kwargs):
        with transaction.atomic():
            response = super().done(form_list, **kwargs)
            # A verified person who enrols again replaces their old authenticator: one device each.
            new_device = self.request.user.otp_device
            TOTPDevice.objects.filter(user=self.request.user).exclude(pk=new_device.pk).delete()
        return response


class RecoveryCodesView(BackupTokensView):
    """Ten one-time recovery codes for a lost phone; making new ones cancels the old."""

    template_name = "clinics/recovery_codes.html"
    success_url = "two_factor:backup_tokens"
