//! The JSON documents adr-onnx writes and how a reader tells them apart:
//! each carries `schema_version` and a `kind` naming the document type
//! (docs/report.md; the JSON Schemas are in docs/schema/).

use serde::Serialize;

/// What a document is and which version of its schema it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentType {
    pub kind: &'static str,
    /// Bumped when a stable field changes meaning or disappears.
    pub schema_version: u32,
}

/// `run --out`.
pub const RUN_REPORT: DocumentType = DocumentType { kind: "run_report", schema_version: 2 };
/// `audit --out`, `audit-merge --out`.
pub const AUDIT_REPORT: DocumentType = DocumentType { kind: "audit_report", schema_version: 4 };
/// `falsify --report`.
pub const FALSIFY_REPORT: DocumentType = DocumentType { kind: "falsify_report", schema_version: 2 };
/// `inspect --json`.
pub const INSPECT_REPORT: DocumentType = DocumentType { kind: "inspect_report", schema_version: 1 };
/// `doctor --json`.
pub const DOCTOR_REPORT: DocumentType = DocumentType { kind: "doctor_report", schema_version: 1 };
/// `bench --json`, `bench --out`.
pub const BENCH_REPORT: DocumentType = DocumentType { kind: "bench_report", schema_version: 1 };

/// Every document type, for the docs and the schema tests.
pub const ALL: [DocumentType; 6] =
    [RUN_REPORT, AUDIT_REPORT, FALSIFY_REPORT, INSPECT_REPORT, DOCTOR_REPORT, BENCH_REPORT];

/// A body serialised behind its `schema_version` and `kind`.
#[derive(Debug, Serialize)]
pub struct Document<'a, T: Serialize> {
    schema_version: u32,
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl<'a, T: Serialize> Document<'a, T> {
    pub fn new(of: DocumentType, body: &'a T) -> Self {
        Document { schema_version: of.schema_version, kind: of.kind, body }
    }
}

/// The pretty-printed JSON text of `body` as a document of type `of`, with
/// a final newline.
pub fn to_json<T: Serialize>(of: DocumentType, body: &T) -> serde_json::Result<String> {
    Ok(serde_json::to_string_pretty(&Document::new(of, body))? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_comes_first_and_the_kinds_differ() {
        #[derive(Serialize)]
        struct Body {
            a: u8,
        }
        let text = to_json(DOCTOR_REPORT, &Body { a: 1 }).unwrap();
        assert!(
            text.starts_with("{\n  \"schema_version\": 1,\n  \"kind\": \"doctor_report\",\n  \"a\": 1\n}"),
            "{text}"
        );
        let mut kinds: Vec<&str> = ALL.iter().map(|d| d.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), ALL.len());
    }
}
