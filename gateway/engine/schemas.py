"""JSON Schemas as data: found in plugin folders, indexed by ``$id``, compiled once per process.

Schemas reference shared definitions by absolute ``$id`` (``urn:mn-sqrms:...``), resolved through
one ``referencing.Registry`` built from every folder the plugins declare, so a family's schema can
use the core's NPI or date definitions without copying them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cached_property
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema loads when a validator is first built, not with the plugins
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource


class SchemaError(RuntimeError):
    """A schema file is broken or missing: a fault of the plugin, never of the submitter."""


# data kept beside the schemas they serve (code synonyms), not schemas themselves
DATA_SUFFIX = ".data.json"


def _walk(folder: Traversable) -> Iterable[Traversable]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.name.endswith(".json") and not entry.name.endswith(DATA_SUFFIX):
            yield entry


class SchemaStore:
    """All schemas the plugins ship, looked up by ``$id``."""

    def __init__(self, folders: Iterable[Traversable]) -> None:
        self._folders = list(folders)
        self._validators: dict[str, Draft202012Validator] = {}

    @cached_property
    def documents(self) -> dict[str, dict[str, Any]]:
        """Every schema by ``$id``; loaded on first use so ``gateway --help`` stays fast."""
        found: dict[str, dict[str, Any]] = {}
        for folder in self._folders:
            for entry in _walk(folder):
                try:
                    document = json.loads(entry.read_text(encoding="utf-8"))
                except (OSError, ValueError) as err:
                    raise SchemaError(f"schema file {entry.name} cannot be read: {err}") from err
                schema_id = document.get("$id") if isinstance(document, dict) else None
                if not schema_id:
                    raise SchemaError(f"schema file {entry.name} has no $id")
                if schema_id in found:
                    raise SchemaError(f"schema $id {schema_id} is used by two files")
                found[schema_id] = document
        return found

    @cached_property
    def registry(self) -> Registry:
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource

        def retrieve(uri: str) -> Resource:
            document = self.documents.get(uri)
            if document is None:
                raise NoSuchResource(ref=uri)
            return Resource.from_contents(document)

        return Registry(retrieve=retrieve)

    def get(self, schema_id: str) -> dict[str, Any]:
        try:
            return self.documents[schema_id]
        except KeyError:
            raise SchemaError(f"no schema with $id {schema_id}") from None

    def resolved(self, schema_id: str) -> dict[str, Any]:
        """The schema with its top-level ``properties`` ``$ref``s inlined, so the record layer
        can read each column's type, codes and range directly."""
        return inline_refs(self.get(schema_id), self)

    def validator(self, schema_id: str) -> Draft202012Validator:
        """A meta-validated, compiled validator for one schema, cached for the process."""
        validator = self._validators.get(schema_id)
        if validator is None:
            from jsonschema import Draft202012Validator

            from gateway.contract.formats import format_checker

            schema = self.get(schema_id)
            Draft202012Validator.check_schema(schema)
            validator = Draft202012Validator(schema, registry=self.registry,
                                             format_checker=format_checker())
            self._validators[schema_id] = validator
        return validator


def inline_refs(node: Any, store: SchemaStore, depth: int = 0) -> Any:
    """Replace ``{"$ref": id#/pointer, ...siblings}`` by the target merged with its siblings."""
    if depth > 32:
        raise SchemaError("schema $ref chain is too deep (a cycle?)")
    if isinstance(node, list):
        return [inline_refs(item, store, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _lookup(node["$ref"], store)
        merged = {**inline_refs(target, store, depth + 1)}
        merged.update({k: inline_refs(v, store, depth) for k, v in node.items() if k != "$ref"})
        return merged
    return {key: inline_refs(value, store, depth) for key, value in node.items()}


def _lookup(ref: str, store: SchemaStore) -> Any:
    base, _, pointer = ref.partition("#")
    node: Any = store.get(base)
    for part in filter(None, pointer.split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError):
            raise SchemaError(f"$ref {ref} points at nothing") from None
    return node
