//! `adr-onnx doctor`: which backends and devices this machine can use, and
//! why not.

use std::path::PathBuf;
use std::process::ExitCode;

use adr_onnx::runtime::ort_library;
use adr_onnx::runtime::select::{select, BackendChoice, BackendRequest};
use adr_onnx::runtime::Device;
use serde::Serialize;

use super::stdout::{out, outln};

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// The ONNX Runtime library to check (else the usual search).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// One backend and device: usable, or why not.
#[derive(Debug, Serialize)]
struct Check {
    backend: String,
    device: String,
    usable: bool,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Diagnosis {
    version: String,
    onnxruntime_backend_built: bool,
    library: Option<ort_library::FoundLibrary>,
    library_search: String,
    checks: Vec<Check>,
}

/// The devices `doctor` checks, as its report names them.
const DEVICES: [(&str, Device); 2] = [("cpu", Device::Cpu), ("cuda", Device::Cuda(0))];

fn check(choice: BackendChoice, (device, on): (&str, Device), ort_lib: &Option<PathBuf>) -> Check {
    let req = BackendRequest { choice, device: on, ort_lib: ort_lib.clone(), threads: 1 };
    let backend = choice.name().to_string();
    match select(&req) {
        Ok(s) => Check {
            backend,
            device: device.into(),
            usable: true,
            detail: format!(
                "{} {} ({})",
                s.info.name,
                s.info.version.unwrap_or_default(),
                [Some(s.info.provider), Some(s.info.device), s.info.library]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        Err(e) => Check { backend, device: device.into(), usable: false, detail: e.to_string() },
    }
}

/// Where the library was found, as the search order in the docs names it.
fn source_words(source: &ort_library::Source) -> &'static str {
    match source {
        ort_library::Source::Flag => "--ort-lib",
        ort_library::Source::Environment => "ORT_DYLIB_PATH",
        ort_library::Source::PythonPackage => "python package",
        ort_library::Source::System => "system library path",
    }
}

pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let built = cfg!(feature = "onnxruntime");
    let found = if built {
        ort_library::find(args.ort_lib.as_deref())
    } else {
        Err(ort_library::NotFound { tried: vec!["nothing: this build cannot load ONNX Runtime".into()] })
    };
    let mut checks = vec![check(BackendChoice::Tract, DEVICES[0], &args.ort_lib)];
    for device in DEVICES.into_iter().filter(|_| built) {
        // Without a library each check would repeat the search's paragraph.
        checks.push(match &found {
            Ok(_) => check(BackendChoice::Ort, device, &args.ort_lib),
            Err(_) => Check {
                backend: "ort".into(),
                device: device.0.into(),
                usable: false,
                detail: "no ONNX Runtime library (see the library search)".into(),
            },
        });
    }
    let d = Diagnosis {
        version: super::version_line().to_string(),
        onnxruntime_backend_built: built,
        library_search: match &found {
            Ok(l) => format!("found {} ({})", l.path.display(), source_words(&l.source)),
            Err(e) => e.to_string(),
        },
        library: found.ok(),
        checks,
    };
    if args.json {
        out!("{}", adr_onnx::document::to_json(adr_onnx::document::DOCTOR_REPORT, &d)?)?;
    } else {
        outln!("adr-onnx {}", d.version)?;
        outln!(
            "ONNX Runtime backend: {}",
            if built { "built in (library loaded at run time)" } else { "not in this build (static)" }
        )?;
        outln!("ONNX Runtime library: {}", d.library_search)?;
        if let Some(l) = &d.library {
            outln!("  CUDA provider library beside it: {}", if l.cuda_provider { "yes" } else { "no" })?;
        }
        for c in &d.checks {
            outln!(
                "{:<6} {:<5} {}  {}",
                c.backend,
                c.device,
                if c.usable { "usable" } else { "NOT usable" },
                c.detail
            )?;
        }
    }
    Ok(ExitCode::from(super::EXIT_OK))
}
