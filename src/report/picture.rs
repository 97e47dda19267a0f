//! Pictures of input samples: turns one sample of a float tensor into a PNG a
//! person can look at — the sample itself (grayscale or RGB), a perturbation
//! as a red/white/blue diverging map with its colour bar, samples side by
//! side (target | decoded output), and original | adversarial | perturbation.
//! Owns guessing whether a tensor shape is an image at all.

use std::io::Cursor;
use std::path::Path;

use image::{imageops, DynamicImage, ImageBuffer, ImageFormat, Luma, Pixel, Rgb, RgbImage};
use ndarray::{s, ArrayView1, ArrayView3, ArrayViewD, Axis, Ix2, Ix3};

use super::plot::{beside_colour_bar, ColourBar};
use super::PictureError;

/// Smallest height or width that `image_layout` takes for an image.
const MIN_SIDE: usize = 4;
const TRIPTYCH_GAP: u32 = 2;
/// White pixels between the panels of [`write_side_by_side_png`].
const PANEL_GAP: u32 = 8;
/// Colours in the colour bar of a perturbation, from `+saturation` down.
const COLOUR_BAR_STEPS: usize = 101;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// How a sample's shape maps to an image (the batch axis already removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[channels, height, width]`, as in NCHW.
    Chw,
    /// `[height, width, channels]`, as in NHWC.
    Hwc,
    /// `[height, width]`: one grayscale plane.
    Hw,
}

impl Layout {
    fn axes(self) -> &'static str {
        match self {
            Layout::Chw => "[C, H, W]",
            Layout::Hwc => "[H, W, C]",
            Layout::Hw => "[H, W]",
        }
    }
}

/// Guesses the layout of a per-sample shape: `[1|3, H, W]` is `Chw`,
/// `[H, W, 1|3]` is `Hwc`, `[H, W]` is `Hw`. `None` when it is not an image
/// (e.g. `[784]` or `[10]`), also when H or W is below 4.
pub fn image_layout(shape: &[usize]) -> Option<Layout> {
    let is_channels = |n: usize| n == 1 || n == 3;
    let is_side = |n: usize| n >= MIN_SIDE;
    match *shape {
        [c, h, w] if is_channels(c) && is_side(h) && is_side(w) => Some(Layout::Chw),
        [h, w, c] if is_side(h) && is_side(w) && is_channels(c) => Some(Layout::Hwc),
        [h, w] if is_side(h) && is_side(w) => Some(Layout::Hw),
        _ => None,
    }
}

/// Writes a grayscale (1 channel) or RGB (3 channels) PNG of one sample,
/// mapping `[lo, hi]` linearly to 0..255 (clamped; NaN is black). Each value
/// becomes a `scale` x `scale` block of pixels.
pub fn write_image_png(
    path: &Path,
    data: ArrayViewD<f32>,
    layout: Layout,
    lo: f32,
    hi: f32,
    scale: u32,
) -> Result<(), PictureError> {
    let bytes = image_png_bytes(data, layout, lo, hi, scale)?;
    write_file(path, &bytes)
}

/// The PNG that `write_image_png` writes, in memory (e.g. for base64 in HTML).
pub fn image_png_bytes(
    data: ArrayViewD<f32>,
    layout: Layout,
    lo: f32,
    hi: f32,
    scale: u32,
) -> Result<Vec<u8>, PictureError> {
    let range = IntensityRange::new(lo, hi)?;
    let image = intensity_image(hwc_view(data, layout)?, &range, scale)?;
    png_bytes(&image)
}

/// Writes a perturbation of one sample as an RGB PNG: 0 is white, positive
/// red, negative blue, saturating at the largest magnitude present so that a
/// tiny perturbation is still visible. Channels are averaged per pixel. The
/// image sits top left; a colour bar labelled with the saturation (`+s`, 0,
/// `-s`) stands to its right.
pub fn write_perturbation_png(
    path: &Path,
    delta: ArrayViewD<f32>,
    layout: Layout,
    scale: u32,
) -> Result<(), PictureError> {
    let hwc = hwc_view(delta, layout)?;
    let saturation = largest_magnitude(hwc);
    let image = perturbation_image(hwc, scale)?;
    let bar = ColourBar { saturation: f64::from(saturation), colours: colour_bar_colours(saturation) };
    write_file(path, &png_bytes(&DynamicImage::ImageRgb8(beside_colour_bar(&image, &bar)?))?)
}

/// The colours of `diverging_colour` from `+saturation` down to `-saturation`.
fn colour_bar_colours(saturation: f32) -> Vec<[u8; 3]> {
    let step = |i: usize| 1.0 - 2.0 * i as f32 / (COLOUR_BAR_STEPS - 1) as f32;
    (0..COLOUR_BAR_STEPS).map(|i| diverging_colour(step(i) * saturation, saturation).0).collect()
}

/// Writes samples of one shape side by side, left to right, 8 white pixels
/// apart, all drawn over the same `[lo, hi]` (e.g. a reconstruction's target
/// beside the decoded output), as one RGB PNG.
pub fn write_side_by_side_png(
    path: &Path,
    samples: &[ArrayViewD<f32>],
    layout: Layout,
    lo: f32,
    hi: f32,
    scale: u32,
) -> Result<(), PictureError> {
    let range = IntensityRange::new(lo, hi)?;
    let panels = samples
        .iter()
        .map(|sample| Ok(intensity_image(hwc_view(sample.view(), layout)?, &range, scale)?.to_rgb8()))
        .collect::<Result<Vec<_>, PictureError>>()?;
    write_file(path, &png_bytes(&DynamicImage::ImageRgb8(side_by_side(&panels, PANEL_GAP)?))?)
}

/// Original | adversarial | perturbation (adversarial - original) side by
/// side with a white gap of 2 pixels, as one RGB PNG encoded in memory.
pub fn triptych_png_bytes(
    original: ArrayViewD<f32>,
    adversarial: ArrayViewD<f32>,
    layout: Layout,
    lo: f32,
    hi: f32,
    scale: u32,
) -> Result<Vec<u8>, PictureError> {
    if original.shape() != adversarial.shape() {
        return Err(PictureError::ShapeMismatch {
            original: original.shape().to_vec(),
            adversarial: adversarial.shape().to_vec(),
        });
    }
    let range = IntensityRange::new(lo, hi)?;
    let perturbation = &adversarial - &original;
    let panels = [
        intensity_image(hwc_view(original, layout)?, &range, scale)?.to_rgb8(),
        intensity_image(hwc_view(adversarial, layout)?, &range, scale)?.to_rgb8(),
        perturbation_image(hwc_view(perturbation.view(), layout)?, scale)?,
    ];
    let triptych = side_by_side(&panels, TRIPTYCH_GAP)?;
    png_bytes(&DynamicImage::ImageRgb8(triptych))
}

/// The sample as `[height, width, channels]`, whatever its layout.
fn hwc_view(data: ArrayViewD<f32>, layout: Layout) -> Result<ArrayView3<f32>, PictureError> {
    let shape = data.shape().to_vec();
    let not_an_image = || PictureError::NotAnImage { shape: shape.clone(), layout: layout.axes() };
    let hwc = match layout {
        Layout::Chw => data.into_dimensionality::<Ix3>().map_err(|_| not_an_image())?.permuted_axes([1, 2, 0]),
        Layout::Hwc => data.into_dimensionality::<Ix3>().map_err(|_| not_an_image())?,
        Layout::Hw => data.into_dimensionality::<Ix2>().map_err(|_| not_an_image())?.insert_axis(Axis(2)),
    };
    let (height, width, channels) = hwc.dim();
    if height == 0 || width == 0 || !(channels == 1 || channels == 3) {
        return Err(not_an_image());
    }
    Ok(hwc)
}

/// The linear map from `[lo, hi]` to 0..255.
struct IntensityRange {
    lo: f32,
    span: f32,
}

impl IntensityRange {
    fn new(lo: f32, hi: f32) -> Result<Self, PictureError> {
        let span = hi - lo;
        if !(lo.is_finite() && hi.is_finite() && span > 0.0 && span.is_finite()) {
            return Err(PictureError::InvalidRange { lo, hi });
        }
        Ok(IntensityRange { lo, span })
    }

    fn to_byte(&self, value: f32) -> u8 {
        if value.is_nan() {
            return 0;
        }
        let unit = ((value - self.lo) / self.span).clamp(0.0, 1.0);
        (unit * 255.0).round() as u8
    }
}

fn intensity_image(hwc: ArrayView3<f32>, range: &IntensityRange, scale: u32) -> Result<DynamicImage, PictureError> {
    if hwc.dim().2 == 1 {
        let gray = render_scaled(hwc, scale, |value| Luma([range.to_byte(value[0])]))?;
        Ok(DynamicImage::ImageLuma8(gray))
    } else {
        let rgb = render_scaled(hwc, scale, |value| {
            Rgb([range.to_byte(value[0]), range.to_byte(value[1]), range.to_byte(value[2])])
        })?;
        Ok(DynamicImage::ImageRgb8(rgb))
    }
}

fn perturbation_image(hwc: ArrayView3<f32>, scale: u32) -> Result<RgbImage, PictureError> {
    let saturation = largest_magnitude(hwc);
    render_scaled(hwc, scale, |value| diverging_colour(channel_mean(value), saturation))
}

fn channel_mean(channels: ArrayView1<f32>) -> f32 {
    channels.sum() / channels.len() as f32
}

/// The largest finite |channel mean| over all pixels; 0 when there is none.
fn largest_magnitude(hwc: ArrayView3<f32>) -> f32 {
    hwc.lanes(Axis(2))
        .into_iter()
        .map(channel_mean)
        .filter(|mean| mean.is_finite())
        .fold(0.0, |largest, mean| largest.max(mean.abs()))
}

/// White at 0, fading to pure red at `+saturation` and pure blue at `-saturation`.
fn diverging_colour(value: f32, saturation: f32) -> Rgb<u8> {
    if value.is_nan() || saturation <= 0.0 {
        return WHITE;
    }
    let strength = (value.abs() / saturation).min(1.0);
    let faded = ((1.0 - strength) * 255.0).round() as u8;
    if value > 0.0 {
        Rgb([255, faded, faded])
    } else {
        Rgb([faded, faded, 255])
    }
}

/// One `scale` x `scale` block per `[height, width]` position, coloured from
/// that position's channel values.
fn render_scaled<P: Pixel<Subpixel = u8>>(
    hwc: ArrayView3<f32>,
    scale: u32,
    colour: impl Fn(ArrayView1<f32>) -> P,
) -> Result<ImageBuffer<P, Vec<u8>>, PictureError> {
    if scale == 0 {
        return Err(PictureError::InvalidScale(scale));
    }
    let (height, width, _) = hwc.dim();
    let scaled = |side: usize| (side as u64).saturating_mul(u64::from(scale));
    let (scaled_width, scaled_height) = checked_image_size(scaled(width), scaled(height))?;
    Ok(ImageBuffer::from_fn(scaled_width, scaled_height, |x, y| {
        let (row, column) = ((y / scale) as usize, (x / scale) as usize);
        colour(hwc.slice(s![row, column, ..]))
    }))
}

/// The size as `u32`s, when a buffer of that many RGB pixels can exist.
fn checked_image_size(width: u64, height: u64) -> Result<(u32, u32), PictureError> {
    let too_large = || PictureError::TooLarge { width, height };
    let narrow_width = u32::try_from(width).map_err(|_| too_large())?;
    let narrow_height = u32::try_from(height).map_err(|_| too_large())?;
    let rgb_bytes = width.checked_mul(height).and_then(|pixels| pixels.checked_mul(3)).ok_or_else(too_large)?;
    usize::try_from(rgb_bytes).map_err(|_| too_large())?;
    Ok((narrow_width, narrow_height))
}

/// The panels left to right, top-aligned, `gap` white pixels apart.
fn side_by_side(panels: &[RgbImage], gap: u32) -> Result<RgbImage, PictureError> {
    let gaps = u64::from(gap) * panels.len().saturating_sub(1) as u64;
    let width = panels.iter().map(|panel| u64::from(panel.width())).sum::<u64>() + gaps;
    let height = panels.iter().map(|panel| u64::from(panel.height())).max().unwrap_or(0);
    let (width, height) = checked_image_size(width, height)?;
    let mut canvas = RgbImage::from_pixel(width, height, WHITE);
    let mut left = 0i64;
    for panel in panels {
        imageops::replace(&mut canvas, panel, left, 0);
        left += i64::from(panel.width()) + i64::from(gap);
    }
    Ok(canvas)
}

fn png_bytes(image: &DynamicImage) -> Result<Vec<u8>, PictureError> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)?;
    Ok(bytes)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PictureError> {
    crate::output::write_atomically(path, |w| w.write_all(bytes))
        .map_err(|source| PictureError::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GenericImageView;
    use ndarray::{Array, ArrayD, IxDyn};

    const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
    const RED: Rgb<u8> = Rgb([255, 0, 0]);
    const BLUE: Rgb<u8> = Rgb([0, 0, 255]);

    fn zeros(shape: &[usize]) -> ArrayD<f32> {
        ArrayD::zeros(IxDyn(shape))
    }

    fn rgb_at(image: &DynamicImage, x: u32, y: u32) -> Rgb<u8> {
        image.get_pixel(x, y).to_rgb()
    }

    #[test]
    fn layout_is_guessed_from_image_shapes() {
        assert_eq!(image_layout(&[1, 28, 28]), Some(Layout::Chw));
        assert_eq!(image_layout(&[3, 32, 32]), Some(Layout::Chw));
        assert_eq!(image_layout(&[32, 32, 3]), Some(Layout::Hwc));
        assert_eq!(image_layout(&[28, 28, 1]), Some(Layout::Hwc));
        assert_eq!(image_layout(&[28, 28]), Some(Layout::Hw));
    }

    #[test]
    fn layout_is_none_for_vectors_and_tiny_or_odd_shapes() {
        assert_eq!(image_layout(&[784]), None);
        assert_eq!(image_layout(&[10]), None);
        assert_eq!(image_layout(&[1, 784]), None);
        assert_eq!(image_layout(&[3, 2, 2]), None);
        assert_eq!(image_layout(&[2, 28, 28]), None);
        assert_eq!(image_layout(&[1, 1, 28, 28]), None);
        assert_eq!(image_layout(&[]), None);
    }

    #[test]
    fn mnist_sample_becomes_scaled_grayscale_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnist.png");
        let mut sample = zeros(&[1, 28, 28]);
        sample[[0, 0, 1]] = 1.0;
        sample[[0, 27, 27]] = 2.0;
        sample[[0, 10, 10]] = 0.5;
        write_image_png(&path, sample.view(), Layout::Chw, 0.0, 1.0, 4).unwrap();

        let image = image::open(&path).unwrap();
        assert_eq!(image.dimensions(), (112, 112));
        let gray = image.as_luma8().expect("grayscale PNG");
        assert_eq!(gray.get_pixel(0, 0).0, [0]);
        assert_eq!(gray.get_pixel(4, 0).0, [255]);
        assert_eq!(gray.get_pixel(7, 3).0, [255]);
        assert_eq!(gray.get_pixel(8, 0).0, [0]);
        assert_eq!(gray.get_pixel(111, 111).0, [255], "clamped above hi");
        assert_eq!(gray.get_pixel(41, 41).0, [128]);
    }

    #[test]
    fn hwc_sample_becomes_rgb_png_in_memory() {
        let mut sample = zeros(&[32, 32, 3]);
        sample[[0, 0, 0]] = 1.0;
        sample[[31, 0, 2]] = 1.0;
        sample[[5, 6, 0]] = -1.0;
        let bytes = image_png_bytes(sample.view(), Layout::Hwc, -1.0, 1.0, 1).unwrap();

        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!(image.dimensions(), (32, 32));
        assert!(image.as_rgb8().is_some());
        assert_eq!(rgb_at(&image, 0, 0), Rgb([255, 128, 128]));
        assert_eq!(rgb_at(&image, 0, 31), Rgb([128, 128, 255]));
        assert_eq!(rgb_at(&image, 6, 5), Rgb([0, 128, 128]));
    }

    #[test]
    fn chw_rgb_channels_are_taken_from_the_first_axis() {
        let mut sample = zeros(&[3, 4, 5]);
        sample.slice_mut(s![0, .., ..]).fill(1.0);
        let bytes = image_png_bytes(sample.view(), Layout::Chw, 0.0, 1.0, 2).unwrap();

        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!(image.dimensions(), (10, 8));
        assert_eq!(rgb_at(&image, 9, 7), RED);
    }

    #[test]
    fn hw_plane_and_nan_values_render_black() {
        let mut plane = Array::from_elem((6, 6), 1.0f32).into_dyn();
        plane[[2, 3]] = f32::NAN;
        let bytes = image_png_bytes(plane.view(), Layout::Hw, 0.0, 1.0, 1).unwrap();

        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!(rgb_at(&image, 3, 2), BLACK);
        assert_eq!(rgb_at(&image, 0, 0), WHITE);
    }

    #[test]
    fn perturbation_is_red_positive_blue_negative_white_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delta.png");
        let mut delta = zeros(&[1, 28, 28]);
        delta[[0, 0, 0]] = 1e-6;
        delta[[0, 0, 1]] = -1e-6;
        delta[[0, 0, 2]] = 5e-7;
        write_perturbation_png(&path, delta.view(), Layout::Chw, 2).unwrap();

        let image = image::open(&path).unwrap();
        assert_eq!(image.dimensions().1, 56.max(crate::report::plot::COLOUR_BAR_MIN_HEIGHT));
        assert!(image.dimensions().0 > 56, "room for the colour bar");
        assert_eq!(rgb_at(&image, 1, 1), RED);
        assert_eq!(rgb_at(&image, 2, 0), BLUE);
        assert_eq!(rgb_at(&image, 4, 0), Rgb([255, 128, 128]));
        assert_eq!(rgb_at(&image, 30, 30), WHITE);
    }

    #[test]
    fn perturbation_of_rgb_uses_channel_mean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delta_rgb.png");
        let mut delta = zeros(&[8, 8, 3]);
        delta[[0, 0, 0]] = 3.0;
        delta[[1, 1, 0]] = -3.0;
        delta[[2, 2, 0]] = 3.0;
        delta[[2, 2, 1]] = -3.0;
        write_perturbation_png(&path, delta.view(), Layout::Hwc, 1).unwrap();

        let image = image::open(&path).unwrap();
        assert_eq!(rgb_at(&image, 0, 0), RED);
        assert_eq!(rgb_at(&image, 1, 1), BLUE);
        assert_eq!(rgb_at(&image, 2, 2), WHITE);
    }

    #[test]
    fn all_zero_perturbation_is_white() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.png");
        write_perturbation_png(&path, zeros(&[5, 5]).view(), Layout::Hw, 1).unwrap();

        let image = image::open(&path).unwrap().to_rgb8();
        let sample = imageops::crop_imm(&image, 0, 0, 5, 5).to_image();
        assert!(sample.pixels().all(|pixel| *pixel == WHITE));
    }

    /// The colour bar's column: the first column right of the sample that
    /// holds pure red.
    fn colour_bar_column(image: &RgbImage, sample_width: u32) -> Vec<Rgb<u8>> {
        let x = (sample_width..image.width())
            .find(|&x| (0..image.height()).any(|y| *image.get_pixel(x, y) == RED))
            .expect("a colour bar with pure red");
        (0..image.height()).map(|y| *image.get_pixel(x, y)).collect()
    }

    #[test]
    fn perturbation_has_a_colour_bar_from_red_through_white_to_blue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delta.png");
        let mut delta = zeros(&[1, 28, 28]);
        delta[[0, 3, 3]] = 0.25;
        delta[[0, 4, 4]] = -0.1;
        write_perturbation_png(&path, delta.view(), Layout::Chw, 8).unwrap();

        let image = image::open(&path).unwrap().to_rgb8();
        assert_eq!(image.height(), 224);
        let column = colour_bar_column(&image, 224);
        let first_from =
            |from: usize, colour: Rgb<u8>| from + column[from..].iter().position(|&c| c == colour).unwrap();
        let red = first_from(0, RED);
        let white = first_from(red, WHITE);
        let blue = first_from(white, BLUE);
        assert!(red < white && white < blue, "red {red}, white {white}, blue {blue}");
        let labels = imageops::crop_imm(&image, 224 + 30, 0, image.width() - 254, 224).to_image();
        assert!(labels.pixels().filter(|p| p.0[0] < 100).count() > 50, "labels +s, 0, -s");
    }

    #[test]
    fn triptych_places_original_adversarial_perturbation_with_gap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("triptych.png");
        let original = zeros(&[1, 28, 28]);
        let mut adversarial = original.clone();
        adversarial[[0, 0, 0]] = 0.25;
        adversarial[[0, 0, 1]] = -0.5;
        let bytes = triptych_png_bytes(original.view(), adversarial.view(), Layout::Chw, 0.0, 1.0, 4).unwrap();
        std::fs::write(&path, bytes).unwrap();

        let image = image::open(&path).unwrap();
        assert_eq!(image.dimensions(), (3 * 112 + 2 * 2, 112));
        assert_eq!(rgb_at(&image, 0, 0), BLACK, "original");
        assert_eq!(rgb_at(&image, 112, 0), WHITE, "gap");
        assert_eq!(rgb_at(&image, 113, 0), WHITE, "gap");
        assert_eq!(rgb_at(&image, 114, 0), Rgb([64, 64, 64]), "adversarial");
        assert_eq!(rgb_at(&image, 118, 0), BLACK, "adversarial clamped");
        let perturbation_left = 2 * (112 + 2);
        assert_eq!(rgb_at(&image, perturbation_left, 0), Rgb([255, 128, 128]));
        assert_eq!(rgb_at(&image, perturbation_left + 4, 0), BLUE);
        assert_eq!(rgb_at(&image, perturbation_left + 50, 50), WHITE);
    }

    #[test]
    fn side_by_side_draws_each_sample_over_one_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pair.png");
        let target = zeros(&[1, 28, 28]);
        let mut decoded = zeros(&[1, 28, 28]);
        decoded[[0, 0, 0]] = 1.0;
        write_side_by_side_png(&path, &[target.view(), decoded.view()], Layout::Chw, 0.0, 1.0, 2).unwrap();

        let image = image::open(&path).unwrap();
        assert_eq!(image.dimensions(), (2 * 56 + PANEL_GAP, 56));
        assert_eq!(rgb_at(&image, 0, 0), BLACK, "target");
        assert_eq!(rgb_at(&image, 56, 0), WHITE, "gap");
        assert_eq!(rgb_at(&image, 56 + PANEL_GAP, 0), WHITE, "decoded at 1.0");
        assert_eq!(rgb_at(&image, 56 + PANEL_GAP + 2, 0), BLACK, "decoded at 0");
    }

    #[test]
    fn triptych_rejects_different_shapes() {
        let result =
            triptych_png_bytes(zeros(&[1, 28, 28]).view(), zeros(&[1, 28, 27]).view(), Layout::Chw, 0.0, 1.0, 1);
        assert!(matches!(result, Err(PictureError::ShapeMismatch { .. })));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let sample = zeros(&[1, 28, 28]);
        let view = || sample.view();
        assert!(matches!(image_png_bytes(view(), Layout::Hwc, 0.0, 1.0, 1), Err(PictureError::NotAnImage { .. })));
        assert!(matches!(image_png_bytes(view(), Layout::Hw, 0.0, 1.0, 1), Err(PictureError::NotAnImage { .. })));
        assert!(matches!(
            image_png_bytes(zeros(&[2, 8, 8]).view(), Layout::Chw, 0.0, 1.0, 1),
            Err(PictureError::NotAnImage { .. })
        ));
        assert!(matches!(
            image_png_bytes(zeros(&[0, 8]).view(), Layout::Hw, 0.0, 1.0, 1),
            Err(PictureError::NotAnImage { .. })
        ));
        assert!(matches!(image_png_bytes(view(), Layout::Chw, 1.0, 1.0, 1), Err(PictureError::InvalidRange { .. })));
        assert!(matches!(
            image_png_bytes(view(), Layout::Chw, f32::NAN, 1.0, 1),
            Err(PictureError::InvalidRange { .. })
        ));
        assert!(matches!(image_png_bytes(view(), Layout::Chw, 0.0, 1.0, 0), Err(PictureError::InvalidScale(0))));
        assert!(matches!(image_png_bytes(view(), Layout::Chw, 0.0, 1.0, u32::MAX), Err(PictureError::TooLarge { .. })));
        let one = ndarray::arr1(&[0.0f32]);
        let huge = one.broadcast((1 << 40, 8)).unwrap();
        assert!(matches!(
            image_png_bytes(huge.into_dyn(), Layout::Hw, 0.0, 1.0, 2),
            Err(PictureError::TooLarge { .. })
        ));
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("image.png");
        let result = write_image_png(&path, zeros(&[8, 8]).view(), Layout::Hw, 0.0, 1.0, 1);
        assert!(matches!(result, Err(PictureError::Write { .. })));
    }
}
