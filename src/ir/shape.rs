//! Output-shape rules of every IR op, on batched shapes (axis 0 is the
//! batch), in checked arithmetic: an extent or an element count that would
//! overflow is an error, never a wrapped number.

use super::op::{Op, Window};

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
fn sum3(a: usize, b: usize, c: usize, what: &str) -> Result<usize, ShapeError> {
    a.checked_add(b)
        .and_then(|s| s.checked_add(c))
        .ok_or_else(|| ShapeError::TooLarge(format!("{what}: {a} + {b} + {c} overflows")))
}

/// Shape of the output of `op` given its inputs' batched shapes, or why the
/// shapes do not fit or the output would be too large.
pub fn output_shape(op: &Op, inputs: &[&[usize]]) -> Result<Vec<usize>, ShapeError> {
    let x = *inputs.first().ok_or("op has no input")?;
    match op {
        Op::Dense(d) => {
            let (rows, cols) = d.weight.dim();
            let last = *x.last().ok_or("input has rank 0")?;
            if x.len() < 2 || last != rows {
                return Err(format!("input {x:?} does not fit weight [{rows}, {cols}]").into());
            }
            let mut out = x.to_vec();
            *out.last_mut().expect("rank checked above") = cols;
            Ok(out)
        }
        Op::Conv(c) => {
            divisible_by_groups(c.weight.shape()[0], c.groups)?;
            let c_in = grouped_channels(c.weight.shape()[1], c.groups)?;
            check_channels(x, c_in, &c.window)?;
            let mut out = vec![x[0], c.weight.shape()[0]];
            for a in 0..c.window.rank() {
                out.push(window_output(x[2 + a], &c.window, a)?);
            }
            Ok(out)
        }
        Op::ConvTranspose(c) => {
            divisible_by_groups(c.weight.shape()[0], c.groups)?;
            check_channels(x, c.weight.shape()[0], &c.window)?;
            let mut out = vec![x[0], grouped_channels(c.weight.shape()[1], c.groups)?];
            for a in 0..c.window.rank() {
                let w = &c.window;
                let too_large = || ShapeError::TooLarge(format!("the output extent along spatial axis {a} overflows"));
                let strided = (x[2 + a] - 1).checked_mul(w.strides[a]).ok_or_else(too_large)?;
                let full = sum3(strided, dilated_kernel(w, a)?, c.output_padding[a], "the output extent")?;
                let cut = w.pad_begin(a).checked_add(w.pad_end(a)).ok_or_else(too_large)?;
                if full <= cut {
                    return Err(format!("padding {cut} leaves no output along spatial axis {a}").into());
                }
                out.push(full - cut);
            }
            Ok(out)
        }
        Op::Affine(a) => {
            for t in [&a.scale, &a.shift].into_iter().flatten() {
                broadcast_into(t.shape(), x)?;
            }
            Ok(x.to_vec())
        }
        Op::Add(_) => {
            let y = *inputs.get(1).ok_or("Add needs two inputs")?;
            if x.len() != y.len() {
                return Err(format!("operands {x:?} and {y:?} differ in rank").into());
            }
            Ok(broadcast(x, y)?)
        }
        Op::Concat(c) => {
            let mut out = x.to_vec();
            if c.axis == 0 || c.axis >= x.len() {
                return Err(format!("cannot concatenate along axis {} of {x:?}", c.axis).into());
            }
            for y in &inputs[1..] {
                let fits = y.len() == x.len() && (0..x.len()).all(|i| i == c.axis || y[i] == x[i]);
                if !fits {
                    return Err(format!("cannot concatenate {x:?} with {y:?} on axis {}", c.axis).into());
                }
                out[c.axis] = out[c.axis].checked_add(y[c.axis]).ok_or_else(|| {
                    ShapeError::TooLarge(format!("the concatenated extent along axis {} overflows", c.axis))
                })?;
            }
            Ok(out)
        }
        Op::Reshape(r) => {
            let have = check_sample_values(&x[1..])?;
            let want = check_sample_values(&r.shape)?;
            if have != want {
                return Err(format!("cannot reshape {:?} to {:?}", &x[1..], r.shape).into());
            }
            Ok(std::iter::once(x[0]).chain(r.shape.iter().copied()).collect())
        }
        Op::Transpose(t) => {
            if t.perm.len() != x.len() || t.perm.first() != Some(&0) {
                return Err(format!("permutation {:?} does not fit {x:?} or moves the batch axis", t.perm).into());
            }
            Ok(t.perm.iter().map(|&p| x[p]).collect())
        }
        Op::Pad(p) => {
            if p.pads.len() != 2 * x.len() || p.pads[0] != 0 || p.pads[x.len()] != 0 {
                return Err(format!("pads {:?} do not fit {x:?} or pad the batch axis", p.pads).into());
            }
            (0..x.len())
                .map(|i| sum3(x[i], p.pads[i], p.pads[i + x.len()], &format!("the padded extent of axis {i}")))
                .collect()
        }
        Op::MaxPool(p) => pool_shape(x, &p.window),
        Op::AvgPool(p) => pool_shape(x, &p.window),
        Op::Softmax(s) if s.axis == 0 || s.axis >= x.len() => {
            Err(format!("softmax axis {} invalid for {x:?}", s.axis).into())
        }
        Op::LogSoftmax(s) if s.axis == 0 || s.axis >= x.len() => {
            Err(format!("log-softmax axis {} invalid for {x:?}", s.axis).into())
        }
        Op::Relu(_) | Op::LeakyRelu(_) | Op::Sigmoid(_) | Op::Tanh(_) | Op::Softmax(_) | Op::LogSoftmax(_) => {
            Ok(x.to_vec())
        }
    }
}

fn divisible_by_groups(channels: usize, groups: usize) -> Result<(), String> {
    if !channels.is_multiple_of(groups) {
        return Err(format!("the weight's {channels} channels are not divisible by group {groups}"));
    }
    Ok(())
}

/// The channels of a grouped convolution's weight axis times its groups.
fn grouped_channels(per_group: usize, groups: usize) -> Result<usize, ShapeError> {
    per_group
        .checked_mul(groups)
        .ok_or_else(|| ShapeError::TooLarge(format!("{per_group} channels times group {groups} overflows")))
}

/// The extent of the dilated kernel along `axis`, checked.
fn dilated_kernel(w: &Window, axis: usize) -> Result<usize, ShapeError> {
    w.dilations[axis]
        .checked_mul(w.kernel[axis].saturating_sub(1))
        .and_then(|d| d.checked_add(1))
        .ok_or_else(|| ShapeError::TooLarge(format!("the dilated kernel along spatial axis {axis} overflows")))
}

fn check_channels(x: &[usize], c_in: usize, w: &Window) -> Result<(), String> {
    if x.len() != 2 + w.rank() || x[1] != c_in {
        return Err(format!("input {x:?} does not fit a {}-d kernel over {c_in} input channels", w.rank()));
    }
    Ok(())
}

fn pool_shape(x: &[usize], w: &Window) -> Result<Vec<usize>, ShapeError> {
    if x.len() != 2 + w.rank() {
        return Err(format!("input {x:?} does not fit a {}-d pooling window", w.rank()).into());
    }
    let mut out = x[..2].to_vec();
    for a in 0..w.rank() {
        out.push(window_output(x[2 + a], w, a)?);
    }
    Ok(out)
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
