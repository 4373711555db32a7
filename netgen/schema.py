"""A JSON Schema of the blueprint language, for editors (yaml-language-server in VS Code and
Neovim: completion, hover docs, validation as you type).

Generated, never written by hand: the top level from `blueprint.FileModel`, each op's
params from its own pydantic `Params` model and its `doc`, the forms from the keys the
lowering accepts (docs/language.md). Written as JSON Schema draft-07, the newest draft that
yaml-language-server fully supports.

The schema is a guide, not the checker: a value may always be an expression (`$width`,
`${planes * 4}`), block calls take whatever arguments the block declares, and only netgen
itself checks shapes and names. A blueprint that netgen accepts always validates.
"""

from __future__ import annotations

import json
from typing import Any

from .blueprint import FileModel
from .ops import REGISTRY, Op

SCHEMA_ID = "https://netgen.invalid/schema/blueprint-1.json"  # an identifier, not a download address
FILE_NAME = "netgen.schema.json"
# What `netgen schema` writes and the library files name in their modeline (relative to the file).
MODELINE = "# yaml-language-server: $schema="

# Forms and the keys each takes (lower.py's check_keys calls).
FORMS = ("seq", "residual", "parallel", "dense", "split")
ITEM_SIDE_KEYS = ("name", "from")
EXPRESSION = {"type": "string", "pattern": r"\$", "description": "an expression: `$name` or `${...}`"}
_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _draft7(node: Any) -> Any:
    """pydantic's schema (draft 2020-12) as draft-07: tuples as `items` lists, bounds under
    their JSON Schema names, no auto-generated titles."""
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "prefixItems":
            out["items"] = _draft7(value)
            out["additionalItems"] = False
        elif key in _BOUNDS:
            out[_BOUNDS[key]] = value
        elif key == "$ref":
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "$defs":
            out["definitions"] = _draft7(value)
        else:
            out[key] = _draft7(value)
    return out


def _or_expression(schema: dict) -> dict:
    if isinstance(schema.get("items"), dict):  # each element may be an expression too: `[1, 1, $hidden]`
        schema = {**schema, "items": {"anyOf": [schema["items"], {"$ref": "#/definitions/expression"}]}}
    return {"anyOf": [schema, {"$ref": "#/definitions/expression"}], **({"default": schema["default"]}
                                                                      if "default" in schema else {})}


def op_classes() -> list[type[Op]]:
    """Each registered op once (aliases point at the same class), by kind."""
    return sorted({cls for cls in REGISTRY.values()}, key=lambda c: c.kind)


def _op_params(cls: type[Op]) -> dict:
    params = _draft7(cls.Params.model_json_schema())
    properties = {name: _or_expression(prop) for name, prop in params.get("properties", {}).items()}
    for key in ITEM_SIDE_KEYS:
        properties[key] = {"$ref": f"#/definitions/{key}"}
    body = {"type": "object", "properties": properties, "additionalProperties": False,
            "description": cls.doc}
    if params.get("required"):
        body["required"] = params["required"]
    return body


def _op_item(name: str, cls: type[Op]) -> dict:
    args: dict = {"$ref": f"#/definitions/op.{cls.kind}"}
    if "required" not in _op_params(cls):
        args = {"anyOf": [args, {"type": "null"}]}  # `- bn:` with nothing after it
    return {
        "type": "object",
        "properties": {name: {**args, "description": cls.doc}, **_side_keys()},
        "required": [name],
        "additionalProperties": False,
    }


def _side_keys() -> dict:
    return {key: {"$ref": f"#/definitions/{key}"} for key in ITEM_SIDE_KEYS}


def _items() -> dict:
    return {"anyOf": [{"$ref": "#/definitions/item"},
                      {"type": "array", "items": {"$ref": "#/definitions/item"}},
                      {"$ref": "#/definitions/expression"}]}


def _forms() -> dict[str, dict]:
    items = {"$ref": "#/definitions/items"}
    count = {"anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/definitions/expression"}]}
    closed = {"additionalProperties": False, "type": "object"}
    return {
        "form.repeat": {**closed, "required": ["repeat", "body"], "description": "repeat the body N times",
                        "properties": {"repeat": count, "as": {"type": "string"}, "name": {"type": "string"},
                                       "body": items}},
        "form.if": {**closed, "required": ["if", "then"], "description": "keep `then` or `else`",
                    "properties": {"if": {}, "then": items, "else": items}},
        "form.seq": {**closed, "required": ["seq"], "description": "a named sequence (a submodule)",
                     "properties": {"seq": {"anyOf": [items, {**closed, "properties": {
                         "body": items, **_side_keys()}}]}, **_side_keys()}},
        "form.residual": {**closed, "required": ["residual"], "description": "body + shortcut, added",
                          "properties": {"residual": {**closed, "properties": {
                              "body": items,
                              "shortcut": {"anyOf": [{"enum": ["auto", "identity", "projection", "if_same", "none"]},
                                                     items]},
                              "projection": {"type": "object", "properties": {
                                  "name": {"type": "string"}, "bn": {"anyOf": [{"type": "boolean"},
                                                                               {"$ref": "#/definitions/expression"}]}},
                                  "additionalProperties": False},
                              "after": items, **_side_keys()}}, **_side_keys()}},
        "form.parallel": {**closed, "required": ["parallel"], "description": "branches on one input, merged",
                          "properties": {"parallel": {**closed, "required": ["branches"], "properties": {
                              "branches": {"anyOf": [{"type": "object", "additionalProperties": items},
                                                     {"type": "array", "items": items}]},
                              "merge": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/item"}]},
                              **_side_keys()}}, **_side_keys()}},
        "form.dense": {**closed, "required": ["dense"], "description": "each layer sees every earlier output",
                       "properties": {"dense": {**closed, "required": ["repeat", "body"], "properties": {
                           "repeat": count, "as": {"type": "string"}, "name": {"type": "string"}, "body": items,
                           "from": {"$ref": "#/definitions/from"}}}, **_side_keys()}},
        "form.split": {**closed, "required": ["split"], "description": "named parts along a dimension",
                       "properties": {"split": {**closed, "required": ["names"], "properties": {
                           "dim": {"anyOf": [{"type": "integer"}, {"$ref": "#/definitions/expression"}]},
                           "chunks": count,
                           "sizes": {"anyOf": [{"type": "array", "items": count},
                                               {"$ref": "#/definitions/expression"}]},
                           "names": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                               {"$ref": "#/definitions/expression"}]},
                           "from": {"$ref": "#/definitions/from"}}}, "from": {"$ref": "#/definitions/from"}}},
    }


def blueprint_schema() -> dict:
    """The JSON Schema of a blueprint file (draft-07), as a dict."""
    ops = op_classes()
    names = sorted(REGISTRY)
    reserved = sorted({*names, *FORMS, "repeat", "if", "then", "else", *ITEM_SIDE_KEYS})
    definitions: dict[str, Any] = {
        "expression": EXPRESSION,
        "name": {"type": "string", "description": "the module name: the state_dict key of this item"},
        "from": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                 "description": "named earlier item(s) to take as input instead of the previous item"},
        "items": _items(),
        "block_call": {"type": "object", "minProperties": 1, "description": "a block call: `block: {args}`",
                       "propertyNames": {"not": {"enum": [n for n in reserved if n not in ITEM_SIDE_KEYS]}},
                       "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]}},
        **_forms(),
    }
    alternatives: list[dict] = [
        {"type": "string", "description": "an op or block without params (`relu`), or `$param`",
         "anyOf": [{"enum": names}, {"type": "string"}]},
    ]
    for cls in ops:
        definitions[f"op.{cls.kind}"] = _op_params(cls)
    for name in names:
        definitions[f"item.{name}"] = _op_item(name, REGISTRY[name])
        alternatives.append({"$ref": f"#/definitions/item.{name}"})
    alternatives += [{"$ref": f"#/definitions/form.{form}"} for form in ("repeat", "if", *FORMS)]
    alternatives.append({"$ref": "#/definitions/block_call"})
    definitions["item"] = {"anyOf": alternatives}
    definitions["block"] = {
        "type": "object",
        "description": "a reusable block: typed params with defaults, `let` values and a body",
        "properties": {
            "doc": {"type": "string"},
            "params": {"type": "object", "description": "name: default, or name: type (int float number bool str "
                                                        "list dict size any) for a required param"},
            "let": {"type": "object", "description": "derived values, evaluated in order after the params"},
            "body": {"$ref": "#/definitions/items"},
            "inputs": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 2,
                       "description": "the names of the values a block of several inputs reads (`from: low` "
                                      "inside it); a call lists one value per name, in order"},
            "module_order": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                             "description": "the members' modules in the order the class registers them (the "
                                            "state_dict's key order), where it is not the order they run in"},
        },
    }
    top = _draft7(FileModel.model_json_schema())
    properties = top["properties"]
    properties["netgen"] = {"enum": [1], "description": "the language version"}
    properties["network"] = {"type": "array", "items": {"$ref": "#/definitions/item"},
                             "description": "the network: a list of items"}
    properties["blocks"] = {"type": "object", "additionalProperties": {"$ref": "#/definitions/block"},
                            "description": "reusable block definitions"}
    for key in ("name", "extends", "input", "outputs"):
        properties[key] = {k: v for k, v in properties[key].items() if k != "default"}
        properties[key]["anyOf"] = [alt for alt in properties[key]["anyOf"] if alt != {"type": "null"}]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "netgen blueprint",
        "description": "A netgen blueprint (language version 1): docs/language.md. Generated by `netgen schema`.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "definitions": definitions,
    }


def schema_text() -> str:
    """The schema as `netgen schema` prints it: stable key order, one trailing newline."""
    return json.dumps(blueprint_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
