//! JSON Schema (OpenAI tools and `json_schema` response formats) → Gemini's OpenAPI-subset
//! `Schema`, following LiteLLM's `_build_vertex_schema`: `$ref`s into `$defs`/`definitions`
//! inlined, `anyOf`/`oneOf` members of type `null` turned into `nullable`, type arrays split,
//! objects given `type: object`, and keywords Gemini rejects (`additionalProperties`, `strict`,
//! `$schema`, `const`, …) removed.

use crate::error::LlmError;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// Deeper schemas (or `$ref` chains) are refused rather than recursed into.
const MAX_DEPTH: usize = 48;

/// The `Schema` fields Gemini accepts.
const ALLOWED: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// `format` values Gemini accepts (LiteLLM keeps only these two).
const FORMATS: &[&str] = &["enum", "date-time"];

/// Converts `schema`; with `ordering`, objects get `propertyOrdering` in declaration order
/// (structured output returns keys alphabetically otherwise).
pub fn convert(schema: &Value, ordering: bool) -> Result<Value, LlmError> {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(d)) = schema.get(key) {
            defs.extend(d.clone());
        }
    }
    node(schema, &defs, ordering, 0)
}

fn too_deep() -> LlmError {
    LlmError::bad_request(format!(
        "JSON schema is nested more than {MAX_DEPTH} levels deep (or has a recursive $ref), which Gemini cannot take"
    ))
}

fn resolve<'a>(reference: &str, defs: &'a Map<String, Value>) -> Result<&'a Value, LlmError> {
    let name = reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))
        .ok_or_else(|| {
            LlmError::bad_request(format!(
                "JSON schema $ref {reference:?} is not supported for Gemini (only #/$defs/… and #/definitions/…)"
            ))
        })?;
    defs.get(name).ok_or_else(|| {
        LlmError::bad_request(format!(
            "JSON schema $ref {reference:?} names no definition"
        ))
    })
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

fn node(
    value: &Value,
    defs: &Map<String, Value>,
    ordering: bool,
    depth: usize,
) -> Result<Value, LlmError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let Value::Object(src) = value else {
        return Ok(value.clone());
    };
    let mut obj = src.clone();
    if let Some(Value::String(reference)) = obj.remove("$ref") {
        // Siblings of a $ref (description, …) override the definition's own.
        let mut merged = match resolve(&reference, defs)? {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        merged.extend(obj);
        return node(&Value::Object(merged), defs, ordering, depth + 1);
    }
    // allOf: merge the members into this node (properties and required united).
    if let Some(Value::Array(all)) = obj.remove("allOf") {
        for member in all {
            if let Value::Object(m) = node(&member, defs, false, depth + 1)? {
                merge_into(&mut obj, m);
            }
        }
    }
    let mut nullable = false;
    // Type arrays: ["string", "null"] → string + nullable; several types → anyOf.
    if let Some(Value::Array(types)) = obj.get("type").cloned() {
        let kinds: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        nullable |= kinds.len() < types.len();
        match kinds.as_slice() {
            [] => {
                obj.remove("type");
            }
            [one] => {
                obj.put("type", one.clone());
            }
            many => {
                obj.remove("type");
                let members = many
                    .iter()
                    .map(|t| Value::Object(Map::from_iter([("type".to_string(), t.clone())])))
                    .collect();
                obj.put("anyOf", Value::Array(members));
            }
        }
    }
    if obj.get("type").and_then(Value::as_str) == Some("null") {
        obj.remove("type");
        nullable = true;
    }
    // anyOf / oneOf (Gemini knows only anyOf): null members become `nullable`, a single
    // remaining member is folded into this node.
    let mut any: Vec<Value> = Vec::new();
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = obj.remove(key) {
            any.extend(members);
        }
    }
    if !any.is_empty() {
        let before = any.len();
        any.retain(|m| !is_null_schema(m));
        nullable |= any.len() < before;
        let mut converted = Vec::with_capacity(any.len());
        for m in &any {
            converted.push(node(m, defs, ordering, depth + 1)?);
        }
        match converted.len() {
            0 => {}
            1 => {
                if let Some(Value::Object(only)) = converted.pop() {
                    for (k, v) in only {
                        obj.entry(k).or_insert(v);
                    }
                }
            }
            _ => {
                if nullable {
                    for m in converted.iter_mut() {
                        if let Value::Object(o) = m {
                            o.put("nullable", Value::Bool(true));
                        }
                    }
                }
                obj.put("anyOf", Value::Array(converted));
            }
        }
    }
    if let Some(c) = obj.remove("const") {
        obj.entry("enum").or_insert(Value::Array(vec![c]));
    }
    if let Some(Value::Object(props)) = obj.remove("properties") {
        let mut out = Map::new();
        for (name, sub) in props {
            out.insert(name, node(&sub, defs, ordering, depth + 1)?);
        }
        if let Some(Value::Array(required)) = obj.get_mut("required") {
            required.retain(|r| r.as_str().is_some_and(|n| out.contains_key(n)));
        }
        if ordering && !obj.contains_key("propertyOrdering") && !out.is_empty() {
            let order = out.keys().cloned().map(Value::String).collect();
            obj.put("propertyOrdering", Value::Array(order));
        }
        obj.put("properties", Value::Object(out));
        obj.put("type", Value::String("object".into()));
    }
    match obj.remove("items") {
        Some(Value::Object(items)) if items.is_empty() => {
            obj.put("items", crate::obj! {"type": "object"});
        }
        Some(items @ Value::Object(_)) => {
            obj.put("items", node(&items, defs, ordering, depth + 1)?);
        }
        _ => {}
    }
    if obj
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !FORMATS.contains(&f))
    {
        obj.remove("format");
    }
    if obj.get("anyOf").is_none() && nullable && !obj.is_empty() {
        obj.put("nullable", Value::Bool(true));
    }
    obj.retain(|k, _| ALLOWED.contains(&k.as_str()));
    if obj.get("anyOf").is_some() {
        // Gemini rejects siblings of anyOf other than descriptive ones (LiteLLM issue 11164).
        obj.retain(|k, _| matches!(k.as_str(), "anyOf" | "description" | "title"));
    }
    Ok(Value::Object(obj))
}

fn merge_into(target: &mut Map<String, Value>, source: Map<String, Value>) {
    for (k, v) in source {
        match (target.get_mut(&k), v) {
            (Some(Value::Object(t)), Value::Object(s)) if k == "properties" => t.extend(s),
            (Some(Value::Array(t)), Value::Array(s)) if k == "required" => {
                for item in s {
                    if !t.contains(&item) {
                        t.push(item);
                    }
                }
            }
            (Some(_), _) => {}
            (None, v) => {
                target.insert(k, v);
            }
        }
    }
}

/// True when a converted parameters schema declares no properties (Gemini rejects an OBJECT
/// with empty `properties` in a function declaration, so such tools get no `parameters`).
pub fn is_empty_object(schema: &Value) -> bool {
    match schema {
        Value::Object(o) => {
            let no_props = o
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
            let object_type = o
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t.eq_ignore_ascii_case("object"));
            no_props && object_type && o.get("anyOf").is_none()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_openai_only_keywords_and_types_objects() {
        let s = json!({
            "type": "object", "additionalProperties": false, "strict": true,
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"city": {"type": "string", "format": "uri"}},
            "required": ["city", "ghost"]
        });
        assert_eq!(
            convert(&s, false).unwrap(),
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
        );
    }

    #[test]
    fn nullable_from_any_of_and_type_arrays() {
        let s = json!({"properties": {
            "a": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "d"},
            "b": {"type": ["integer", "null"]},
            "c": {"type": ["string", "number"]}
        }});
        assert_eq!(
            convert(&s, false).unwrap(),
            json!({"properties": {
                "a": {"description": "d", "type": "string", "nullable": true},
                "b": {"type": "integer", "nullable": true},
                "c": {"anyOf": [{"type": "string"}, {"type": "number"}]}
            }, "type": "object"})
        );
    }

    #[test]
    fn refs_are_inlined_and_recursion_is_refused() {
        let s = json!({
            "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
            "type": "object",
            "properties": {"unit": {"$ref": "#/$defs/Unit", "description": "unit"}}
        });
        assert_eq!(
            convert(&s, true).unwrap(),
            json!({"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"], "description": "unit"}}, "propertyOrdering": ["unit"]})
        );
        let looped = json!({"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"});
        assert!(convert(&looped, false).is_err());
    }

    #[test]
    fn empty_object_detection() {
        assert!(is_empty_object(
            &json!({"type": "object", "properties": {}})
        ));
        assert!(is_empty_object(&json!({})));
        assert!(!is_empty_object(
            &json!({"type": "object", "properties": {"a": {"type": "string"}}})
        ));
    }
}
