//! Repeated keys in JSON documents: `serde_json` keeps the last of an
//! object's repeated keys without a word, so that a goal with two
//! `epsilon`s would run the second. Goal files and audit templates are
//! checked for them first.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use super::data::pointer_token;

/// An object key given twice: the object's JSON pointer (`/` for the
/// document) and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedKey {
    pub pointer: String,
    pub key: String,
}

/// The first key that an object of `text` repeats, if any; for text that
/// parses as JSON (on other text it reports what it saw before the error).
pub fn first_repeated_key(text: &str) -> Option<RepeatedKey> {
    let found = RefCell::new(None);
    let walk = Walk { pointer: String::new(), found: &found };
    let mut de = serde_json::Deserializer::from_str(text);
    // The walk stops at the first repeat, recorded in `found`.
    let _ = walk.deserialize(&mut de);
    found.into_inner()
}

/// Visits every value, knowing its JSON pointer.
struct Walk<'a> {
    pointer: String,
    found: &'a RefCell<Option<RepeatedKey>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq.next_element_seed(Walk { pointer: format!("{}/{index}", self.pointer), found: self.found })?.is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = format!("{}/{}", self.pointer, pointer_token(&key));
            if !keys.insert(key.clone()) {
                let pointer = if self.pointer.is_empty() { "/".to_string() } else { self.pointer.clone() };
                *self.found.borrow_mut() = Some(RepeatedKey { pointer, key });
                return Err(A::Error::custom("repeated key"));
            }
            map.next_value_seed(Walk { pointer: child, found: self.found })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_repeated_key_is_found_with_its_object() {
        assert_eq!(first_repeated_key(r#"{"a": 1, "b": [1, {"c": 2}]}"#), None);
        assert_eq!(
            first_repeated_key(r#"{"kind": "x", "epsilon": 0.1, "epsilon": 0.3}"#),
            Some(RepeatedKey { pointer: "/".into(), key: "epsilon".into() })
        );
        assert_eq!(
            first_repeated_key(r#"{"method": {"lr": 1}, "inputs": [0, {"a/b": {"x": 1, "x": 2}}]}"#),
            Some(RepeatedKey { pointer: "/inputs/1/a~1b".into(), key: "x".into() })
        );
        // The same key in sibling objects is no repeat.
        assert_eq!(first_repeated_key(r#"[{"a": 1}, {"a": 2}]"#), None);
    }
}
