"""
Tollgate's plugin for the LiteLLM proxy, one module per concern (config.yaml loads it through tollgate_auth.py and
tollgate_callbacks.py, which also installs the gate and mounts the routes):

- settings.py   every environment variable, read and checked once at start
- auth.py       custom auth: each key verified by the platform, cached (cache.py), shared across replicas (shared.py)
- gate.py       the front door: routes, headers and bodies an app key may send; responses stripped of provider detail
- contract.py   the billing contract's call kinds, price units, image sizes and qualities (lib/billing/contract.json)
- bounds.py     what a call may cost at most, in units: one estimator per call kind (ESTIMATORS, reservation_units)
- pricing.py    those units at the platform's worst-case rates (Price, price_worst_case, worst_case)
- leases.py     the lease book: a key's slice of the balance, drawn from in memory
- billing.py    the hooks: reserve before each call (lease draw or hold), report its usage after
- outbox.py     usage events kept durably and delivered to the platform
- platform.py   the platform's internal API client
- errors.py     every error answer, in OpenAI's shape
- retries.py    one retry policy, the router's: the provider SDK under each attempt tries once
- routes.py     the operator's /tollgate/* routes; metrics.py their Prometheus scrape
- imports.py    optional modules LiteLLM imports on every request, looked for once
"""
