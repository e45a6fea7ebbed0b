"""No page or API answer of this service is kept by a browser or a proxy cache (issue 11, hole 9).

Nearly every page and API answer carries patient data (names, NHS numbers, doses), and on a
shared clinic PC the browser's back button or disk cache would show them to the next person.
Rather than remembering `never_cache` on each view, every response Django renders is
`Cache-Control: private, no-store`. Static files are served by WhiteNoise before this middleware
and keep their long cache lifetimes; they hold no patient data.
"""

from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Merged into what a view set: `no-store` wins over any max-age a view may have given.
        patch_cache_control(response, private=True, no_store=True)
        return response
