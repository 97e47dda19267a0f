//! What the ops' output-shape rules share, on batched shapes (axis 0 is
//! the batch), in checked arithmetic: an extent or an element count that
//! would overflow is an error, never a wrapped number. Each op's own rule
//! is its [`super::spec::OpSpec::output_shape`], beside its lowering.

use super::op::Window;

/// The most values one sample of a tensor may hold: 2^48, 1 PiB of float32,
/// far beyond any machine's memory, and low enough that sums of a graph's
/// tensors stay far from `usize`'s overflow. What fits the memory is the
/// memory estimate's concern (`crate::memory`), not this cap's.
pub const MAX_SAMPLE_VALUES: usize = 1 << 48;

/// Why an op's output shape cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// The inputs do not fit the op.
    Mismatch(String),
    /// An extent or the element count overflows, or the count passes
    /// [`MAX_SAMPLE_VALUES`].
    TooLarge(String),
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShapeError::Mismatch(m) | ShapeError::TooLarge(m) => f.write_str(m),
        }
    }
}

impl From<String> for ShapeError {
    fn from(m: String) -> Self {
        ShapeError::Mismatch(m)
    }
}

impl From<&str> for ShapeError {
    fn from(m: &str) -> Self {
        ShapeError::Mismatch(m.to_string())
    }
}

impl From<ShapeError> for String {
    fn from(e: ShapeError) -> Self {
        e.to_string()
    }
}

/// The values of one sample of `shape` (the batch axis left out), if the
/// count neither overflows nor passes [`MAX_SAMPLE_VALUES`].
pub fn sample_values(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_SAMPLE_VALUES)
}

/// Checks the values of one sample of `shape` (the batch axis left out).
pub fn check_sample_values(shape: &[usize]) -> Result<usize, ShapeError> {
    sample_values(shape).ok_or_else(|| {
        ShapeError::TooLarge(format!(
            "shape {shape:?} holds more than 2^48 values per sample, more than adr-onnx computes with"
        ))
    })
}

/// `a + b + c`, or an error naming `what` when it overflows.
pub fn sum3(a: usize, b: usize, c: usize, what: &str) -> Result<usize, ShapeError> {
    a.checked_add(b)
        .and_then(|s| s.checked_add(c))
        .ok_or_else(|| ShapeError::TooLarge(format!("{what}: {a} + {b} + {c} overflows")))
}

/// The extent of the dilated kernel along `axis`, checked.
pub fn dilated_kernel(w: &Window, axis: usize) -> Result<usize, ShapeError> {
    w.dilations[axis]
        .checked_mul(w.kernel[axis].saturating_sub(1))
        .and_then(|d| d.checked_add(1))
        .ok_or_else(|| ShapeError::TooLarge(format!("the dilated kernel along spatial axis {axis} overflows")))
}

/// Output length of a window sliding over `len` elements along `axis`.
pub fn window_output(len: usize, w: &Window, axis: usize) -> Result<usize, ShapeError> {
    let padded = sum3(len, w.pad_begin(axis), w.pad_end(axis), &format!("the padded extent of spatial axis {axis}"))?;
    let k = dilated_kernel(w, axis)?;
    if w.strides[axis] == 0 || padded < k {
        return Err(format!(
            "window of extent {k} does not fit {len} elements (+{} padding) along spatial axis {axis}",
            padded - len
        )
        .into());
    }
    Ok((padded - k) / w.strides[axis] + 1)
}

/// Numpy broadcast of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        let off = rank - s.len();
        if i < off {
            1
        } else {
            s[i - off]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (p, q) if p == q => Ok(p),
            (1, q) => Ok(q),
            (p, 1) => Ok(p),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// Checks that a constant of shape `c` broadcasts into `x` without growing
/// it, and without a batch dimension of its own.
pub fn broadcast_into(c: &[usize], x: &[usize]) -> Result<(), String> {
    let grown = broadcast(c, x)?;
    if grown != x || (c.len() == x.len() && c.first().is_some_and(|&b| b != 1)) {
        return Err(format!("constant of shape {c:?} does not broadcast onto {x:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(k: usize, s: usize, p: usize) -> Window {
        Window { kernel: vec![k, k], strides: vec![s, s], dilations: vec![1, 1], pads: vec![p; 4] }
    }

    #[test]
    fn window_output_matches_onnx_formula() {
        let w = window(10, 1, 0);
        assert_eq!(window_output(28, &w, 0), Ok(19));
        let w = window(3, 2, 1);
        assert_eq!(window_output(7, &w, 0), Ok(4));
        assert!(window_output(2, &window(5, 1, 0), 0).is_err());
    }

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast(&[2, 3, 4], &[3, 1]), Ok(vec![2, 3, 4]));
        assert!(broadcast(&[2, 3], &[4]).is_err());
        assert!(broadcast_into(&[1, 3, 1, 1], &[2, 3, 5, 5]).is_ok());
        assert!(broadcast_into(&[2, 3, 1, 1], &[2, 3, 5, 5]).is_err());
        assert!(broadcast_into(&[3, 5, 6], &[2, 3, 5, 5]).is_err());
    }
}
