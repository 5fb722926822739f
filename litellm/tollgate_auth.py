# LiteLLM loads this file by path from config.yaml; the real code lives in the tollgate_litellm package so
# that every reference shares one module (LiteLLM re-executes config-referenced files on each reference).
from tollgate_litellm.auth import user_api_key_auth  # noqa: F401
from tollgate_litellm.imports import install as _install_imports

# Optional modules LiteLLM would look for again on every request (tollgate_litellm/imports.py).
_install_imports()
