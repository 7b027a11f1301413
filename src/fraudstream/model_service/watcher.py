"""Follow the registry aliases: load a moved alias in the background, then swap.

Two triggers, one code path: a poll of the registry every ``service_poll_seconds`` (so a
replica that missed an event still converges) and the ``model-events`` topic (so a promotion
reaches every replica within a second). A version that cannot load is refused once, with its
reason logged and shown by ``GET /model``, and the current model keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid

from fraudstream.config import KafkaSettings, ServiceSettings, TopicSettings
from fraudstream.errors import FraudstreamError, ModelError
from fraudstream.model_service import metrics
from fraudstream.model_service.live import LiveModels, ModelSource
from fraudstream.registry import ALIASES, Alias

log = logging.getLogger(__name__)


class AliasWatcher:
    """Keeps :class:`LiveModels` in step with the registry aliases."""

    def __init__(
        self,
        service: ServiceSettings,
        kafka: KafkaSettings,
        topics: TopicSettings,
        source: ModelSource,
        live: LiveModels,
    ) -> None:
        self.poll_seconds = service.poll_seconds
        self.kafka = kafka
        self.topic = topics.model_events
        self.source = source
        self.live = live
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stop = threading.Event()

    async def sync(self) -> None:
        """Bring every alias up to date once; never raises (the service keeps serving)."""
        async with self._lock:
            for alias in ALIASES:
                try:
                    await self._sync_alias(alias)
                except FraudstreamError as exc:
                    log.warning("cannot check alias %s: %s", alias, exc)

    async def _sync_alias(self, alias: Alias) -> None:
        wanted = await asyncio.to_thread(self.source.get_alias_version, alias)
        if wanted is None:
            self.live.retire(alias)
            return
        if wanted == self.live.version_of(alias) or wanted in self.live.refused:
            return
        try:
            model = await asyncio.to_thread(self.source.load, wanted)
        except ModelError as exc:
            self.live.refused[wanted] = str(exc)
            metrics.MODEL_REFUSALS.inc()
            log.error("refused %s version %s: %s", alias, wanted, exc)
            return
        self.live.install(alias, model)
        if alias == "champion":
            metrics.record_champion(model.name, model.version)
            if self.live.swaps:
                metrics.MODEL_SWAPS.inc()

    async def run(self) -> None:
        """Poll and wait for events until cancelled."""
        listener = threading.Thread(target=self._listen, name="model-events", daemon=True)
        listener.start()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()
                await self.sync()
        finally:
            self._stop.set()
            listener.join(5)

    def _listen(self) -> None:
        """Wake the poller on every ``model-events`` message (thread: the client blocks)."""
        from fraudstream.kafka.consumer import Consumer

        loop = self._loop
        # Every replica must see every event: a group of its own, reading only new events.
        group = f"model-service-{uuid.uuid4().hex[:12]}"
        while not self._stop.is_set():
            try:
                with Consumer(self.kafka, group, auto_offset_reset="latest") as consumer:
                    consumer.subscribe([self.topic])
                    while not self._stop.is_set():
                        if consumer.consume(100, timeout=0.5):
                            loop.call_soon_threadsafe(self._wake.set)
            except FraudstreamError as exc:
                log.warning("model-events listener: %s; polling the registry only", exc)
                self._stop.wait(self.poll_seconds)

    def start(self) -> asyncio.Task[None]:
        self._loop = asyncio.get_running_loop()
        return asyncio.create_task(self.run(), name="alias-watcher")
