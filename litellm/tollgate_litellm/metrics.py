"""
The gateway's own Prometheus metrics, read when scraped (nothing is counted on the request path beyond the plain
integers the outbox, the lease book and the auth cache keep anyway): GET /tollgate/metrics with the gateway secret
or the master key as bearer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class GatewayCollector:
    def __init__(self, outbox: Any, leases: Any, auth: Callable[[], Any]) -> None:
        self.outbox = outbox
        self.leases = leases
        self.auth = auth

    def collect(self) -> Iterator[Metric]:
        outbox = self.outbox.stats()
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


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
