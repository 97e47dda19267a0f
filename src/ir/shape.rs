//! Output-shape rules of every IR op, on batched shapes (axis 0 is the batch).

use super::op::{Op, Window};

/// Shape of the output of `op` given its inputs' batched shapes, or a
/// message saying why the shapes do not fit.
pub fn output_shape(op: &Op, inputs: &[&[usize]]) -> Result<Vec<usize>, String> {
    let x = *inputs.first().ok_or("op has no input")?;
    match op {
        Op::Dense(d) => {
            let (rows, cols) = d.weight.dim();
            let last = *x.last().ok_or("input has rank 0")?;
            if x.len() < 2 || last != rows {
                return Err(format!("input {x:?} does not fit weight [{rows}, {cols}]"));
            }
            let mut out = x.to_vec();
            *out.last_mut().expect("rank checked above") = cols;
            Ok(out)
        }
        Op::Conv(c) => {
            divisible_by_groups(c.weight.shape()[0], c.groups)?;
            let c_in = c.weight.shape()[1] * c.groups;
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
            let mut out = vec![x[0], c.weight.shape()[1] * c.groups];
            for a in 0..c.window.rank() {
                let w = &c.window;
                let full = (x[2 + a] - 1) * w.strides[a] + w.dilated_kernel(a) + c.output_padding[a];
                let cut = w.pad_begin(a) + w.pad_end(a);
                if full <= cut {
                    return Err(format!("padding {cut} leaves no output along spatial axis {a}"));
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
                return Err(format!("operands {x:?} and {y:?} differ in rank"));
            }
            broadcast(x, y)
        }
        Op::Concat(c) => {
            let mut out = x.to_vec();
            if c.axis == 0 || c.axis >= x.len() {
                return Err(format!("cannot concatenate along axis {} of {x:?}", c.axis));
            }
            for y in &inputs[1..] {
                let fits = y.len() == x.len() && (0..x.len()).all(|i| i == c.axis || y[i] == x[i]);
                if !fits {
                    return Err(format!("cannot concatenate {x:?} with {y:?} on axis {}", c.axis));
                }
                out[c.axis] += y[c.axis];
            }
            Ok(out)
        }
        Op::Reshape(r) => {
            let have: usize = x[1..].iter().product();
            let want: usize = r.shape.iter().product();
            if have != want {
                return Err(format!("cannot reshape {:?} to {:?}", &x[1..], r.shape));
            }
            Ok(std::iter::once(x[0]).chain(r.shape.iter().copied()).collect())
        }
        Op::Transpose(t) => {
            if t.perm.len() != x.len() || t.perm.first() != Some(&0) {
                return Err(format!("permutation {:?} does not fit {x:?} or moves the batch axis", t.perm));
            }
            Ok(t.perm.iter().map(|&p| x[p]).collect())
        }
        Op::Pad(p) => {
            if p.pads.len() != 2 * x.len() || p.pads[0] != 0 || p.pads[x.len()] != 0 {
                return Err(format!("pads {:?} do not fit {x:?} or pad the batch axis", p.pads));
            }
            Ok((0..x.len()).map(|i| x[i] + p.pads[i] + p.pads[i + x.len()]).collect())
        }
        Op::MaxPool(p) => pool_shape(x, &p.window),
        Op::AvgPool(p) => pool_shape(x, &p.window),
        Op::Softmax(s) if s.axis == 0 || s.axis >= x.len() => Err(format!("softmax axis {} invalid for {x:?}", s.axis)),
        Op::LogSoftmax(s) if s.axis == 0 || s.axis >= x.len() => {
            Err(format!("log-softmax axis {} invalid for {x:?}", s.axis))
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

fn check_channels(x: &[usize], c_in: usize, w: &Window) -> Result<(), String> {
    if x.len() != 2 + w.rank() || x[1] != c_in {
        return Err(format!("input {x:?} does not fit a {}-d kernel over {c_in} input channels", w.rank()));
    }
    Ok(())
}

fn pool_shape(x: &[usize], w: &Window) -> Result<Vec<usize>, String> {
    if x.len() != 2 + w.rank() {
        return Err(format!("input {x:?} does not fit a {}-d pooling window", w.rank()));
    }
    let mut out = x[..2].to_vec();
    for a in 0..w.rank() {
        out.push(window_output(x[2 + a], w, a)?);
    }
    Ok(out)
}

/// Output length of a window sliding over `len` elements along `axis`.
pub fn window_output(len: usize, w: &Window, axis: usize) -> Result<usize, String> {
    let padded = len + w.pad_begin(axis) + w.pad_end(axis);
    let k = w.dilated_kernel(axis);
    if w.strides[axis] == 0 || padded < k {
        return Err(format!(
            "window of extent {k} does not fit {len} elements (+{} padding) along spatial axis {axis}",
            padded - len
        ));
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
