from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals in and onward referrals"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Referral inbox", "referral-list", Capability.HANDLE_REFERRALS, order=30))
        register(NavItem("Referrals to sign off", "referral-sign-off-list", Capability.SIGN_OFF_REFERRALS, order=31))
        register(NavItem("Eligibility criteria", "referral-eligibility", Capability.MANAGE_CLINIC, order=80))
