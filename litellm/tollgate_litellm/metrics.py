"""
The gateway's own Prometheus metrics, read when scraped (nothing is counted on the request path beyond the plain
integers the outbox, the lease book and the auth cache keep anyway): GET /tollgate/metrics with the gateway secret
or the master key as bearer.

The same scrape carries LiteLLM's own Prometheus logger (litellm_* series: requests, tokens, latency, deployment
state and cooldowns per model group) when TOLLGATE_LITELLM_PROMETHEUS is on (off by default: it costs CPU per call). The pinned LiteLLM
serves that logger without a licence; its own /metrics mount would authenticate scrapers as API keys through the
platform, so Tollgate registers the logger itself and serves its series here, behind the operator's secrets. Each
process serves its own series (run one scrape target per worker, or one worker per container as we deploy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import logging

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class GatewayCollector:
    def __init__(self, outbox: Any, leases: Any, auth: Callable[[], Any]) -> None:
        self.outbox = outbox
        self.leases = leases
        self.auth = auth

    def collect(self) -> Iterator[Metric]:
        # The snapshot the metrics route just read off the event loop; a scrape from elsewhere reads it itself.
        outbox = getattr(self.outbox, "last_stats", None) or self.outbox.stats()
        events = GaugeMetricFamily(
            "tollgate_gateway_outbox_events", "Usage events in the durable outbox, by state", labels=["state"]
        )
        for state in ("pending", "retrying", "dead", "delivered"):
            events.add_metric([state], outbox[state])
        yield events
        leases = self.leases.stats()
        yield CounterMetricFamily("tollgate_gateway_lease_draws", "Calls drawn from a lease", value=leases["draws"])
        yield CounterMetricFamily(
            "tollgate_gateway_platform_lease_requests",
            "Lease grants, top-ups, extensions and returns sent to the platform",
            value=leases["roundTrips"],
        )
        yield CounterMetricFamily(
            "tollgate_gateway_lease_refusals", "Lease grants the platform refused (402/429/…)", value=leases["refused"]
        )
        yield GaugeMetricFamily("tollgate_gateway_leases", "Live leases held by this process", value=leases["leases"])
        yield GaugeMetricFamily(
            "tollgate_gateway_lease_available_micros",
            "What this process's leases still have to draw from, micro-USD",
            value=leases["reservedMicros"],
        )
        auth = self.auth().stats()
        yield CounterMetricFamily(
            "tollgate_gateway_auth_platform_requests", "Key checks sent to the platform", value=auth["platformCalls"]
        )
        yield CounterMetricFamily(
            "tollgate_gateway_auth_cache_hits", "Key checks answered from this process's cache", value=auth["localHits"]
        )
        shared = auth.get("shared") or {}
        yield CounterMetricFamily(
            "tollgate_gateway_auth_shared_hits",
            "Key checks answered from the answers replicas share through Redis",
            value=shared.get("hits", 0),
        )


def registry_for(collector: GatewayCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


log = logging.getLogger("tollgate.metrics")
_litellm_logger: Any = None
CLIENT_LABELS = frozenset(
    {"hashed_api_key", "end_user", "user_email", "client_ip", "user_agent", "requested_model", "tag"}
)


def enable_litellm_prometheus() -> bool:
    """Registers LiteLLM's PrometheusLogger once per process (its collectors live in the global registry)."""
    global _litellm_logger
    if _litellm_logger is not None:
        return True
    import litellm
    from litellm.integrations.prometheus import PrometheusLogger

    # Labels a client writes or that carry a secret are dropped: on a refused call LiteLLM labels the *raw* bearer as
    # hashed_api_key, and end_user, user_agent, client_ip and the requested model name are whatever the client sent
    # (one series per distinct value: a cardinality attack on the scraper). Deployment labels (litellm_model_name,
    # model_id, api_base) are the operator's config; the key's name and owner stay.
    litellm.prometheus_exclude_labels = sorted(set(litellm.prometheus_exclude_labels or ()) | CLIENT_LABELS)
    _litellm_logger = PrometheusLogger()
    # The proxy extends litellm.callbacks with the config's callbacks after importing them, so this stays.
    litellm.callbacks.append(_litellm_logger)
    log.info("LiteLLM's Prometheus logger is on; its series are served on /tollgate/metrics")
    return True


def render(registry: CollectorRegistry) -> bytes:
    own = generate_latest(registry)
    if _litellm_logger is None:
        return own
    return own + generate_latest(REGISTRY)
