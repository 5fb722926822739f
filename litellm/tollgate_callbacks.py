# LiteLLM loads this file by path from config.yaml (litellm_settings.callbacks) during the proxy's startup. The billing
# instance lives in the tollgate_litellm package, so every reference shares it.
from litellm.proxy.proxy_server import app as _app

from tollgate_litellm.billing import handler as _handler
from tollgate_litellm.gate import install as _install_gate
from tollgate_litellm.retries import install as _install_retries
from tollgate_litellm.routes import mount as _mount_routes

handler = _handler()
# The router's num_retries is the only retry policy: the provider SDK under it tries once (tollgate_litellm/retries.py).
_install_retries()
# Every request passes the gate (tollgate_litellm/gate.py) before LiteLLM sees it.
_install_gate(_app, handler.settings.master_key, handler.settings.max_audio_bytes)
# The operator's /tollgate/* routes, usage delivery, and the leases returned at shutdown.
_mount_routes(_app, handler)
