"""Optional modules LiteLLM imports on every request are looked for once (tollgate_litellm/imports.py)."""

import importlib
import sys

import pytest

from tollgate_litellm.imports import OPTIONAL_MODULES, install


@pytest.fixture
def restore_modules():
    saved = {name: sys.modules.get(name, ...) for name in (*OPTIONAL_MODULES, "json", "tollgate_absent_module")}
    yield
    for name, module in saved.items():
        if module is ...:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


def test_a_module_that_cannot_be_imported_fails_at_once_afterwards(restore_modules):
    sys.modules.pop("tollgate_absent_module", None)
    assert install(("tollgate_absent_module",)) == ["tollgate_absent_module"]
    with pytest.raises(ModuleNotFoundError, match="halted"):
        importlib.import_module("tollgate_absent_module")


def test_a_module_that_imports_is_left_as_it_is(restore_modules):
    assert install(("json",)) == []
    assert sys.modules["json"] is importlib.import_module("json")


def test_the_gateway_lacks_what_litellm_looks_for_on_every_request_and_its_callers_still_run(restore_modules):
    # The pinned gateway installs neither OpenTelemetry's SDK nor Prisma: both are marked, and the request-path
    # function that imports the first keeps working (it treats the import as best-effort).
    for name in OPTIONAL_MODULES:
        sys.modules.pop(name, None)
    assert install() == list(OPTIONAL_MODULES)
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.auth.user_api_key_auth import _seed_request_destinations

    _seed_request_destinations(UserAPIKeyAuth())
    with pytest.raises(ModuleNotFoundError, match="halted"):
        from litellm.integrations.otel.logger import fan_out_provider  # noqa: F401
    from litellm.proxy.db.log_db_metrics import _is_exception_related_to_db

    with pytest.raises(ModuleNotFoundError, match="halted"):
        _is_exception_related_to_db(ValueError("no database"))


def test_a_module_that_breaks_on_import_is_marked_too_and_the_gateway_still_starts(tmp_path, restore_modules):
    (tmp_path / "tollgate_absent_module.py").write_text("raise AttributeError('a broken optional SDK')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop("tollgate_absent_module", None)
        importlib.invalidate_caches()
        assert install(("tollgate_absent_module",)) == ["tollgate_absent_module"]
    finally:
        sys.path.remove(str(tmp_path))
