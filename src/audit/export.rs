//! An audit report in the formats other tools read: CSV (one row per
//! sample), JUnit XML (one test case per sample or per class, for CI), and
//! the successful adversarial examples as one `.npy` stack.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};

use super::{decode_base64_f32, AuditReport, SampleResult};
use crate::error::{Error, Result};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "index",
    "label",
    "clean_prediction",
    "clean_correct",
    "attacked",
    "skip_reason",
    "success",
    "adversarial_prediction",
    "margin",
    "cross_entropy",
    "distance_linf",
    "distance_l2",
    "found_by",
    "target",
    "min_epsilon",
    "max_robust_epsilon",
    "adversarial_row",
];

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a
/// line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// The report's samples as CSV: a header, then one row per sample in the
/// report's order; an absent value is an empty field; `adversarial_row` is
/// the sample's row in the stack of [`adversarial_stack`].
pub fn csv(report: &AuditReport) -> String {
    let mut out = CSV_COLUMNS.join(",") + "\n";
    let mut row = 0usize;
    for s in &report.samples {
        let stacked = s.adversarial_f32le.is_some().then(|| {
            row += 1;
            row - 1
        });
        let fields = [
            s.index.to_string(),
            s.label.to_string(),
            s.clean_prediction.to_string(),
            s.clean_correct.to_string(),
            s.attacked.to_string(),
            field(s.skip_reason.as_deref().unwrap_or("")),
            s.success.to_string(),
            opt(s.adversarial_prediction),
            opt(s.margin),
            opt(s.cross_entropy),
            opt(s.distance_linf),
            opt(s.distance_l2),
            field(s.found_by.as_deref().unwrap_or("")),
            opt(s.target),
            opt(s.min_epsilon),
            opt(s.max_robust_epsilon),
            opt(stacked),
        ];
        out += &fields.join(",");
        out.push('\n');
    }
    out
}

/// What a JUnit test case stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JunitCase {
    /// One per sample: it fails when misclassified clean or flipped.
    Sample,
    /// One per class: it fails when a sample of the class is not robust.
    Class,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Why a sample is not robust, or `None` when it is.
fn sample_failure(s: &SampleResult) -> Option<String> {
    if !s.clean_correct {
        return Some(format!("misclassified clean: predicted {} for label {}", s.clean_prediction, s.label));
    }
    s.success.then(|| {
        format!(
            "adversarial example: predicted {} at margin {}, L-inf distance {}, found by {}",
            opt(s.adversarial_prediction),
            opt(s.margin),
            opt(s.distance_linf),
            s.found_by.as_deref().unwrap_or("?")
        )
    })
}

impl JunitCase {
    /// `sample` or `class`.
    pub fn parse(s: &str) -> std::result::Result<JunitCase, String> {
        match s {
            "sample" => Ok(JunitCase::Sample),
            "class" => Ok(JunitCase::Class),
            other => Err(format!("'{other}': expected sample or class")),
        }
    }
}

/// The report as a JUnit XML test suite named after `model_name`.
pub fn junit(report: &AuditReport, model_name: &str, by: JunitCase) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    let mut case = |name: String, classname: String, failure: Option<String>, skip: Option<&str>| {
        tests += 1;
        let _ = write!(cases, "    <testcase name=\"{}\" classname=\"{}\"", xml(&name), xml(&classname));
        match (failure, skip) {
            (Some(f), _) => {
                failures += 1;
                let _ = writeln!(cases, ">\n      <failure message=\"{}\"/>\n    </testcase>", xml(&f));
            }
            (None, Some(why)) => {
                skipped += 1;
                let _ = writeln!(cases, ">\n      <skipped message=\"{}\"/>\n    </testcase>", xml(why));
            }
            (None, None) => cases.push_str("/>\n"),
        }
    };
    match by {
        JunitCase::Sample => {
            for s in &report.samples {
                let skip = s.skip_reason.as_deref().filter(|_| s.clean_correct);
                case(format!("sample {}", s.index), format!("class {}", s.label), sample_failure(s), skip);
            }
        }
        JunitCase::Class => {
            for c in &report.summary.per_class {
                let not_robust: Vec<String> = report
                    .samples
                    .iter()
                    // As the summary counts: a sample not attacked (its
                    // label is the target) is not robust either.
                    .filter(|s| s.label == c.class && !s.robust())
                    .map(|s| s.index.to_string())
                    .collect();
                let failure = (!not_robust.is_empty()).then(|| {
                    format!("{} of {} samples not robust: {}", not_robust.len(), c.samples, not_robust.join(", "))
                });
                case(format!("class {}", c.class), "classes".into(), failure, None);
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"adr-onnx audit of {}\" \
         tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n</testsuites>\n",
        xml(model_name)
    )
}

/// The successful adversarial inputs in the report's order, stacked along
/// a first axis, each of `sample_shape` (the images' shape past the first
/// axis). `path` names the report in errors.
pub fn adversarial_stack(path: &Path, report: &AuditReport, sample_shape: &[usize]) -> Result<ArrayD<f32>> {
    let per_sample: usize = sample_shape.iter().product();
    let mut values = Vec::new();
    let mut rows = 0;
    for s in &report.samples {
        let Some(encoded) = &s.adversarial_f32le else { continue };
        let x = decode_base64_f32(encoded).filter(|x| x.len() == per_sample).ok_or_else(|| {
            Error::data(path, format!("sample {}: adversarial_f32le is not {per_sample} floats", s.index))
        })?;
        values.extend(x);
        rows += 1;
    }
    let shape: Vec<usize> = std::iter::once(rows).chain(sample_shape.iter().copied()).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| Error::data(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{base64_f32, summarise, SKIP_LABEL_IS_TARGET, SKIP_MISCLASSIFIED};

    fn report() -> AuditReport {
        let mut flipped = SampleResult::unattacked(1, 3, 3, None);
        flipped.attacked = true;
        flipped.success = true;
        flipped.adversarial_prediction = Some(5);
        flipped.margin = Some(-0.5);
        flipped.distance_linf = Some(0.25);
        flipped.found_by = Some("apgd-ce".into());
        flipped.adversarial_f32le = Some(base64_f32(&[0.5, 1.0]));
        let mut robust = SampleResult::unattacked(2, 3, 3, None);
        robust.attacked = true;
        let samples = vec![
            SampleResult::unattacked(0, 7, 1, Some(SKIP_MISCLASSIFIED)),
            flipped,
            robust,
            SampleResult::unattacked(3, 4, 4, Some(SKIP_LABEL_IS_TARGET)),
        ];
        let json = serde_json::json!({
            "schema_version": 4, "kind": "audit_report", "tool": {"name": "", "version": "", "commit": ""},
            "model_sha256": "", "dataset_sha256": "", "images_sha256": "", "goal": {}, "settings": {},
            "shard": {"k": 0, "n": 1}, "dataset_samples": 4, "samples": samples, "rows_sha256": "",
            "summary": summarise(&samples),
            "provenance": {"backend": "tract", "backend_version": "", "device": "cpu", "model_file": "m.onnx",
                           "started_utc": "", "duration_s": 0.0}
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_csv_has_a_header_and_a_row_per_sample() {
        let text = csv(&report());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0].split(',').count(), CSV_COLUMNS.len());
        assert_eq!(lines[1], "0,7,1,false,false,misclassified clean,false,,,,,,,,,,");
        assert_eq!(lines[2], "1,3,3,true,true,,true,5,-0.5,,0.25,,apgd-ce,,,,0");
        assert_eq!(field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn junit_fails_the_samples_and_classes_that_are_not_robust() {
        let by_sample = junit(&report(), "m<1>.onnx", JunitCase::Sample);
        assert!(
            by_sample.contains(
                "name=\"adr-onnx audit of m&lt;1&gt;.onnx\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"1\""
            ),
            "{by_sample}"
        );
        assert!(by_sample.contains("<testcase name=\"sample 2\" classname=\"class 3\"/>"));
        assert!(by_sample.contains("<failure message=\"misclassified clean: predicted 1 for label 7\"/>"));
        assert!(by_sample.contains("<skipped message=\"label is the target\"/>"));
        let by_class = junit(&report(), "m.onnx", JunitCase::Class);
        // Class 4's sample was not attacked (its label is the target): not
        // robust, as the summary counts it; the class case passed.
        assert!(by_class.contains("tests=\"3\" failures=\"3\""), "{by_class}");
        assert!(by_class.contains("<failure message=\"1 of 2 samples not robust: 1\"/>"));
        assert!(by_class.contains("<failure message=\"1 of 1 samples not robust: 3\"/>"), "{by_class}");
    }

    #[test]
    fn the_stack_holds_the_successes_in_order() {
        let stack = adversarial_stack(Path::new("a.json"), &report(), &[1, 2]).unwrap();
        assert_eq!(stack.shape(), &[1, 1, 2]);
        assert_eq!(stack.iter().copied().collect::<Vec<f32>>(), vec![0.5, 1.0]);
        let err = adversarial_stack(Path::new("a.json"), &report(), &[3]).unwrap_err().to_string();
        assert_eq!(err, "a.json: sample 1: adversarial_f32le is not 3 floats");
    }
}
