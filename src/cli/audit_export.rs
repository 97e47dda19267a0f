//! What `audit` and `audit-merge` write besides the JSON report for other
//! tools (CSV, JUnit XML), and the robust-accuracy gate for CI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use adr_onnx::audit::export::{self, JunitCase};
use adr_onnx::audit::AuditReport;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Exit 1 when the robust accuracy is below this fraction (0 to 1,
    /// e.g. 0.5), after writing every output.
    #[arg(long, value_parser = fraction)]
    min_robust_accuracy: Option<f64>,
    /// Also write one CSV row per sample, with a header.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Also write a JUnit XML report: a test case per sample (or per
    /// class, --junit-cases class) that fails when it is not robust.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// What a JUnit test case stands for: sample or class.
    #[arg(long, default_value = "sample", value_parser = JunitCase::parse, requires = "junit")]
    junit_cases: JunitCase,
}

/// A fraction between 0 and 1.
fn fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not a fraction between 0 and 1 (0.5 asks for 50%)"))
    }
}

impl ExportArgs {
    /// The files this writes, for the clobber check.
    pub fn outputs(&self) -> impl Iterator<Item = &PathBuf> {
        self.csv.iter().chain(&self.junit)
    }

    /// Writes the CSV and the JUnit report of `report`.
    pub fn write(&self, report: &AuditReport, model_name: &str) -> anyhow::Result<()> {
        if let Some(p) = &self.csv {
            adr_onnx::output::write(p, export::csv(report).as_bytes())?;
        }
        if let Some(p) = &self.junit {
            adr_onnx::output::write(p, export::junit(report, model_name, self.junit_cases).as_bytes())?;
        }
        Ok(())
    }

    /// Exit 1 below `--min-robust-accuracy`, with a line saying so.
    pub fn verdict(&self, report: &AuditReport) -> ExitCode {
        let robust = report.summary.robust_accuracy;
        match self.min_robust_accuracy {
            Some(min) if robust < min => {
                eprintln!(
                    "robust accuracy {:.2}% is below --min-robust-accuracy {min} ({:.2}%)",
                    100.0 * robust,
                    100.0 * min
                );
                ExitCode::from(super::EXIT_NOT_ACHIEVED)
            }
            _ => ExitCode::from(super::EXIT_OK),
        }
    }
}

/// The model's file name, for reports that name it.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
