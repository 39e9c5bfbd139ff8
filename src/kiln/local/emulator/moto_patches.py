"""Process-wide replacements of moto internals on its hot paths, each held to moto's own
answers by a test in tests/integration/test_moto_patches.py.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import moto
from moto import backends as moto_backends
from moto.core import responses as moto_responses
from moto.core.responses import ActionContext, ActionResult
from moto.core.utils import method_names_from_class as _method_names_from_class
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

if TYPE_CHECKING:
    pass


log = logging.getLogger("kiln.local.emulator")

_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "TransactGetItems",
    }
)


def _base64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dump_dynamodb_result(
    self: ActionResult, context: ActionContext
) -> tuple[int, dict[str, Any], str | bytes]:
    """moto serialises every DynamoDB answer member by member against the service model,
    about half the time of a GetItem of a job item. For item operations its results are
    already the wire's JSON (attribute-value dicts), so they are dumped as they are, keeping
    only the output shape's members; bytes become base64, as moto writes them. The tour in
    tests/integration/test_moto_patches.py holds the two to the same answers. Table operations
    and errors keep moto's path."""
    result = self.result
    operation = context.operation_model
    if operation.name not in _ITEM_OPERATIONS or not isinstance(result, dict):
        return ActionResult.execute_result(self, context)
    members = operation.output_shape.members if operation.output_shape else {}
    body = json.dumps(
        {k: v for k, v in result.items() if v is not None and k in members},
        default=_base64,
        separators=(",", ":"),
    )
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


_list_moto_modules = moto_backends.list_of_moto_modules
_moto_query = Table.query
_moto_all_items = Table.all_items
_QUERY_SIGNATURE = inspect.signature(_moto_query)
_partition = threading.local()


def _query_partition(self: Table, *args: Any, **kwargs: Any) -> Any:
    """moto answers a table Query by sorting every item of the table and keeping the
    partition's, so each poll got slower as the table grew. A query of the table itself
    (not an index) now starts from its partition, cut to a string sort key's lower bound
    (events after N); moto sorts, compares and filters what is left as before."""
    call = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    if call.get("index_name") or not self.range_key_attr:
        return _moto_query(self, *args, **kwargs)
    bound = call.get("range_objs") or []
    lower = (
        bound[0].value
        if call.get("range_comparison") in (">", ">=", "BETWEEN") and bound[0].type == "S"
        else None
    )
    _partition.scope = (call["hash_key"], lower)
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        _partition.scope = None


def _partition_items(self: Table) -> list[Item]:
    scope = getattr(_partition, "scope", None)
    if scope is None:
        return _moto_all_items(self)
    key, lower = scope
    items = self.items.get(key, {}).values()
    if lower is None:
        return list(items)
    return [item for item in items if item.range_key.value >= lower]


@functools.cache
def _moto_modules() -> frozenset[str]:
    return frozenset(_list_moto_modules())


@functools.cache
def _method_names(clazz: object) -> list[str]:
    return _method_names_from_class(clazz)


CHECKED_MOTO = "5.2"
"""The moto minor version these patches were checked against (tests/integration/
test_moto_patches.py). moto's internals change between minor versions without notice."""


def check_moto_version(version: str) -> None:
    """Refuse to patch a moto other than the checked minor version: a silent mismatch
    could corrupt answers rather than fail."""
    if ".".join(version.split(".")[:2]) != CHECKED_MOTO:
        raise RuntimeError(
            f"moto {version} is installed, but kiln's emulator patches were checked against "
            f"moto {CHECKED_MOTO}.*: run `uv sync --frozen --extra local`, or check the "
            "patches against this moto (tests/integration/test_moto_patches.py) and move "
            "CHECKED_MOTO"
        )


def _speed_up_moto() -> None:
    """Local fixes to moto's hot paths, each held to moto's own answers by a test in
    tests/integration/test_moto_patches.py. Two are plain caches: moto lists its package
    directory (a stat per service) and inspects the handler class on every request."""
    check_moto_version(moto.__version__)
    DynamoResult.execute_result = _dump_dynamodb_result  # type: ignore[method-assign]
    Table.query = _query_partition  # type: ignore[method-assign]
    Table.all_items = _partition_items  # type: ignore[method-assign]
    moto_backends.list_of_moto_modules = _moto_modules
    moto_responses.method_names_from_class = _method_names  # type: ignore[attr-defined]
