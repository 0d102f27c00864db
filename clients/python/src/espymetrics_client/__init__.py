"""EspyMetrics collector: report how Python is used, without getting in the way.

    import espymetrics_client
    espymetrics_client.install()          # once per process, in the background

See README.md for what is collected, opt-out, scrubbing and dry runs.
"""

from .background import install, report_in_background
from .profile import get_profile
from .scrub import SCRUBBED_FIELDS, scrub_profile
from .transport import Batcher, send, send_batch
from .version import __version__

__all__ = [
    "Batcher",
    "SCRUBBED_FIELDS",
    "__version__",
    "get_profile",
    "install",
    "report_in_background",
    "scrub_profile",
    "send",
    "send_batch",
]
