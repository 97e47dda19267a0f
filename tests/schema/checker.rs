//! A small JSON Schema checker for the schemas in docs/schema/: the
//! keywords they use (draft 2020-12: `type`, `const`, `enum`, `properties`,
//! `required`, `additionalProperties`, `items`, `anyOf`, `oneOf`, `$ref` to
//! `#/$defs/...`, `minimum`, `exclusiveMinimum`, `minItems`, `maxItems`).
//! Any other keyword fails the check, so a schema cannot silently rely on
//! one this checker ignores.

use serde_json::Value;

/// Annotations that constrain nothing.
const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description", "$defs"];

/// Every place where `doc` breaks `schema`, as `pointer: what`.
pub fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    violations_at(schema, schema, doc)
}

fn type_matches(name: &str, v: &Value) -> bool {
    match name {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        other => panic!("schema: unknown type {other}"),
    }
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("schema: only local $ref, got {reference}"));
    root.pointer(pointer).unwrap_or_else(|| panic!("schema: $ref {reference} resolves to nothing"))
}

fn check(root: &Value, schema: &Value, doc: &Value, at: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            out.push(format!("{at}: not allowed here"));
        }
        return;
    };
    for (key, rule) in s {
        let mut fail = |what: String| out.push(format!("{at}: {what}"));
        match key.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$ref" => check(root, resolve(root, rule.as_str().unwrap()), doc, at, out),
            "type" => {
                let names: Vec<&str> = match rule {
                    Value::String(n) => vec![n],
                    Value::Array(a) => a.iter().map(|n| n.as_str().unwrap()).collect(),
                    _ => panic!("schema: bad type {rule}"),
                };
                if !names.iter().any(|n| type_matches(n, doc)) {
                    fail(format!("expected {}, got {doc}", names.join(" or ")));
                }
            }
            "const" if doc != rule => fail(format!("expected {rule}, got {doc}")),
            "enum" if !rule.as_array().unwrap().contains(doc) => fail(format!("{doc} is not one of {rule}")),
            "minimum" if doc.as_f64().is_some_and(|v| v < rule.as_f64().unwrap()) => fail(format!("{doc} < {rule}")),
            "maximum" if doc.as_f64().is_some_and(|v| v > rule.as_f64().unwrap()) => fail(format!("{doc} > {rule}")),
            "exclusiveMinimum" if doc.as_f64().is_some_and(|v| v <= rule.as_f64().unwrap()) => {
                fail(format!("{doc} <= {rule}"))
            }
            "minItems" if doc.as_array().is_some_and(|a| a.len() < rule.as_u64().unwrap() as usize) => {
                fail(format!("fewer than {rule} items"))
            }
            "maxItems" if doc.as_array().is_some_and(|a| a.len() > rule.as_u64().unwrap() as usize) => {
                fail(format!("more than {rule} items"))
            }
            "const" | "enum" | "minimum" | "maximum" | "exclusiveMinimum" | "minItems" | "maxItems" => {}
            "required" => {
                if let Some(o) = doc.as_object() {
                    for name in rule.as_array().unwrap().iter().map(|n| n.as_str().unwrap()) {
                        if !o.contains_key(name) {
                            fail(format!("missing `{name}`"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = doc.as_object() {
                    for (name, sub) in rule.as_object().unwrap() {
                        if let Some(v) = o.get(name) {
                            check(root, sub, v, &format!("{at}/{name}"), out);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = doc.as_object() {
                    let known = s.get("properties").and_then(Value::as_object);
                    for (name, v) in o.iter().filter(|(n, _)| !known.is_some_and(|k| k.contains_key(*n))) {
                        match rule {
                            Value::Bool(false) => out.push(format!("{at}: `{name}` is not in the schema")),
                            _ => check(root, rule, v, &format!("{at}/{name}"), out),
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = doc.as_array() {
                    for (i, v) in a.iter().enumerate() {
                        check(root, rule, v, &format!("{at}/{i}"), out);
                    }
                }
            }
            "anyOf" | "oneOf" => {
                let passing =
                    rule.as_array().unwrap().iter().filter(|sub| violations_at(root, sub, doc).is_empty()).count();
                let ok = if key == "anyOf" { passing >= 1 } else { passing == 1 };
                if !ok {
                    fail(format!("{passing} of the {key} alternatives match {doc}"));
                }
            }
            other => panic!("schema: keyword `{other}` is not supported by this checker"),
        }
    }
}

fn violations_at(root: &Value, schema: &Value, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(root, schema, doc, "", &mut out);
    out
}
