# LiteLLM loads this file by path from config.yaml (litellm_settings.callbacks). The instance lives in the
# tollgate_litellm package, so every reference shares it; the outbox routes are mounted on the proxy here.
from tollgate_litellm.billing import handler as _handler
from tollgate_litellm.routes import mount as _mount

handler = _handler()
_mount(handler)
