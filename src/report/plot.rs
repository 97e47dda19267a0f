//! Line plots as PNG files: draws named series of (x, y) points with plotters
//! on an in-memory bitmap and encodes it with `image`; and labelled colour
//! bars beside a picture. Owns the built-in font (DejaVu Sans, registered
//! once per process) used for all plot and picture text.

use std::io::Cursor;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use image::{imageops, ImageFormat, Rgb, RgbImage};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::PictureError;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 500;
const FONT_FAMILY: &str = "sans-serif";
const DEJAVU_SANS: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/DejaVuSans.ttf"));
/// Matplotlib's "tab10": ten colours that stay apart for most readers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const LINE_WIDTH: u32 = 2;
/// Radius of the dot drawn for a point that has no drawable neighbour.
const LONE_POINT_RADIUS: u32 = 3;
/// Fraction of the data span added on each side of an axis.
const PADDING: f64 = 0.05;
/// Largest |value| on a linear axis, and the decades a log axis may reach:
/// an axis range much wider overflows to infinity in plotters' tick
/// placement, which then never ends.
const LINEAR_LIMIT: f64 = 1e300;
const LOWEST_DECADE: f64 = -150.0;
const HIGHEST_DECADE: f64 = 150.0;
const LARGEST_LOG_SPAN: f64 = HIGHEST_DECADE - LOWEST_DECADE;
/// Decades added on each side of a log axis whose data is constant.
const CONSTANT_LOG_PADDING: f64 = 0.5;

/// One named line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// What `write_line_plot` draws.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub log_x: bool,
    pub log_y: bool,
}

/// What a plot marks beside its series: a horizontal threshold line and
/// vertical lines where a stage begins. Each is named in the legend (the
/// marks by a label at their top), and points are drawn as markers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// `(y, name)`: e.g. `(0, "success below 0")`.
    pub threshold: Option<(f64, String)>,
    /// `(x, name)`: e.g. where `auto` switches stage.
    pub marks: Vec<(f64, String)>,
    /// Draw a dot at every point (for few points, e.g. a benchmark).
    pub point_markers: bool,
}

/// Height of the legend strip below the chart, per row of entries.
const LEGEND_ROW_HEIGHT: u32 = 22;
const LEGEND_ENTRY_WIDTH: u32 = 260;
const MARKER_RADIUS: u32 = 4;
/// Pixels between the staggered names of stage marks, and how many rows.
const MARK_LABEL_STEP: i32 = 15;
const MARK_LABEL_ROWS: i32 = 3;
/// Ticks plotters is asked for on a log axis (it places fewer when a
/// decade has no room).
const LOG_TICKS: usize = 12;

/// Draws the plot as an 800x500 PNG: white background, axis labels, one
/// colour per series and a legend below the chart (off the data) when there
/// is more than one series.
/// Points that cannot be placed are skipped and break the line: non-finite
/// ones, |value| > 1e300 on a linear axis, and outside [1e-150, 1e150]
/// (non-positive included) on a log axis. A plot with nothing left to draw
/// says "no data".
pub fn write_line_plot(path: &Path, plot: &LinePlot) -> Result<(), PictureError> {
    write_annotated_plot(path, plot, &Annotations::default())
}

/// As [`write_line_plot`], with `notes` drawn over the series' axes (a
/// threshold outside the data widens the axis to show it).
pub fn write_annotated_plot(path: &Path, plot: &LinePlot, notes: &Annotations) -> Result<(), PictureError> {
    register_font_once()?;
    let pixels = render(plot, notes)?;
    let image = RgbImage::from_raw(WIDTH, HEIGHT, pixels)
        .ok_or_else(|| PictureError::Plot("bitmap does not match the plot size".to_string()))?;
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)?;
    crate::output::write_atomically(path, |w| w.write_all(&bytes))
        .map_err(|source| PictureError::Write { path: path.to_path_buf(), source })
}

/// Smallest height of a picture with a colour bar, so that its three labels
/// never overlap.
pub const COLOUR_BAR_MIN_HEIGHT: u32 = 96;
/// Width of the bar, its distance from the picture and from its labels.
const COLOUR_BAR_WIDTH: u32 = 14;
const COLOUR_BAR_GAP: u32 = 8;
const COLOUR_BAR_LABEL_WIDTH: u32 = 72;
const COLOUR_BAR_FONT_SIZE: u32 = 13;

/// A vertical colour bar for values from `+saturation` (top) to
/// `-saturation` (bottom): `colours` in that order, labelled `+s`, 0, `-s`.
pub struct ColourBar {
    pub saturation: f64,
    pub colours: Vec<[u8; 3]>,
}

/// `picture` at the top left of a white canvas with `bar` to its right, as
/// tall as the picture (at least [`COLOUR_BAR_MIN_HEIGHT`]).
pub fn beside_colour_bar(picture: &RgbImage, bar: &ColourBar) -> Result<RgbImage, PictureError> {
    register_font_once()?;
    let left = picture.width() + COLOUR_BAR_GAP;
    let width = left + COLOUR_BAR_WIDTH + COLOUR_BAR_GAP + COLOUR_BAR_LABEL_WIDTH;
    let height = picture.height().max(COLOUR_BAR_MIN_HEIGHT);
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    imageops::replace(&mut canvas, picture, 0, 0);
    let mut pixels = canvas.into_raw();
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw_colour_bar(&root, bar, left as i32, height as i32)?;
        root.present().map_err(plot_error)?;
    }
    RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| PictureError::Plot("bitmap does not match the colour bar's size".to_string()))
}

fn draw_colour_bar(
    root: &DrawingArea<BitMapBackend, Shift>,
    bar: &ColourBar,
    left: i32,
    height: i32,
) -> Result<(), PictureError> {
    let margin = COLOUR_BAR_FONT_SIZE as i32 / 2 + 1;
    let (top, bottom) = (margin, height - margin);
    let right = left + COLOUR_BAR_WIDTH as i32;
    let steps = bar.colours.len().max(1) as i32;
    for (i, &[r, g, b]) in bar.colours.iter().enumerate() {
        let row = |k: i32| top + (bottom - top) * k / steps;
        let (y0, y1) = (row(i as i32), row(i as i32 + 1));
        root.draw(&Rectangle::new([(left, y0), (right, y1)], RGBColor(r, g, b).filled())).map_err(plot_error)?;
    }
    root.draw(&Rectangle::new([(left, top), (right, bottom)], BLACK.stroke_width(1))).map_err(plot_error)?;
    let labels = TickLabels::linear(&(-bar.saturation..bar.saturation));
    let text = (FONT_FAMILY, COLOUR_BAR_FONT_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    let x = right + COLOUR_BAR_GAP as i32;
    let middle = (top + bottom) / 2;
    if bar.saturation > 0.0 && bar.saturation.is_finite() {
        let s = labels.label(bar.saturation);
        root.draw_text(&format!("+{s}"), &text, (x, top)).map_err(plot_error)?;
        root.draw_text(&format!("-{s}"), &text, (x, bottom)).map_err(plot_error)?;
    }
    root.draw_text("0", &text, (x, middle)).map_err(plot_error)
}

fn register_font_once() -> Result<(), PictureError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if registered {
        Ok(())
    } else {
        Err(PictureError::FontRegistration)
    }
}

fn plot_error(error: impl std::fmt::Display) -> PictureError {
    PictureError::Plot(error.to_string())
}

/// The plot as RGB bytes, row by row.
fn render(plot: &LinePlot, notes: &Annotations) -> Result<Vec<u8>, PictureError> {
    let mut pixels = vec![255u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let lines = drawable_lines(plot);
        match data_bounds(&lines) {
            Some(bounds) => {
                let entries = legend_entries(&lines, notes);
                let rows = if entries.len() > 1 { entries.len().div_ceil(legend_columns()) as u32 } else { 0 };
                let (chart_area, legend_area) = root.split_vertically(HEIGHT - rows * LEGEND_ROW_HEIGHT);
                let bounds = with_threshold(bounds, notes, plot.log_y);
                draw_chart(&chart_area, plot, &lines, &bounds, notes)?;
                if rows > 0 {
                    draw_legend(&legend_area, &entries)?;
                }
            }
            None => draw_no_data(&root, &plot.title)?,
        }
        root.present().map_err(plot_error)?;
    }
    Ok(pixels)
}

/// A series reduced to what can be drawn: unbroken runs of drawable points.
struct Line<'a> {
    name: &'a str,
    colour: RGBColor,
    runs: Vec<Vec<(f64, f64)>>,
}

fn drawable_lines(plot: &LinePlot) -> Vec<Line<'_>> {
    plot.series
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|(series, colour)| Line {
            name: &series.name,
            colour: *colour,
            runs: drawable_runs(&series.points, plot.log_x, plot.log_y),
        })
        .collect()
}

fn is_drawable(value: f64, log: bool) -> bool {
    // NaN fails every comparison, so it is never drawable.
    if log {
        value > 0.0 && (LOWEST_DECADE..=HIGHEST_DECADE).contains(&value.log10())
    } else {
        value.abs() <= LINEAR_LIMIT
    }
}

fn drawable_runs(points: &[(f64, f64)], log_x: bool, log_y: bool) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|&(x, y)| !(is_drawable(x, log_x) && is_drawable(y, log_y)))
        .filter(|run| !run.is_empty())
        .map(<[(f64, f64)]>::to_vec)
        .collect()
}

struct Bounds {
    x: (f64, f64),
    y: (f64, f64),
}

fn data_bounds(lines: &[Line]) -> Option<Bounds> {
    let mut points = lines.iter().flat_map(|line| line.runs.iter().flatten());
    let &(x, y) = points.next()?;
    let start = Bounds { x: (x, x), y: (y, y) };
    Some(points.fold(start, |bounds, &(x, y)| Bounds {
        x: (bounds.x.0.min(x), bounds.x.1.max(x)),
        y: (bounds.y.0.min(y), bounds.y.1.max(y)),
    }))
}

/// The y bounds widened to show a drawable threshold.
fn with_threshold(bounds: Bounds, notes: &Annotations, log_y: bool) -> Bounds {
    match &notes.threshold {
        Some((y, _)) if is_drawable(*y, log_y) => Bounds { x: bounds.x, y: (bounds.y.0.min(*y), bounds.y.1.max(*y)) },
        _ => bounds,
    }
}

/// How a legend entry is drawn.
enum LegendKey {
    Line(RGBColor),
    Dashed(RGBColor),
}

const THRESHOLD_COLOUR: RGBColor = RGBColor(214, 39, 40);
const MARK_COLOUR: RGBColor = RGBColor(110, 110, 110);

fn legend_entries<'a>(lines: &'a [Line], notes: &'a Annotations) -> Vec<(&'a str, LegendKey)> {
    let mut entries: Vec<(&str, LegendKey)> = lines.iter().map(|l| (l.name, LegendKey::Line(l.colour))).collect();
    if let Some((_, name)) = &notes.threshold {
        entries.push((name, LegendKey::Dashed(THRESHOLD_COLOUR)));
    }
    if !notes.marks.is_empty() {
        entries.push(("stage begins", LegendKey::Dashed(MARK_COLOUR)));
    }
    entries
}

fn legend_columns() -> usize {
    (WIDTH / LEGEND_ENTRY_WIDTH).max(1) as usize
}

/// The legend in its own strip, entries left to right in rows.
fn draw_legend(area: &DrawingArea<BitMapBackend, Shift>, entries: &[(&str, LegendKey)]) -> Result<(), PictureError> {
    let text = (FONT_FAMILY, 14).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (name, key)) in entries.iter().enumerate() {
        let (row, column) = (i / legend_columns(), i % legend_columns());
        let x = 20 + (column as u32 * LEGEND_ENTRY_WIDTH) as i32;
        let y = (row as u32 * LEGEND_ROW_HEIGHT + LEGEND_ROW_HEIGHT / 2) as i32;
        match key {
            LegendKey::Line(colour) => {
                area.draw(&PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(LINE_WIDTH)))
                    .map_err(plot_error)?;
            }
            LegendKey::Dashed(colour) => {
                for dash in 0..3 {
                    let x0 = x + dash * 9;
                    area.draw(&PathElement::new([(x0, y), (x0 + 5, y)], colour.stroke_width(LINE_WIDTH)))
                        .map_err(plot_error)?;
                }
            }
        }
        area.draw_text(name, &text, (x + 32, y)).map_err(plot_error)?;
    }
    Ok(())
}

/// One axis as plotters sees it: the padded range, and how data values and
/// ticks map to it.
struct Axis {
    range: Range<f64>,
    log: bool,
    /// Plotted value = data value / `divisor`. A log axis is shifted by whole
    /// decades to start near 1, because plotters drops log ticks below 2.2e-16
    /// (it takes them for the axis' zero point).
    divisor: f64,
    labels: TickLabels,
}

impl Axis {
    fn new(bounds: (f64, f64), log: bool) -> Self {
        if log {
            Self::logarithmic(bounds)
        } else {
            Self::linear(bounds)
        }
    }

    /// `[lo, hi]` widened by `PADDING` on each side; constant data is widened
    /// more, so that the range is never empty.
    fn linear((lo, hi): (f64, f64)) -> Self {
        let span = hi - lo;
        let magnitude = lo.abs().max(hi.abs());
        let pad = if span > magnitude * 1e-9 {
            span * PADDING
        } else if magnitude > f64::MIN_POSITIVE {
            magnitude * 0.1
        } else {
            1.0
        };
        let range = (lo - pad)..(hi + pad);
        let labels = TickLabels::linear(&range);
        Axis { range, log: false, divisor: 1.0, labels }
    }

    /// Decades below which a log axis is widened down to a power of ten.
    const SHORTEST_UNSNAPPED_LOG_SPAN: f64 = 2.0;

    /// As `linear`, in decades, within `LARGEST_LOG_SPAN`.
    fn logarithmic((lo, hi): (f64, f64)) -> Self {
        let (lo_decade, hi_decade) = (lo.log10(), hi.log10());
        let span = hi_decade - lo_decade;
        let pad =
            if span < 1e-9 { CONSTANT_LOG_PADDING } else { (span * PADDING).min((LARGEST_LOG_SPAN - span) / 2.0) };
        let shift = lo_decade.floor();
        let (mut start, end) = (lo_decade - pad - shift, hi_decade + pad - shift);
        // plotters places log ticks from the first power of ten in the range
        // up; a short axis starts at one, or its lower part has no ticks.
        if start > 0.0 && end - start < Self::SHORTEST_UNSNAPPED_LOG_SPAN {
            start = 0.0;
        }
        Axis {
            range: 10f64.powf(start)..10f64.powf(end),
            log: true,
            divisor: 10f64.powf(shift),
            labels: TickLabels::log(end - start, shift as i32),
        }
    }

    fn plotted(&self, value: f64) -> f64 {
        value / self.divisor
    }
}

fn draw_chart(
    root: &DrawingArea<BitMapBackend, Shift>,
    plot: &LinePlot,
    lines: &[Line],
    bounds: &Bounds,
    notes: &Annotations,
) -> Result<(), PictureError> {
    let x = Axis::new(bounds.x, plot.log_x);
    let y = Axis::new(bounds.y, plot.log_y);
    let (x_range, y_range) = (x.range.clone(), y.range.clone());
    let axes = (&x, &y);
    let what = (plot, lines, notes);
    match (x.log, y.log) {
        (false, false) => draw_on_axes(root, what, (x_range, y_range), axes),
        (true, false) => draw_on_axes(root, what, (x_range.log_scale(), y_range), axes),
        (false, true) => draw_on_axes(root, what, (x_range, y_range.log_scale()), axes),
        (true, true) => draw_on_axes(root, what, (x_range.log_scale(), y_range.log_scale()), axes),
    }
}

fn draw_on_axes<X, Y>(
    root: &DrawingArea<BitMapBackend, Shift>,
    (plot, lines, notes): (&LinePlot, &[Line], &Annotations),
    (x_spec, y_spec): (X, Y),
    (x, y): (&Axis, &Axis),
) -> Result<(), PictureError>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(&plot.title, (FONT_FAMILY, 24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(x_spec, y_spec)
        .map_err(plot_error)?;
    let ticks = |axis: &Axis| if axis.log { LOG_TICKS } else { 10 };
    chart
        .configure_mesh()
        .x_labels(ticks(x))
        .y_labels(ticks(y))
        .x_desc(&plot.x_label)
        .y_desc(&plot.y_label)
        .x_label_formatter(&|value| x.labels.label(*value))
        .y_label_formatter(&|value| y.labels.label(*value))
        .label_style((FONT_FAMILY, 14))
        .axis_desc_style((FONT_FAMILY, 16))
        .draw()
        .map_err(plot_error)?;
    let (x_lo, x_hi) = (x.range.start, x.range.end);
    let (y_lo, y_hi) = (y.range.start, y.range.end);
    if let Some((value, _)) = notes.threshold.as_ref().filter(|(v, _)| is_drawable(*v, y.log)) {
        let at = y.plotted(*value);
        chart.draw_series(dashed((x_lo, at), (x_hi, at), x, y, THRESHOLD_COLOUR)).map_err(plot_error)?;
    }
    let label = (FONT_FAMILY, 13).into_font().color(&MARK_COLOUR).pos(Pos::new(HPos::Left, VPos::Top));
    for (i, (value, name)) in notes.marks.iter().filter(|(v, _)| is_drawable(*v, x.log)).enumerate() {
        let at = x.plotted(*value);
        chart.draw_series(dashed((at, y_lo), (at, y_hi), x, y, MARK_COLOUR)).map_err(plot_error)?;
        // Staggered down, so that the names of close stages do not overlap.
        let down = 2 + MARK_LABEL_STEP * (i as i32 % MARK_LABEL_ROWS);
        let name = EmptyElement::at((at, y_hi)) + Text::new(name.clone(), (3, down), label.clone());
        chart.draw_series(std::iter::once(name)).map_err(plot_error)?;
    }
    for line in lines {
        let style = line.colour.stroke_width(LINE_WIDTH);
        for run in &line.runs {
            let plotted = run.iter().map(|&(px, py)| (x.plotted(px), y.plotted(py)));
            let radius = if notes.point_markers {
                MARKER_RADIUS
            } else if run.len() == 1 {
                LONE_POINT_RADIUS
            } else {
                0
            };
            let series = LineSeries::new(plotted, style).point_size(radius);
            chart.draw_series(series).map_err(plot_error)?;
        }
    }
    Ok(())
}

/// A dashed line from `a` to `b` (plotted values), as short segments even
/// spaced in the axis' own scale.
fn dashed(a: (f64, f64), b: (f64, f64), x: &Axis, y: &Axis, colour: RGBColor) -> Vec<PathElement<(f64, f64)>> {
    const DASHES: usize = 60;
    let along = |axis: &Axis, from: f64, to: f64, t: f64| {
        if axis.log {
            10f64.powf(from.log10() + (to.log10() - from.log10()) * t)
        } else {
            from + (to - from) * t
        }
    };
    (0..DASHES)
        .map(|i| {
            let (t0, t1) = (i as f64 / DASHES as f64, (i as f64 + 0.5) / DASHES as f64);
            let point = |t| (along(x, a.0, b.0, t), along(y, a.1, b.1, t));
            PathElement::new([point(t0), point(t1)], colour.stroke_width(LINE_WIDTH))
        })
        .collect()
}

/// How tick values are written on an axis.
enum TickLabels {
    /// Plain decimals, trailing zeros dropped.
    Fixed { decimals: usize },
    /// `1.5e-7`, for values too large or too small for plain decimals.
    Scientific { digits: usize },
    /// Powers of ten, plus 2x and 5x multiples on a short axis; the other
    /// ticks stay unlabelled so the labels never crowd. Plotted values are
    /// `decade_shift` decades below the data.
    Log { with_twos_and_fives: bool, every_tick: bool, decade_shift: i32 },
}

impl TickLabels {
    /// Values from this magnitude on are written in scientific notation, and
    /// so are those below `SMALLEST_FIXED`.
    const LARGEST_FIXED: f64 = 1e6;
    const SMALLEST_FIXED: f64 = 1e-3;
    /// Longest log axis, in decades, whose 2x and 5x ticks are labelled.
    const MOST_DECADES_WITH_TWOS_AND_FIVES: f64 = 3.0;
    /// Longest log axis, in decades, whose every tick is labelled (a shorter
    /// one may hold no power of ten, 2x or 5x at all).
    const MOST_DECADES_WITH_EVERY_TICK: f64 = 2.0;

    fn linear(range: &Range<f64>) -> Self {
        let span = range.end - range.start;
        let magnitude = range.start.abs().max(range.end.abs());
        // Ticks are about a tenth of the span apart; one more digit covers
        // steps like 2.5.
        if (Self::SMALLEST_FIXED..Self::LARGEST_FIXED).contains(&magnitude) {
            let decimals = (2.0 - span.log10().floor()).clamp(0.0, 15.0) as usize;
            TickLabels::Fixed { decimals }
        } else {
            let digits = ((magnitude / span).log10().ceil() + 1.0).clamp(1.0, 15.0) as usize;
            TickLabels::Scientific { digits }
        }
    }

    fn log(decades: f64, decade_shift: i32) -> Self {
        TickLabels::Log {
            with_twos_and_fives: decades <= Self::MOST_DECADES_WITH_TWOS_AND_FIVES,
            every_tick: decades <= Self::MOST_DECADES_WITH_EVERY_TICK,
            decade_shift,
        }
    }

    fn label(&self, value: f64) -> String {
        match *self {
            TickLabels::Fixed { decimals } => fixed_label(value, decimals),
            TickLabels::Scientific { digits } => scientific_label(value, digits),
            TickLabels::Log { with_twos_and_fives, every_tick, decade_shift } => {
                let decade = value.log10() + f64::from(decade_shift);
                let label = log_label(decade, with_twos_and_fives);
                if label.is_empty() && every_tick {
                    two_digit_label(10f64.powf(decade))
                } else {
                    label
                }
            }
        }
    }
}

fn fixed_label(value: f64, decimals: usize) -> String {
    let label = without_trailing_zeros(&format!("{value:.decimals$}"));
    if label == "-0" {
        "0".to_string()
    } else {
        label
    }
}

fn scientific_label(value: f64, digits: usize) -> String {
    let label = format!("{value:.digits$e}");
    match label.split_once('e') {
        Some((mantissa, exponent)) => format!("{}e{exponent}", without_trailing_zeros(mantissa)),
        None => label,
    }
}

/// `value` to two significant digits: `0.034`, `1.5`, `3.4e-7`.
fn two_digit_label(value: f64) -> String {
    let magnitude = value.abs();
    if (TickLabels::SMALLEST_FIXED..TickLabels::LARGEST_FIXED).contains(&magnitude) {
        let decimals = (1.0 - magnitude.log10().floor()).clamp(0.0, 15.0) as usize;
        fixed_label(value, decimals)
    } else {
        scientific_label(value, 1)
    }
}

fn without_trailing_zeros(decimal: &str) -> String {
    if decimal.contains('.') {
        decimal.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        decimal.to_string()
    }
}

fn log_label(decade: f64, with_twos_and_fives: bool) -> String {
    // Ticks land near, not on, round values (1e-4 as 9.99...e-5).
    let is_near = |a: f64, b: f64| (a - b).abs() < 1e-6;
    let nearest_power = decade.round();
    if is_near(decade, nearest_power) {
        return decimal_label(1, nearest_power as i32);
    }
    if !with_twos_and_fives {
        return String::new();
    }
    let exponent = decade.floor();
    [2u8, 5]
        .into_iter()
        .find(|&mantissa| is_near(decade - exponent, f64::from(mantissa).log10()))
        .map_or_else(String::new, |mantissa| decimal_label(mantissa, exponent as i32))
}

/// `mantissa` x 10^`exponent`, in plain decimals near 1 and as `2e-6` beyond.
fn decimal_label(mantissa: u8, exponent: i32) -> String {
    match exponent {
        0..=3 => (u32::from(mantissa) * 10u32.pow(exponent.unsigned_abs())).to_string(),
        -3..=-1 => {
            let decimals = exponent.unsigned_abs() as usize;
            format!("{:.decimals$}", f64::from(mantissa) * 10f64.powi(exponent))
        }
        _ => format!("{mantissa}e{exponent}"),
    }
}

fn draw_no_data(root: &DrawingArea<BitMapBackend, Shift>, title: &str) -> Result<(), PictureError> {
    let body = root.titled(title, (FONT_FAMILY, 24)).map_err(plot_error)?;
    let (width, height) = body.dim_in_pixel();
    let centred = (FONT_FAMILY, 28).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
    body.draw_text("no data", &centred, (width as i32 / 2, height as i32 / 2)).map_err(plot_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE_PIXEL: [u8; 3] = [255, 255, 255];
    const BLACK_PIXEL: [u8; 3] = [0, 0, 0];

    fn series(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.to_string(), points }
    }

    fn plot_of(series: Vec<Series>, log_x: bool, log_y: bool) -> LinePlot {
        LinePlot {
            title: "Margin by step".to_string(),
            x_label: "step".to_string(),
            y_label: "margin".to_string(),
            series,
            log_x,
            log_y,
        }
    }

    fn curve(count: usize, f: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (1..=count).map(|i| (i as f64, f(i as f64))).collect()
    }

    /// Writes the plot and reads it back, checking it is an 800x500 PNG.
    fn drawn(plot: &LinePlot) -> RgbImage {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        write_line_plot(&path, plot).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(image::guess_format(&bytes).unwrap(), ImageFormat::Png);
        let image = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (WIDTH, HEIGHT));
        image
    }

    fn count_pixels(image: &RgbImage, wanted: [u8; 3]) -> usize {
        image.pixels().filter(|pixel| pixel.0 == wanted).count()
    }

    fn count_ink(image: &RgbImage) -> usize {
        image.pixels().filter(|pixel| pixel.0 != WHITE_PIXEL).count()
    }

    fn count_colour(image: &RgbImage, colour: RGBColor) -> usize {
        count_pixels(image, [colour.0, colour.1, colour.2])
    }

    #[test]
    fn one_series_is_drawn_with_text() {
        let plot = plot_of(vec![series("loss", curve(50, |x| (x / 5.0).sin()))], false, false);
        let image = drawn(&plot);
        assert!(count_colour(&image, PALETTE[0]) > 100);
        assert!(count_pixels(&image, BLACK_PIXEL) > 200, "axes and text");
        assert_eq!(image.get_pixel(0, 0).0, WHITE_PIXEL);
    }

    #[test]
    fn three_series_get_three_colours() {
        let plot = plot_of(
            vec![
                series("pgd", curve(40, |x| x)),
                series("fgsm", curve(40, |x| 2.0 * x)),
                series("random", curve(40, |x| 40.0 - x)),
            ],
            false,
            false,
        );
        let image = drawn(&plot);
        for colour in &PALETTE[..3] {
            assert!(count_colour(&image, *colour) > 50);
        }
    }

    #[test]
    fn log_axes_skip_non_positive_points() {
        let mut points = curve(30, |x| 10f64.powf(-x / 5.0));
        points.push((0.0, 1.0));
        points.push((5.0, -1.0));
        for (log_x, log_y) in [(true, true), (false, true), (true, false)] {
            let plot = plot_of(vec![series("decay", points.clone())], log_x, log_y);
            assert!(count_colour(&drawn(&plot), PALETTE[0]) > 50);
        }
    }

    #[test]
    fn constant_series_is_drawn() {
        for (value, log_y) in [(3.0, false), (3.0, true), (0.0, false), (-2.0, false)] {
            let plot = plot_of(vec![series("flat", curve(10, |_| value))], false, log_y);
            assert!(count_colour(&drawn(&plot), PALETTE[0]) > 50);
        }
    }

    #[test]
    fn single_point_is_drawn_as_a_dot() {
        let plot = plot_of(vec![series("one", vec![(2.0, 2.0)])], true, true);
        assert!(count_colour(&drawn(&plot), PALETTE[0]) > 5);
    }

    #[test]
    fn nan_and_infinite_points_are_skipped() {
        let mut points = curve(20, |x| x * x);
        points[5].1 = f64::NAN;
        points[9].0 = f64::INFINITY;
        points[12].1 = f64::NEG_INFINITY;
        let plot = plot_of(vec![series("gaps", points)], false, false);
        assert!(count_colour(&drawn(&plot), PALETTE[0]) > 50);
    }

    #[test]
    fn empty_and_undrawable_plots_say_no_data() {
        let plots = [
            plot_of(vec![], false, false),
            plot_of(vec![series("a", vec![(f64::NAN, 1.0)]), series("b", vec![])], true, true),
            plot_of(vec![series("c", vec![(1.0, 0.0), (2.0, -3.0)])], false, true),
        ];
        for plot in &plots {
            let image = drawn(plot);
            let centre = image::imageops::crop_imm(&image, 300, 200, 200, 100).to_image();
            assert!(count_ink(&centre) > 100, "\"no data\" in the middle");
        }
    }

    #[test]
    fn extreme_values_do_not_panic_or_hang() {
        let cases = [
            vec![(0.0, f64::MAX), (1.0, f64::MIN), (2.0, 0.0)],
            vec![(0.0, 1e300), (1.0, -1e300)],
            vec![(0.0, 1e300), (1.0, 1e300)],
            vec![(f64::MIN_POSITIVE, 1.0), (f64::MAX, 2.0)],
            vec![(1.0, 1.0), (2.0, 1.0 + 1e-15)],
            vec![(1.0, 1e-300), (2.0, 1e300)],
            vec![(1.0, 1e-150), (2.0, 1e150)],
            vec![(1.0, 5e-324), (2.0, 5e-324)],
            vec![(1.0, 1e-300), (2.0, 2e-300)],
        ];
        for points in cases {
            for (log_x, log_y) in [(false, false), (true, true)] {
                let plot = plot_of(vec![series("extreme", points.clone())], log_x, log_y);
                assert!(count_ink(&drawn(&plot)) > 100);
            }
        }
    }

    #[test]
    fn empty_labels_still_draw() {
        let plot = LinePlot {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            series: vec![series("", curve(5, |x| x))],
            log_x: false,
            log_y: false,
        };
        assert!(count_colour(&drawn(&plot), PALETTE[0]) > 20);
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("plot.png");
        let plot = plot_of(vec![series("x", curve(5, |x| x))], false, false);
        assert!(matches!(write_line_plot(&path, &plot), Err(PictureError::Write { .. })));
    }

    #[test]
    fn colour_bar_stands_right_of_the_picture_with_labels() {
        let picture = RgbImage::from_pixel(40, 30, image::Rgb([0, 255, 0]));
        let colours = vec![[255, 0, 0], [255, 255, 255], [0, 0, 255]];
        let out = beside_colour_bar(&picture, &ColourBar { saturation: 0.25, colours }).unwrap();
        assert_eq!(out.height(), COLOUR_BAR_MIN_HEIGHT);
        assert_eq!(out.get_pixel(39, 29).0, [0, 255, 0], "picture at the top left");
        assert_eq!(out.get_pixel(10, 60).0, WHITE_PIXEL, "white below a short picture");
        let bar_x = 40 + COLOUR_BAR_GAP + COLOUR_BAR_WIDTH / 2;
        assert_eq!(out.get_pixel(bar_x, 20).0, [255, 0, 0], "+s at the top");
        assert_eq!(out.get_pixel(bar_x, 80).0, [0, 0, 255], "-s at the bottom");
        let labels = imageops::crop_imm(&out, bar_x + COLOUR_BAR_WIDTH, 0, COLOUR_BAR_LABEL_WIDTH, 96).to_image();
        assert!(count_ink(&labels) > 40, "labels drawn");
    }

    #[test]
    fn colour_bar_of_nothing_is_labelled_zero_only() {
        let picture = RgbImage::from_pixel(4, 4, image::Rgb([255, 255, 255]));
        let plain =
            beside_colour_bar(&picture, &ColourBar { saturation: 0.0, colours: vec![[255, 255, 255]] }).unwrap();
        let labelled =
            beside_colour_bar(&picture, &ColourBar { saturation: 1.0, colours: vec![[255, 255, 255]] }).unwrap();
        assert!(count_ink(&plain) < count_ink(&labelled));
    }

    fn colour_columns(image: &RgbImage, colour: RGBColor) -> Vec<u32> {
        let wanted = [colour.0, colour.1, colour.2];
        (0..image.width()).filter(|&x| (0..image.height()).any(|y| image.get_pixel(x, y).0 == wanted)).collect()
    }

    #[test]
    fn threshold_and_marks_are_drawn_and_the_legend_stays_below_the_chart() {
        let series = vec![series("now", curve(40, |x| 5.0 - x / 4.0)), series("best", curve(40, |x| 5.0 - x / 5.0))];
        let plain = drawn(&plot_of(series.clone(), false, false));
        let notes = Annotations {
            threshold: Some((-8.0, "success below -8".into())),
            marks: vec![(20.0, "apgd-t".into())],
            point_markers: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("annotated.png");
        write_annotated_plot(&path, &plot_of(series, false, false), &notes).unwrap();
        let annotated = image::open(&path).unwrap().to_rgb8();
        assert!(count_colour(&annotated, THRESHOLD_COLOUR) > 200, "threshold line, below the data yet shown");
        assert!(count_colour(&annotated, MARK_COLOUR) > 100, "stage mark");
        // The legend strip: the series' colours appear below the chart's
        // x axis labels, and not in the plain plot's data corner.
        let strip =
            imageops::crop_imm(&annotated, 0, HEIGHT - 2 * LEGEND_ROW_HEIGHT, WIDTH, 2 * LEGEND_ROW_HEIGHT).to_image();
        assert!(count_colour(&strip, PALETTE[0]) > 10 && count_colour(&strip, PALETTE[1]) > 10);
        let corner = imageops::crop_imm(&plain, 560, 40, 220, 60).to_image();
        assert!(count_pixels(&corner, BLACK_PIXEL) < 20, "no legend box over the data");
        let columns = colour_columns(&annotated, MARK_COLOUR);
        assert!(columns.iter().any(|&x| (350..500).contains(&x)), "mark near the middle: {columns:?}");
    }

    #[test]
    fn a_short_log_axis_starts_at_a_power_of_ten() {
        let axis = Axis::logarithmic((0.014, 0.16));
        assert!((axis.range.start - 1.0).abs() < 1e-12, "0.01 after the shift of -2 decades: {:?}", axis.range);
        assert!((axis.divisor - 0.01).abs() < 1e-15);
        let long = Axis::logarithmic((0.014, 160.0));
        assert!((long.range.start - 1.0).abs() > 0.01, "a long axis keeps its padding: {:?}", long.range);
    }

    #[test]
    fn point_markers_draw_dots() {
        let points = vec![(1.0, 1.0), (2.0, 2.0), (4.0, 3.0)];
        let plain = drawn(&plot_of(vec![series("few", points.clone())], true, false));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dots.png");
        let notes = Annotations { point_markers: true, ..Annotations::default() };
        write_annotated_plot(&path, &plot_of(vec![series("few", points)], true, false), &notes).unwrap();
        let dotted = image::open(&path).unwrap().to_rgb8();
        assert!(count_colour(&dotted, PALETTE[0]) > count_colour(&plain, PALETTE[0]) + 30);
    }

    #[test]
    fn linear_ticks_are_short_decimals() {
        let labels = TickLabels::linear(&(0.225..0.275));
        assert_eq!(labels.label(0.23500000000000001), "0.235");
        assert_eq!(labels.label(0.25), "0.25");
        let labels = TickLabels::linear(&(-3.3..3.3));
        assert_eq!(labels.label(-0.0), "0");
        assert_eq!(labels.label(2.0), "2");
        assert_eq!(labels.label(2.5), "2.5");
        let labels = TickLabels::linear(&(1e-7..3e-7));
        assert_eq!(labels.label(1.5e-7), "1.5e-7");
        let labels = TickLabels::linear(&(0.0..3e7));
        assert_eq!(labels.label(2e7), "2e7");
    }

    #[test]
    fn log_ticks_label_powers_and_short_axis_multiples() {
        let short = TickLabels::log(2.5, 0);
        assert_eq!(short.label(1.0), "1");
        assert_eq!(short.label(9.999999999e-5), "1e-4");
        assert_eq!(short.label(0.02), "0.02");
        assert_eq!(short.label(500.0), "500");
        assert_eq!(short.label(3.0), "");
        let within_a_decade = TickLabels::log(0.4, -2);
        assert_eq!(within_a_decade.label(3.4), "0.034", "every tick of a short axis labelled");
        assert_eq!(within_a_decade.label(1.0), "0.01");
        assert_eq!(TickLabels::log(0.4, -9).label(3.4), "3.4e-9");
        let long = TickLabels::log(20.0, -12);
        assert_eq!(long.label(1.0), "1e-12");
        assert_eq!(long.label(1e12), "1");
        assert_eq!(long.label(2.0), "");
    }
}
