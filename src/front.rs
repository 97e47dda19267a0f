//! The front end shared by the commands that search (run, audit, falsify,
//! bench): the model imported and checked against the memory limit, the
//! settings resolved and validated from a goal and the command-line
//! overrides, and a ready engine that runs the goal's graphs on the
//! selected backend with those settings.

use std::path::Path;

use crate::error::Result;
use crate::goal::schema::MethodBlock;
use crate::goal::Goal;
use crate::memory::{self, MemoryLimit};
use crate::onnx::ImportedModel;
use crate::optim::engine::Engine;
use crate::optim::{InvalidSettings, Settings};
use crate::runtime::select::Runtime;
use crate::runtime::Backend;

/// Imports the model at `path` and checks that `command` can hold it
/// within `limit` (before a goal, whose data is sized by the model).
pub fn import_model(path: &Path, limit: &MemoryLimit, command: &str) -> Result<ImportedModel> {
    within_memory(crate::onnx::import(path)?, limit, command)
}

/// `model` (imported by the command, e.g. from a gzipped file) once
/// `command` can hold it within `limit`.
pub fn within_memory(model: ImportedModel, limit: &MemoryLimit, command: &str) -> Result<ImportedModel> {
    limit.check(command, &memory::model_estimate(&model.graph, Runtime::Tract))?;
    Ok(model)
}

/// The validated settings of a search on `goal` (the first goal of a
/// batch decides) in `model`: `overrides` over the goal's method block over
/// the defaults of its kind.
pub fn settings(
    model: &ImportedModel,
    goal: &Goal,
    overrides: &MethodBlock,
) -> std::result::Result<Settings, InvalidSettings> {
    Settings::resolve(goal, overrides, crate::surrogate::total_neurons(&model.graph))
}

/// An engine that runs `model`'s graphs on `backend` for `rows` rows of
/// goals like `goal` (the tensors its objective reads and reports), its
/// gates as sharp as `settings` say.
pub fn engine<'m>(
    model: &'m ImportedModel,
    backend: &'m dyn Backend,
    goal: &Goal,
    settings: &Settings,
    rows: usize,
) -> Engine<'m> {
    Engine::new(model, backend, goal.target, goal.output, rows, settings.alpha)
}
