//! CSV datasets for tabular models: a header row, then one row per sample;
//! the column named `label` holds the class, the other columns the features
//! in their order.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};

/// The name of the class column.
pub const LABEL_COLUMN: &str = "label";

/// Features (`[samples, ...shape]`) and labels parsed from a CSV.
pub struct Table {
    pub features: ArrayD<f32>,
    pub labels: Vec<usize>,
}

/// Whether `path` names a CSV file (by its extension).
pub fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Reads the CSV `path` for a model input of per-sample shape `shape`
/// (`None`: as many values as the file has feature columns), with the
/// SHA-256 of the file.
pub fn read(path: &Path, shape: Option<&[usize]>) -> Result<(Table, String)> {
    let bytes = crate::input::read(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| Error::data(path, format!("not UTF-8 text: {e}")))?;
    let features = text.lines().find(|l| !l.trim().is_empty()).map_or(0, |h| h.split(',').count().saturating_sub(1));
    let table = parse(path, text, shape.unwrap_or(&[features]))?;
    Ok((table, crate::input::sha256_hex(&bytes)))
}

/// A header cell without its blanks and quotes.
fn column_name(cell: &str) -> &str {
    let cell = cell.trim();
    cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')).unwrap_or(cell)
}

/// Parses the CSV `text` (read from `path`) for a model input of per-sample
/// shape `shape`; blank lines are skipped.
pub fn parse(path: &Path, text: &str, shape: &[usize]) -> Result<Table> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(Error::data(path, "the CSV is empty (expected a header row)"));
    };
    let columns: Vec<&str> = header.split(',').map(column_name).collect();
    let label_at = columns.iter().position(|c| *c == LABEL_COLUMN).ok_or_else(|| {
        Error::data(path, format!("line 1: the header names no column `{LABEL_COLUMN}` (the class of each row)"))
    })?;
    let size: usize = shape.iter().product();
    if columns.len() - 1 != size {
        return Err(Error::data(
            path,
            format!(
                "line 1: {} feature columns, the model's input takes {size} values (shape {shape:?})",
                columns.len() - 1
            ),
        ));
    }
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for (at, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let place = |column: usize| format!("line {}, column {} (`{}`)", at + 1, column + 1, columns[column]);
        if cells.len() != columns.len() {
            return Err(Error::data(
                path,
                format!("line {}: {} cells where the header has {} columns", at + 1, cells.len(), columns.len()),
            ));
        }
        for (column, cell) in cells.iter().enumerate() {
            let value = cell.trim().parse::<f64>().ok().filter(|v| v.is_finite() && (*v as f32).is_finite());
            let Some(value) = value else {
                return Err(Error::data(path, format!("{}: `{}` is not a finite number", place(column), cell.trim())));
            };
            if column != label_at {
                features.push(value as f32);
            } else if value >= 0.0 && value.fract() == 0.0 {
                labels.push(value as usize);
            } else {
                return Err(Error::data(
                    path,
                    format!("{}: {value} is not a class index (a non-negative integer)", place(column)),
                ));
            }
        }
    }
    let mut full = vec![labels.len()];
    full.extend_from_slice(shape);
    let features = ArrayD::from_shape_vec(IxDyn(&full), features).map_err(|e| Error::data(path, e.to_string()))?;
    Ok(Table { features, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(Path::new("d.csv"), text, &[2]).err().unwrap().to_string()
    }

    #[test]
    fn the_label_column_may_stand_anywhere() {
        let t = parse(Path::new("d.csv"), "a,label,\"b\"\r\n1,2,3e-1\n\n4.5,0,-6\n", &[2]).unwrap();
        assert_eq!(t.labels, vec![2, 0]);
        assert_eq!(t.features.into_raw_vec_and_offset().0, vec![1.0, 0.3, 4.5, -6.0]);
    }

    #[test]
    fn problems_name_the_line_and_the_column() {
        assert!(err("").ends_with("d.csv: the CSV is empty (expected a header row)"));
        assert!(err("a,b,c\n").contains("line 1: the header names no column `label`"));
        assert!(err("a,label\n").contains("line 1: 1 feature columns, the model's input takes 2 values"));
        assert!(err("a,b,label\n1,2,3\n1,2\n").ends_with("line 3: 2 cells where the header has 3 columns"));
        assert!(err("a,b,label\n1,x,3\n").ends_with("line 2, column 2 (`b`): `x` is not a finite number"));
        assert!(err("a,b,label\n1,nan,3\n").ends_with("line 2, column 2 (`b`): `nan` is not a finite number"));
        assert!(err("a,b,label\n1,2,1.5\n")
            .ends_with("line 2, column 3 (`label`): 1.5 is not a class index (a non-negative integer)"));
    }
}
