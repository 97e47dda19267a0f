//! The audit's self-contained HTML page: what ran (model, method, backend,
//! settings), the summary, the per-class table with each class's robust
//! accuracy, and the worst examples as original | adversarial | perturbation
//! images embedded in the page.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::{ArrayD, Axis, IxDyn};

use super::{base64, decode_base64_f32, AuditReport};
use crate::error::{Error, Result};
use crate::report::picture::{image_layout, triptych_png_bytes};

/// The range the images are drawn over: the audit's box (its goal's
/// `bounds`; absent, [0, 1], which an audit then took), or without one the
/// values' own range, as `run`'s artifacts are drawn.
fn drawn_range<'a>(goal: &serde_json::Value, values: impl Iterator<Item = &'a f32>) -> (f32, f32) {
    match goal.get("bounds") {
        None => (0.0, 1.0),
        Some(b) => match b.as_array().map(Vec::as_slice) {
            Some([lo, hi]) => match (lo.as_f64(), hi.as_f64()) {
                (Some(lo), Some(hi)) if lo < hi => (lo as f32, hi as f32),
                _ => crate::report::artifacts::value_range(values),
            },
            _ => crate::report::artifacts::value_range(values),
        },
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The name the page gives the model: the report's own (its provenance
/// keeps the model file through a merge), else `fallback`.
fn model_name<'a>(report: &'a AuditReport, fallback: &'a str) -> &'a str {
    let own = report.provenance.model_file.as_str();
    if own.is_empty() {
        fallback
    } else {
        own
    }
}

/// `value` as the page shows it: strings bare, everything else as JSON.
fn plain(value: &serde_json::Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

/// Method, backend and every setting of the run.
fn what_ran(report: &AuditReport) -> String {
    let p = &report.provenance;
    let mut h = format!(
        "<p>method <b>{method}</b>; backend {backend} {version} on {device}</p>\
         <details><summary>settings</summary><table>",
        method = escape(&plain(&report.settings["algorithm"])),
        backend = escape(&p.backend),
        version = escape(&p.backend_version),
        device = escape(&p.device),
    );
    if let Some(settings) = report.settings.as_object() {
        for (key, value) in settings {
            let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(&plain(value)));
        }
    }
    h.push_str("</table></details>");
    h
}

/// A share as a percentage; `-` for no samples.
fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * part as f64 / whole as f64)
    }
}

/// With `--epsilons`: the radii attacked and the robustness curve.
fn radii(report: &AuditReport) -> String {
    if report.epsilons.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = report.epsilons.iter().map(f64::to_string).collect();
    let mut h = format!(
        "<h2>Robustness against epsilon</h2><p>radii attacked: {}; the robust accuracy above is at the largest</p>\
         <table><tr><th>epsilon</th><th>robust</th><th>robust accuracy</th></tr>",
        listed.join(", ")
    );
    // The listed radii: the curve also steps at every sample's bisected
    // radius, a row per sample (the report and `--curve` have them).
    for p in report.curve.iter().filter(|p| report.epsilons.contains(&p.epsilon)) {
        let _ =
            write!(h, "<tr><td>{}</td><td>{}</td><td>{:.2}%</td></tr>", p.epsilon, p.robust, 100.0 * p.robust_accuracy);
    }
    h.push_str("</table>");
    h
}

/// Writes the page; `images` is the audited dataset (originals);
/// `model_name` names the model when the report does not.
pub fn write_html(path: &Path, report: &AuditReport, images: &ArrayD<f32>, model_name: &str) -> Result<()> {
    let model_name = self::model_name(report, model_name);
    let s = &report.summary;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>adr-onnx audit of {name}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}figure{{display:inline-block;margin:8px}}\
         figcaption{{font-size:small}}</style></head><body>\
         <h1>Robustness audit of {name}</h1>\
         <p>adr-onnx {version} ({commit}); goal <code>{goal}</code></p>",
        name = escape(model_name),
        version = report.tool.version,
        commit = report.tool.commit,
        goal = escape(&report.goal.to_string()),
    );
    h.push_str(&what_ran(report));
    let _ = write!(
        h,
        "<table><tr><th>samples</th><th>clean accuracy</th><th>attacked</th><th>attack success</th><th>robust accuracy</th></tr>\
         <tr><td>{}</td><td>{:.2}%</td><td>{}</td><td>{} ({:.2}%)</td><td>{:.2}%</td></tr></table>",
        s.samples,
        100.0 * s.clean_accuracy,
        s.attacked,
        s.successes,
        100.0 * s.attack_success_rate,
        100.0 * s.robust_accuracy
    );
    h.push_str(&radii(report));
    h.push_str(
        "<h2>Per class</h2><table><tr><th>class</th><th>samples</th><th>clean correct</th><th>robust</th>\
         <th>robust accuracy</th></tr>",
    );
    for c in &s.per_class {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.class,
            c.samples,
            c.clean_correct,
            c.robust,
            percent(c.robust, c.samples)
        );
    }
    h.push_str("</table><h2>Worst examples</h2><p>original | adversarial | perturbation (red up, blue down)</p>");
    let sample_shape = images.shape().get(1..).unwrap_or_default().to_vec();
    let layout = image_layout(&sample_shape);
    for &i in &s.worst {
        let Some(r) = report.samples.iter().find(|r| r.index == i) else { continue };
        let caption = format!(
            "#{i}: label {} &rarr; {}, margin {:.3}, L&infin; {:.4}, by {}",
            r.label,
            r.adversarial_prediction.map_or("?".into(), |p| p.to_string()),
            r.margin.unwrap_or(f64::NAN),
            r.distance_linf.unwrap_or(f64::NAN),
            r.found_by.as_deref().unwrap_or("?")
        );
        let picture = match (layout, r.adversarial_f32le.as_deref().and_then(decode_base64_f32)) {
            (Some(layout), Some(adv))
                if i < images.shape()[0] && adv.len() == sample_shape.iter().product::<usize>() =>
            {
                let original = images.index_axis(Axis(0), i);
                let adv =
                    ArrayD::from_shape_vec(IxDyn(&sample_shape), adv).map_err(|e| Error::data(path, e.to_string()))?;
                let (lo, hi) = drawn_range(&report.goal, original.iter().chain(adv.iter()));
                let png = triptych_png_bytes(original, adv.view(), layout, lo, hi, 4)
                    .map_err(|e| Error::data(path, e.to_string()))?;
                format!("<img alt=\"sample {i}\" src=\"data:image/png;base64,{}\">", base64(&png))
            }
            _ => "<em>(not an image)</em>".into(),
        };
        let _ = write!(h, "<figure>{picture}<figcaption>{caption}</figcaption></figure>");
    }
    h.push_str("</body></html>\n");
    crate::output::write(path, h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_drawn_over_the_audits_box() {
        // They were drawn over [0, 1] whatever the box: 8-bit pixels came
        // out black and white.
        let values = [3.0f32, 200.0];
        let range = |goal: serde_json::Value| drawn_range(&goal, values.iter());
        assert_eq!(range(serde_json::json!({"bounds": [0, 255]})), (0.0, 255.0));
        assert_eq!(range(serde_json::json!({"epsilon": 0.1})), (0.0, 1.0));
        assert_eq!(range(serde_json::json!({"bounds": null})), (3.0, 200.0));
    }

    #[test]
    fn percentages_of_nothing_are_a_dash() {
        assert_eq!(percent(1, 4), "25.00%");
        assert_eq!(percent(0, 0), "-");
    }

    #[test]
    fn settings_show_strings_bare() {
        assert_eq!(plain(&serde_json::json!("adr")), "adr");
        assert_eq!(plain(&serde_json::json!(0.5)), "0.5");
    }
}
