"""Secret refresh: read the secret store again on a schedule and hand what changed to the process.

The reading (`footfall.settings.vault.VaultSecrets.read`) and the applying
(`footfall.services.Services.apply_secrets`) are passed in; this task decides when. A failed
round keeps the secrets in use and is logged at most every few minutes, so a Vault outage never
stops a server that already has its secrets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from footfall.errors import FootfallError

log = logging.getLogger(__name__)

# A failing read is logged at most this often.
ERROR_LOG_SECONDS = 300.0


async def run_secret_refresher(
    read: Callable[[], Mapping[str, str]],
    apply: Callable[[Mapping[str, str]], object],
    interval: float,
) -> None:
    """Reads and applies the secrets every `interval` seconds, until cancelled.

    Args:
        read: Returns the secret settings by name (runs on a worker thread).
        apply: Takes them in (runs on the event loop).
        interval: Seconds between two reads.
    """
    last_logged = -ERROR_LOG_SECONDS
    while True:
        await asyncio.sleep(interval)
        try:
            fields = await asyncio.to_thread(read)
            apply(fields)
        except FootfallError as exc:
            if time.monotonic() - last_logged >= ERROR_LOG_SECONDS:
                last_logged = time.monotonic()
                log.warning("reading the secrets again failed (%s); keeping the current ones", exc)
