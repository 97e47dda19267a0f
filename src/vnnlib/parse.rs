//! Parsing of VNN-LIB 1.0 property files, the format VNN-COMP verification
//! tools exchange. This module owns reading the text (s-expressions,
//! comments, positions for errors), checking declarations and constraints, and
//! normalising the property into disjunctive normal form: the UNSAFE set as a
//! union of input boxes, each paired with a conjunction of linear constraints
//! on the outputs.
//!
//! Input variables `X_i` index the network input flattened in C order; output
//! variables `Y_j` index the network output.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

pub use super::exact::Bound;
use super::exact::{lower_bound, nearest, rational, upper_bound, ExactLinear};
use crate::error::clip;

/// More disjuncts than this after normalisation is an error.
const MAX_DISJUNCTS: usize = 100_000;
/// More literals than this across all disjuncts during normalisation is an error.
const MAX_NORMAL_FORM_LITERALS: usize = 10_000_000;
/// Deeper nesting than this is an error; it also bounds the recursion below.
const MAX_NESTING_DEPTH: usize = 100;

/// A VNN-LIB property, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub num_inputs: usize,
    pub num_outputs: usize,
    /// The unsafe set: the union of these disjuncts.
    pub disjuncts: Vec<Disjunct>,
}

/// One disjunct of the unsafe set: inputs in the box whose outputs satisfy
/// every output constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Disjunct {
    pub input: InputBox,
    /// All must hold (a conjunction); empty means every output is unsafe.
    pub output: Vec<LinearConstraint>,
}

/// Finite per-input bounds, `lower[i] <= X_i <= upper[i]` (`<` where the
/// bound is strict), all of length `num_inputs`. The bounds are the
/// property's numbers parsed to the nearest f64, as a checker reads them;
/// where a bound is computed from them (`(<= (* 0.1 X_0) c)`, `(<= (+ X_0
/// a) b)`), it is computed exactly and written as the f64 bound that admits
/// exactly the same f64 inputs (the f64 next inside it, non-strict, where
/// the exact bound is not an f64).
#[derive(Debug, Clone, PartialEq)]
pub struct InputBox {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// `lower_strict[i]`: the property says `X_i > lower[i]`.
    pub lower_strict: Vec<bool>,
    /// `upper_strict[i]`: the property says `X_i < upper[i]`.
    pub upper_strict: Vec<bool>,
}

/// `sum_j coeffs[j] * Y_j + constant <= 0`, or `< 0` when `strict`;
/// `coeffs` has length `num_outputs`. `coeffs` and `constant` are the f64
/// nearest to the exact form `exact`, for the search; the decision reads
/// `exact`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearConstraint {
    pub coeffs: Vec<f64>,
    pub constant: f64,
    pub strict: bool,
    pub exact: ExactLinear,
}

/// A place in the property text; both counts start at 1, columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Why a property file was refused; every message is one line starting with
/// "line L, column C: ", echoing at most [`crate::error::ECHO_CHARS`]
/// characters of a token.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{at}: '(' is never closed")]
    UnclosedParenthesis { at: Position },
    #[error("{at}: ')' has no matching '('")]
    UnmatchedCloseParenthesis { at: Position },
    #[error("{at}: nesting is deeper than {limit} levels")]
    TooDeep { at: Position, limit: usize },
    #[error("{at}: {}", clip(.message))]
    Syntax { at: Position, message: String },
    #[error("{at}: unsupported command '{}'", clip(.name))]
    UnsupportedCommand { at: Position, name: String },
    #[error("{at}: unsupported sort '{}' (only Real is supported)", clip(.sort))]
    UnsupportedSort { at: Position, sort: String },
    #[error("{at}: unknown variable '{}' (expected X_<i> or Y_<j>)", clip(.name))]
    UnknownVariable { at: Position, name: String },
    #[error("{at}: variable '{}' is used but not declared", clip(.name))]
    UndeclaredVariable { at: Position, name: String },
    #[error("{at}: variable '{}' is declared twice", clip(.name))]
    DuplicateDeclaration { at: Position, name: String },
    #[error("{at}: bad number '{}'", clip(.text))]
    BadNumber { at: Position, text: String },
    #[error("{at}: unsupported operator '{}'", clip(.operator))]
    UnsupportedOperator { at: Position, operator: String },
    #[error("{at}: unsupported product of two non-constant terms (not linear)")]
    NonlinearProduct { at: Position },
    #[error("{at}: arithmetic leaves the finite range of f64")]
    NotFinite { at: Position },
    #[error("{at}: {} is declared but {} is not (indices must run from 0 without gaps)", clip(.name), clip(.missing))]
    NonContiguousDeclarations { at: Position, name: String, missing: String },
    #[error("{at}: no {kind} variables declared")]
    NoVariables { at: Position, kind: &'static str },
    #[error("{at}: unsupported constraint mixing inputs (X) and outputs (Y)")]
    MixedConstraint { at: Position },
    #[error("{at}: unsupported constraint over several inputs (only bounds on one X_i are supported)")]
    MultiInputConstraint { at: Position },
    #[error("{at}: constraint has no variables")]
    ConstantConstraint { at: Position },
    #[error("{at}: input {variable} has no finite {side} bound in disjunct {disjunct}")]
    MissingInputBound {
        at: Position,
        variable: String,
        side: &'static str,
        /// 1-based, counting the disjuncts of the normal form before empty ones are dropped.
        disjunct: usize,
    },
    #[error("{at}: more than {limit} disjuncts after normalisation")]
    TooManyDisjuncts { at: Position, limit: usize },
    #[error("{at}: normal form too large (more than {limit} constraints in all)")]
    NormalFormTooLarge { at: Position, limit: usize },
    #[error("{at}: the input set is empty")]
    EmptyInputSet { at: Position },
}

/// Parses a VNN-LIB property and normalises it to disjunctive normal form.
pub fn parse_vnnlib(text: &str) -> Result<Property, ParseError> {
    // A byte-order mark, as some editors write, is not part of the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let expressions = read_expressions(text)?;
    let (declarations, assertions) = read_commands(&expressions)?;
    let num_inputs = contiguous_count(&declarations.inputs, 'X', "input (X_i)")?;
    let num_outputs = contiguous_count(&declarations.outputs, 'Y', "output (Y_j)")?;
    let conjunctions = conjoin_assertions(&assertions)?;
    let empty_set_at = assertions.first().map_or(Position::START, |a| a.at);
    let disjuncts = build_disjuncts(&conjunctions, &declarations, num_inputs, num_outputs)?;
    if disjuncts.is_empty() {
        return Err(ParseError::EmptyInputSet { at: empty_set_at });
    }
    Ok(Property { num_inputs, num_outputs, disjuncts })
}

impl LinearConstraint {
    /// `sum_j coeffs[j] * y[j] + constant` in f64 arithmetic; at most 0
    /// (below 0 when strict) means the constraint holds. For reports and
    /// the search: [`LinearConstraint::holds_at`] decides exactly.
    pub fn margin(&self, y: &[f64]) -> f64 {
        self.coeffs.iter().zip(y).map(|(c, v)| c * v).sum::<f64>() + self.constant
    }

    /// Whether the constraint holds at `y`, decided on the exact value of
    /// the property's form at `y` (its numbers as parsed, no rounding
    /// anywhere after); false where that cannot be decided (NaN, overflow).
    pub fn holds_at(&self, y: &[f64]) -> bool {
        if y.len() != self.coeffs.len() {
            return false;
        }
        match self.exact.sign_at(y) {
            Some(Ordering::Less) => true,
            Some(Ordering::Equal) => !self.strict,
            Some(Ordering::Greater) | None => false,
        }
    }
}

impl InputBox {
    /// A box with non-strict bounds.
    pub fn closed(lower: Vec<f64>, upper: Vec<f64>) -> Self {
        let (lower_strict, upper_strict) = (vec![false; lower.len()], vec![false; upper.len()]);
        InputBox { lower, upper, lower_strict, upper_strict }
    }

    /// Input `i`'s bounds (`None` past the end).
    pub fn bounds(&self, i: usize) -> Option<(Bound, Bound)> {
        let lower = Bound { value: *self.lower.get(i)?, strict: *self.lower_strict.get(i)? };
        let upper = Bound { value: *self.upper.get(i)?, strict: *self.upper_strict.get(i)? };
        Some((lower, upper))
    }

    /// Whether `x` lies in the box exactly as written: every bound compared
    /// in f64 with `x`, strict bounds strictly.
    pub fn contains(&self, x: &[f64]) -> bool {
        x.len() == self.lower.len()
            && (0..x.len()).all(|i| {
                self.bounds(i).is_some_and(|(lo, hi)| lo.admits_from_below(x[i]) && hi.admits_from_above(x[i]))
            })
    }

    fn unbounded(num_inputs: usize) -> Self {
        InputBox::closed(vec![f64::NEG_INFINITY; num_inputs], vec![f64::INFINITY; num_inputs])
    }

    /// Intersects with `X_index <= value` (upper) or `X_index >= value`
    /// (lower), strict when `strict`: the tighter bound wins, and at an
    /// equal value the strict one.
    fn tighten(&mut self, index: usize, side: Side, value: f64, strict: bool) {
        let (bound, bound_strict) = match side {
            Side::Lower => (self.lower.get_mut(index), self.lower_strict.get_mut(index)),
            Side::Upper => (self.upper.get_mut(index), self.upper_strict.get_mut(index)),
        };
        let (Some(bound), Some(bound_strict)) = (bound, bound_strict) else {
            return;
        };
        let tighter = match side {
            Side::Lower => value > *bound,
            Side::Upper => value < *bound,
        };
        if tighter {
            *bound = value;
            *bound_strict = strict;
        } else if value == *bound {
            *bound_strict |= strict;
        }
    }

    /// No real point satisfies the bounds.
    fn is_empty(&self) -> bool {
        (0..self.lower.len()).any(|i| {
            self.bounds(i)
                .is_none_or(|(lo, hi)| lo.value > hi.value || (lo.value == hi.value && (lo.strict || hi.strict)))
        })
    }
}

impl Disjunct {
    /// The largest margin of the output constraints at `y` (at most 0: all
    /// hold); 0 when there are none (every output is unsafe); NaN when any
    /// margin is NaN, so that a NaN output never satisfies a disjunct.
    pub fn margin(&self, y: &[f64]) -> f64 {
        self.output
            .iter()
            .map(|c| c.margin(y))
            .reduce(|worst, m| if worst.is_nan() || worst >= m { worst } else { m })
            .unwrap_or(0.0)
    }

    /// Whether `x` lies in the box exactly and `y` satisfies every output
    /// constraint within `output_tolerance` (largest f64 margin at most the
    /// tolerance, strictness ignored): the competition checker's test.
    pub fn contains(&self, x: &[f64], y: &[f64], output_tolerance: f64) -> bool {
        self.input.contains(x) && self.margin(y) <= output_tolerance
    }

    /// Whether `x` lies in the box exactly and every output constraint holds
    /// at `y` exactly ([`LinearConstraint::holds_at`]): a true member of
    /// the unsafe set, with no tolerance anywhere.
    pub fn holds_at(&self, x: &[f64], y: &[f64]) -> bool {
        self.input.contains(x) && self.output.iter().all(|c| c.holds_at(y))
    }
}

impl Property {
    /// Whether `x` (flattened input) and `y` have the property's lengths and
    /// some disjunct contains them ([`Disjunct::contains`]).
    pub fn is_counterexample(&self, x: &[f64], y: &[f64], output_tolerance: f64) -> bool {
        x.len() == self.num_inputs
            && y.len() == self.num_outputs
            && self.disjuncts.iter().any(|d| d.contains(x, y, output_tolerance))
    }

    /// Whether disjunct `k` holds at `x` and `y` exactly
    /// ([`Disjunct::holds_at`]; false when there is no disjunct `k`).
    pub fn violated_by(&self, k: usize, x: &[f64], y: &[f64]) -> bool {
        x.len() == self.num_inputs
            && y.len() == self.num_outputs
            && self.disjuncts.get(k).is_some_and(|d| d.holds_at(x, y))
    }
}

impl Position {
    const START: Position = Position { line: 1, column: 1 };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

// ---------------------------------------------------------------------------
// S-expressions

#[derive(Debug)]
enum Expression {
    Atom { text: String, at: Position },
    List { items: Vec<Expression>, at: Position },
}

impl Expression {
    fn at(&self) -> Position {
        match self {
            Expression::Atom { at, .. } | Expression::List { at, .. } => *at,
        }
    }
}

fn read_expressions(text: &str) -> Result<Vec<Expression>, ParseError> {
    let mut reader = Reader::default();
    let mut at = Position::START;
    for ch in text.chars() {
        reader.feed(ch, at)?;
        at = if ch == '\n' {
            Position { line: at.line + 1, column: 1 }
        } else {
            Position { line: at.line, column: at.column + 1 }
        };
    }
    reader.finish()
}

#[derive(Default)]
struct Reader {
    top_level: Vec<Expression>,
    /// Lists opened and not yet closed, innermost last, with where each opened.
    open_lists: Vec<(Vec<Expression>, Position)>,
    atom: Option<(String, Position)>,
    in_comment: bool,
}

impl Reader {
    fn feed(&mut self, ch: char, at: Position) -> Result<(), ParseError> {
        if self.in_comment {
            self.in_comment = ch != '\n';
            return Ok(());
        }
        match ch {
            ';' => {
                self.end_atom();
                self.in_comment = true;
            }
            '(' => {
                self.end_atom();
                self.open_list(at)?;
            }
            ')' => {
                self.end_atom();
                self.close_list(at)?;
            }
            c if c.is_whitespace() => self.end_atom(),
            c => match &mut self.atom {
                Some((text, _)) => text.push(c),
                None => self.atom = Some((c.to_string(), at)),
            },
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Expression>, ParseError> {
        self.end_atom();
        match self.open_lists.last() {
            Some((_, at)) => Err(ParseError::UnclosedParenthesis { at: *at }),
            None => Ok(self.top_level),
        }
    }

    fn push(&mut self, expression: Expression) {
        match self.open_lists.last_mut() {
            Some((items, _)) => items.push(expression),
            None => self.top_level.push(expression),
        }
    }

    fn end_atom(&mut self) {
        if let Some((text, at)) = self.atom.take() {
            self.push(Expression::Atom { text, at });
        }
    }

    fn open_list(&mut self, at: Position) -> Result<(), ParseError> {
        if self.open_lists.len() >= MAX_NESTING_DEPTH {
            return Err(ParseError::TooDeep { at, limit: MAX_NESTING_DEPTH });
        }
        self.open_lists.push((Vec::new(), at));
        Ok(())
    }

    fn close_list(&mut self, at: Position) -> Result<(), ParseError> {
        let (items, opened_at) = self.open_lists.pop().ok_or(ParseError::UnmatchedCloseParenthesis { at })?;
        self.push(Expression::List { items, at: opened_at });
        Ok(())
    }
}

fn syntax_error(at: Position, message: impl Into<String>) -> ParseError {
    ParseError::Syntax { at, message: message.into() }
}

/// Splits `(head args...)` into the head's name and the arguments.
fn operator_and_arguments(items: &[Expression], at: Position) -> Result<(&str, &[Expression]), ParseError> {
    match items.split_first() {
        Some((Expression::Atom { text, .. }, arguments)) => Ok((text, arguments)),
        Some((head, _)) => Err(syntax_error(head.at(), "expected an operator name, found a list")),
        None => Err(syntax_error(at, "empty list '()'")),
    }
}

fn expect_atom<'a>(expression: &'a Expression, what: &str) -> Result<(&'a str, Position), ParseError> {
    match expression {
        Expression::Atom { text, at } => Ok((text, *at)),
        Expression::List { at, .. } => Err(syntax_error(*at, format!("expected {what}, found a list"))),
    }
}

// ---------------------------------------------------------------------------
// Commands and declarations

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Variable {
    Input(usize),
    Output(usize),
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variable::Input(i) => write!(f, "X_{i}"),
            Variable::Output(j) => write!(f, "Y_{j}"),
        }
    }
}

/// `X_<i>` or `Y_<j>` with a decimal index without leading zeros.
fn parse_variable_name(name: &str) -> Option<Variable> {
    let (make, digits): (fn(usize) -> Variable, &str) = if let Some(digits) = name.strip_prefix("X_") {
        (Variable::Input, digits)
    } else {
        (Variable::Output, name.strip_prefix("Y_")?)
    };
    let canonical = digits == "0" || !digits.starts_with('0');
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !(canonical && all_digits) {
        return None;
    }
    digits.parse().ok().map(make)
}

/// Declared indices with where each was declared.
#[derive(Default)]
struct Declarations {
    inputs: BTreeMap<usize, Position>,
    outputs: BTreeMap<usize, Position>,
}

impl Declarations {
    fn declare(&mut self, variable: Variable, at: Position) -> Result<(), ParseError> {
        let (declared, index) = match variable {
            Variable::Input(i) => (&mut self.inputs, i),
            Variable::Output(j) => (&mut self.outputs, j),
        };
        if declared.insert(index, at).is_some() {
            return Err(ParseError::DuplicateDeclaration { at, name: variable.to_string() });
        }
        Ok(())
    }

    fn contains(&self, variable: Variable) -> bool {
        match variable {
            Variable::Input(i) => self.inputs.contains_key(&i),
            Variable::Output(j) => self.outputs.contains_key(&j),
        }
    }

    fn input_declared_at(&self, index: usize) -> Position {
        self.inputs.get(&index).copied().unwrap_or(Position::START)
    }
}

struct Assertion {
    formula: Formula,
    at: Position,
}

fn read_commands(expressions: &[Expression]) -> Result<(Declarations, Vec<Assertion>), ParseError> {
    let mut declarations = Declarations::default();
    let mut assertions = Vec::new();
    for expression in expressions {
        let Expression::List { items, at } = expression else {
            return Err(syntax_error(expression.at(), "expected a command such as (assert ...)"));
        };
        let (command, arguments) = operator_and_arguments(items, *at)?;
        match command {
            "declare-const" => declare_const(arguments, *at, &mut declarations)?,
            "assert" => assertions.push(assertion(arguments, *at, &declarations)?),
            // Harmless SMT-LIB commands some tools emit.
            "set-logic" | "set-info" | "set-option" | "check-sat" | "get-model" | "exit" => {}
            other => return Err(ParseError::UnsupportedCommand { at: *at, name: other.to_string() }),
        }
    }
    Ok((declarations, assertions))
}

fn declare_const(arguments: &[Expression], at: Position, declarations: &mut Declarations) -> Result<(), ParseError> {
    let [name, sort] = arguments else {
        return Err(syntax_error(at, "declare-const expects a name and a sort"));
    };
    let (name, name_at) = expect_atom(name, "a variable name")?;
    let (sort, sort_at) = expect_atom(sort, "a sort")?;
    if sort != "Real" {
        return Err(ParseError::UnsupportedSort { at: sort_at, sort: sort.to_string() });
    }
    let variable =
        parse_variable_name(name).ok_or_else(|| ParseError::UnknownVariable { at: name_at, name: name.to_string() })?;
    declarations.declare(variable, name_at)
}

fn assertion(arguments: &[Expression], at: Position, declarations: &Declarations) -> Result<Assertion, ParseError> {
    let [body] = arguments else {
        return Err(syntax_error(at, "assert expects exactly one formula"));
    };
    Ok(Assertion { formula: formula(body, declarations)?, at })
}

/// The number of declared variables of one kind, which must be indexed 0..n.
fn contiguous_count(
    declared: &BTreeMap<usize, Position>,
    prefix: char,
    kind: &'static str,
) -> Result<usize, ParseError> {
    if declared.is_empty() {
        return Err(ParseError::NoVariables { at: Position::START, kind });
    }
    for (expected, (&index, &at)) in declared.iter().enumerate() {
        if index != expected {
            return Err(ParseError::NonContiguousDeclarations {
                at,
                name: format!("{prefix}_{index}"),
                missing: format!("{prefix}_{expected}"),
            });
        }
    }
    Ok(declared.len())
}

// ---------------------------------------------------------------------------
// Formulas

#[derive(Debug, Clone, Copy)]
enum Side {
    Lower,
    Upper,
}

/// A constraint sorted by what it constrains.
#[derive(Debug, Clone)]
enum Literal {
    InputBound {
        index: usize,
        side: Side,
        value: f64,
        strict: bool,
    },
    /// `form <= 0` (`< 0` when `strict`), exact.
    Output {
        form: ExactLinear,
        strict: bool,
    },
}

#[derive(Debug)]
enum Formula {
    Literal(Literal),
    And(Vec<Formula>, Position),
    Or(Vec<Formula>, Position),
}

#[derive(Debug, Clone, Copy)]
enum Relation {
    AtMost,
    AtLeast,
    Equal,
}

fn formula(expression: &Expression, declarations: &Declarations) -> Result<Formula, ParseError> {
    let Expression::List { items, at } = expression else {
        return Err(syntax_error(expression.at(), "expected a constraint such as (<= a b), (and ...) or (or ...)"));
    };
    let (operator, arguments) = operator_and_arguments(items, *at)?;
    match operator {
        "and" => Ok(Formula::And(sub_formulas(operator, arguments, *at, declarations)?, *at)),
        "or" => Ok(Formula::Or(sub_formulas(operator, arguments, *at, declarations)?, *at)),
        "<=" => comparison(Relation::AtMost, false, arguments, *at, declarations),
        "<" => comparison(Relation::AtMost, true, arguments, *at, declarations),
        ">=" => comparison(Relation::AtLeast, false, arguments, *at, declarations),
        ">" => comparison(Relation::AtLeast, true, arguments, *at, declarations),
        "=" => comparison(Relation::Equal, false, arguments, *at, declarations),
        other => Err(ParseError::UnsupportedOperator { at: *at, operator: other.to_string() }),
    }
}

fn sub_formulas(
    operator: &str,
    arguments: &[Expression],
    at: Position,
    declarations: &Declarations,
) -> Result<Vec<Formula>, ParseError> {
    if arguments.is_empty() {
        return Err(syntax_error(at, format!("'{operator}' needs at least one argument")));
    }
    arguments.iter().map(|a| formula(a, declarations)).collect()
}

/// `(op a b c ...)` is `a op b` and `b op c` and ...; `strict` for `<`
/// and `>`.
fn comparison(
    relation: Relation,
    strict: bool,
    arguments: &[Expression],
    at: Position,
    declarations: &Declarations,
) -> Result<Formula, ParseError> {
    if arguments.len() < 2 {
        return Err(syntax_error(at, "a comparison needs at least two terms"));
    }
    let terms = arguments.iter().map(|a| linear_term(a, declarations)).collect::<Result<Vec<_>, _>>()?;
    let mut literals = Vec::new();
    for (left, right) in terms.iter().zip(terms.iter().skip(1)) {
        let at_most_zero = match relation {
            Relation::AtMost => vec![left.minus(right)],
            Relation::AtLeast => vec![right.minus(left)],
            Relation::Equal => vec![left.minus(right), right.minus(left)],
        };
        for expression in at_most_zero {
            literals.push(Formula::Literal(classify(expression, strict, at)?));
        }
    }
    match <[Formula; 1]>::try_from(literals) {
        Ok([single]) => Ok(single),
        Err(literals) => Ok(Formula::And(literals, at)),
    }
}

/// Sorts `expression <= 0` (`< 0` when `strict`) into an input bound or an
/// output constraint.
fn classify(expression: LinearExpression, strict: bool, at: Position) -> Result<Literal, ParseError> {
    if !expression.is_finite() {
        return Err(ParseError::NotFinite { at });
    }
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (variable, coeff) in expression.coeffs.into_iter().filter(|(_, c)| !c.is_zero()) {
        match variable {
            Variable::Input(i) => inputs.push((i, coeff)),
            Variable::Output(j) => outputs.push((j, coeff)),
        }
    }
    match (inputs.as_slice(), outputs.is_empty()) {
        ([], true) => Err(ParseError::ConstantConstraint { at }),
        ([], false) => {
            Ok(Literal::Output { form: ExactLinear { terms: outputs, constant: expression.constant }, strict })
        }
        ([(index, coeff)], true) => input_bound(*index, coeff, &expression.constant, strict, at),
        (_, true) => Err(ParseError::MultiInputConstraint { at }),
        (_, false) => Err(ParseError::MixedConstraint { at }),
    }
}

/// The bound on X_index given by `coeff * X_index + constant <= 0` (`< 0`
/// when `strict`): the exact quotient, as the f64 bound that admits the
/// same f64 inputs ([`upper_bound`], [`lower_bound`]).
fn input_bound(
    index: usize,
    coeff: &BigRational,
    constant: &BigRational,
    strict: bool,
    at: Position,
) -> Result<Literal, ParseError> {
    let value = -constant / coeff;
    let (side, bound) = if coeff.is_positive() {
        (Side::Upper, upper_bound(&value, strict))
    } else {
        (Side::Lower, lower_bound(&value, strict))
    };
    let bound = bound.ok_or(ParseError::NotFinite { at })?;
    Ok(Literal::InputBound { index, side, value: bound.value, strict: bound.strict })
}

// ---------------------------------------------------------------------------
// Linear terms

/// `sum coeffs * variables + constant`, exact: the property's numbers as
/// parsed (each the nearest f64), every sum and product of them rational.
#[derive(Debug, Clone, Default)]
struct LinearExpression {
    coeffs: BTreeMap<Variable, BigRational>,
    constant: BigRational,
}

impl LinearExpression {
    fn constant(value: BigRational) -> Self {
        LinearExpression { coeffs: BTreeMap::new(), constant: value }
    }

    fn variable(variable: Variable) -> Self {
        LinearExpression { coeffs: BTreeMap::from([(variable, BigRational::one())]), constant: BigRational::zero() }
    }

    fn plus(mut self, other: &LinearExpression) -> Self {
        for (variable, coeff) in &other.coeffs {
            *self.coeffs.entry(*variable).or_insert_with(BigRational::zero) += coeff;
        }
        self.constant += &other.constant;
        self
    }

    fn minus(&self, other: &LinearExpression) -> Self {
        self.clone().plus(&other.clone().scaled(&-BigRational::one()))
    }

    fn scaled(mut self, factor: &BigRational) -> Self {
        self.coeffs.values_mut().for_each(|c| *c *= factor);
        self.constant *= factor;
        self
    }

    /// The value when no variable has a nonzero coefficient.
    fn constant_value(&self) -> Option<&BigRational> {
        self.coeffs.values().all(Zero::is_zero).then_some(&self.constant)
    }

    /// Whether every coefficient and the constant is within f64's range
    /// (the search works on their nearest f64).
    fn is_finite(&self) -> bool {
        nearest(&self.constant).is_some() && self.coeffs.values().all(|c| nearest(c).is_some())
    }
}

#[derive(Debug, Clone, Copy)]
enum Arithmetic {
    Sum,
    Difference,
    Product,
}

fn linear_term(expression: &Expression, declarations: &Declarations) -> Result<LinearExpression, ParseError> {
    match expression {
        Expression::Atom { text, at } => atom_term(text, *at, declarations),
        Expression::List { items, at } => compound_term(items, *at, declarations),
    }
}

fn compound_term(
    items: &[Expression],
    at: Position,
    declarations: &Declarations,
) -> Result<LinearExpression, ParseError> {
    let (operator, arguments) = operator_and_arguments(items, at)?;
    let arithmetic = match operator {
        "+" => Arithmetic::Sum,
        "-" => Arithmetic::Difference,
        "*" => Arithmetic::Product,
        other => return Err(ParseError::UnsupportedOperator { at, operator: other.to_string() }),
    };
    let terms = arguments.iter().map(|a| linear_term(a, declarations)).collect::<Result<Vec<_>, _>>()?;
    let Some((first, rest)) = terms.split_first() else {
        return Err(syntax_error(at, format!("'{operator}' needs at least one argument")));
    };
    let value = match arithmetic {
        Arithmetic::Sum => rest.iter().fold(first.clone(), |sum, term| sum.plus(term)),
        Arithmetic::Difference if rest.is_empty() => first.clone().scaled(&-BigRational::one()),
        Arithmetic::Difference => rest.iter().fold(first.clone(), |difference, term| difference.minus(term)),
        Arithmetic::Product => product(terms, at)?,
    };
    if !value.is_finite() {
        return Err(ParseError::NotFinite { at });
    }
    Ok(value)
}

/// A product stays linear only if at most one factor has variables.
fn product(factors: Vec<LinearExpression>, at: Position) -> Result<LinearExpression, ParseError> {
    let (constants, variables): (Vec<_>, Vec<_>) = factors.into_iter().partition(|f| f.constant_value().is_some());
    let scale: BigRational = constants.iter().filter_map(LinearExpression::constant_value).product();
    let mut variables = variables.into_iter();
    match (variables.next(), variables.next()) {
        (None, _) => Ok(LinearExpression::constant(scale)),
        (Some(term), None) => Ok(term.scaled(&scale)),
        (Some(_), Some(_)) => Err(ParseError::NonlinearProduct { at }),
    }
}

fn atom_term(text: &str, at: Position, declarations: &Declarations) -> Result<LinearExpression, ParseError> {
    if starts_like_number(text) {
        let value = parse_number(text, at)?;
        let exact = rational(value).ok_or(ParseError::NotFinite { at })?;
        return Ok(LinearExpression::constant(exact));
    }
    let variable =
        parse_variable_name(text).ok_or_else(|| ParseError::UnknownVariable { at, name: text.to_string() })?;
    if !declarations.contains(variable) {
        return Err(ParseError::UndeclaredVariable { at, name: text.to_string() });
    }
    Ok(LinearExpression::variable(variable))
}

fn starts_like_number(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// Decimal numbers with optional sign and exponent; `inf` and `NaN` are refused.
fn parse_number(text: &str, at: Position) -> Result<f64, ParseError> {
    let only_number_characters = text.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    match text.parse::<f64>() {
        Ok(value) if only_number_characters && value.is_finite() => Ok(value),
        _ => Err(ParseError::BadNumber { at, text: text.to_string() }),
    }
}

// ---------------------------------------------------------------------------
// Disjunctive normal form

type Conjunction = Vec<Literal>;

fn conjoin_assertions(assertions: &[Assertion]) -> Result<Vec<Conjunction>, ParseError> {
    assertions.iter().try_fold(vec![Vec::new()], |conjunctions, assertion| {
        conjoin(conjunctions, normal_form(&assertion.formula)?, assertion.at)
    })
}

fn normal_form(formula: &Formula) -> Result<Vec<Conjunction>, ParseError> {
    match formula {
        Formula::Literal(literal) => Ok(vec![vec![literal.clone()]]),
        Formula::And(parts, at) => {
            parts.iter().try_fold(vec![Vec::new()], |conjunctions, part| conjoin(conjunctions, normal_form(part)?, *at))
        }
        Formula::Or(parts, at) => {
            let mut disjuncts = Vec::new();
            let mut literals = 0_usize;
            for part in parts {
                let part = normal_form(part)?;
                literals = literals.saturating_add(total_literals(&part));
                disjuncts.extend(part);
                check_normal_form_size(disjuncts.len(), literals, *at)?;
            }
            Ok(disjuncts)
        }
    }
}

/// Distributes `(or left...) and (or right...)` into one disjunction.
fn conjoin(mut left: Vec<Conjunction>, right: Vec<Conjunction>, at: Position) -> Result<Vec<Conjunction>, ParseError> {
    let count = left.len().saturating_mul(right.len());
    let literals = total_literals(&left)
        .saturating_mul(right.len())
        .saturating_add(total_literals(&right).saturating_mul(left.len()));
    check_normal_form_size(count, literals, at)?;
    // The common case, a conjunction, extends in place: files with one
    // assert per input bound stay linear in their size.
    if let [single] = right.as_slice() {
        left.iter_mut().for_each(|l| l.extend_from_slice(single));
        return Ok(left);
    }
    Ok(left.iter().flat_map(|l| right.iter().map(move |r| [l.as_slice(), r.as_slice()].concat())).collect())
}

fn total_literals(conjunctions: &[Conjunction]) -> usize {
    conjunctions.iter().map(Vec::len).sum()
}

fn check_normal_form_size(disjuncts: usize, literals: usize, at: Position) -> Result<(), ParseError> {
    if disjuncts > MAX_DISJUNCTS {
        return Err(ParseError::TooManyDisjuncts { at, limit: MAX_DISJUNCTS });
    }
    if literals > MAX_NORMAL_FORM_LITERALS {
        return Err(ParseError::NormalFormTooLarge { at, limit: MAX_NORMAL_FORM_LITERALS });
    }
    Ok(())
}

/// Turns each conjunction into a disjunct, dropping those with an empty box.
fn build_disjuncts(
    conjunctions: &[Conjunction],
    declarations: &Declarations,
    num_inputs: usize,
    num_outputs: usize,
) -> Result<Vec<Disjunct>, ParseError> {
    let mut disjuncts = Vec::new();
    for (index, conjunction) in conjunctions.iter().enumerate() {
        let disjunct = disjunct(conjunction, num_inputs, num_outputs);
        if disjunct.input.is_empty() {
            continue;
        }
        check_bounded(&disjunct.input, index + 1, declarations)?;
        disjuncts.push(disjunct);
    }
    Ok(disjuncts)
}

fn disjunct(conjunction: &[Literal], num_inputs: usize, num_outputs: usize) -> Disjunct {
    let mut input = InputBox::unbounded(num_inputs);
    let mut output = Vec::new();
    for literal in conjunction {
        match literal {
            Literal::InputBound { index, side, value, strict } => input.tighten(*index, *side, *value, *strict),
            Literal::Output { form, strict } => output.push(dense_constraint(form, *strict, num_outputs)),
        }
    }
    Disjunct { input, output }
}

/// The constraint `form <= 0` with its nearest f64 coefficients over every
/// output (classified forms are finite in f64).
fn dense_constraint(form: &ExactLinear, strict: bool, num_outputs: usize) -> LinearConstraint {
    let mut dense = vec![0.0; num_outputs];
    for (index, coeff) in &form.terms {
        if let Some(slot) = dense.get_mut(*index) {
            *slot = nearest(coeff).unwrap_or(f64::NAN);
        }
    }
    let constant = nearest(&form.constant).unwrap_or(f64::NAN);
    LinearConstraint { coeffs: dense, constant, strict, exact: form.clone() }
}

fn check_bounded(input: &InputBox, disjunct: usize, declarations: &Declarations) -> Result<(), ParseError> {
    for (index, (lower, upper)) in input.lower.iter().zip(&input.upper).enumerate() {
        let missing_side = match (lower.is_finite(), upper.is_finite()) {
            (false, _) => "lower",
            (_, false) => "upper",
            (true, true) => continue,
        };
        return Err(ParseError::MissingInputBound {
            at: declarations.input_declared_at(index),
            variable: Variable::Input(index).to_string(),
            side: missing_side,
            disjunct,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn parse(text: &str) -> Property {
        match parse_vnnlib(text) {
            Ok(property) => property,
            Err(error) => panic!("expected success, got: {error}"),
        }
    }

    fn parse_error(text: &str) -> ParseError {
        match parse_vnnlib(text) {
            Ok(property) => panic!("expected an error, got {property:?}"),
            Err(error) => error,
        }
    }

    /// Declarations of X_0..X_{inputs-1} and Y_0..Y_{outputs-1}.
    fn declarations(inputs: usize, outputs: usize) -> String {
        let xs = (0..inputs).map(|i| format!("(declare-const X_{i} Real)\n"));
        let ys = (0..outputs).map(|j| format!("(declare-const Y_{j} Real)\n"));
        xs.chain(ys).collect()
    }

    /// A property with X_0 in [-1, 1] and the given extra text.
    fn unit_box_with(extra: &str) -> String {
        format!("{}(assert (<= X_0 1))\n(assert (>= X_0 -1))\n{extra}", declarations(1, 3))
    }

    fn single_disjunct(property: &Property) -> &Disjunct {
        match property.disjuncts.as_slice() {
            [only] => only,
            other => panic!("expected one disjunct, got {}", other.len()),
        }
    }

    fn constraint(coeffs: &[f64], constant: f64) -> LinearConstraint {
        let exact = ExactLinear::of_f64(coeffs, constant).unwrap();
        LinearConstraint { coeffs: coeffs.to_vec(), constant, strict: false, exact }
    }

    fn strict_constraint(coeffs: &[f64], constant: f64) -> LinearConstraint {
        LinearConstraint { strict: true, ..constraint(coeffs, constant) }
    }

    fn assert_one_line_at(error: &ParseError, line: usize, column: usize) {
        let message = error.to_string();
        assert!(message.starts_with(&format!("line {line}, column {column}: ")), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    // ----- forms -----

    #[test]
    fn comments_and_whitespace_are_ignored() {
        let text = "; header\n(declare-const ; inline\n  X_0\n Real)\n\t(declare-const Y_0 Real);tail\n\
                    (assert\n (<=\n X_0 ; c\n 2))\n(assert (>= X_0 1)) ; done";
        let property = parse(text);
        assert_eq!((property.num_inputs, property.num_outputs), (1, 1));
        let disjunct = single_disjunct(&property);
        assert_eq!(disjunct.input, InputBox::closed(vec![1.0], vec![2.0]));
        assert!(disjunct.output.is_empty());
    }

    #[test]
    fn bounds_in_both_directions_and_both_orders() {
        let text = format!(
            "{}(assert (<= X_0 1))(assert (>= X_0 -1))(assert (<= -2 X_1))(assert (>= 3 X_1))",
            declarations(2, 1)
        );
        let disjunct = parse(&text).disjuncts.remove(0);
        assert_eq!(disjunct.input.lower, vec![-1.0, -2.0]);
        assert_eq!(disjunct.input.upper, vec![1.0, 3.0]);
    }

    /// The single output constraint of a property over `[-1, 1]` and one output.
    fn output_constraint(assertion: &str) -> LinearConstraint {
        let text = format!("{}(assert (<= X_0 1))(assert (>= X_0 -1)){assertion}", declarations(1, 1));
        let property = parse(&text);
        let disjunct = single_disjunct(&property);
        assert_eq!(disjunct.output.len(), 1);
        disjunct.output[0].clone()
    }

    #[test]
    fn sums_and_products_of_the_propertys_numbers_are_exact() {
        // 1e17 + 1 - 1e17 is 0 in f64, 1 exactly: Y_0 <= -0.5.
        let c = output_constraint("(assert (<= (+ Y_0 1e17 1 -1e17) 0.5))");
        assert!(c.holds_at(&[-0.5]) && !c.holds_at(&[-0.49999999]) && !c.holds_at(&[0.2]));
        // A coefficient that f64 sums to 0 is 1: Y_0 <= 0.5, not a constraint without variables.
        let c = output_constraint("(assert (<= (+ (* 1e17 Y_0) Y_0 (* -1e17 Y_0)) 0.5))");
        assert!(c.holds_at(&[0.5]) && !c.holds_at(&[0.5000001]));
        // The numbers are the nearest f64: 0.5 + f64(0.1) - f64(0.6) is
        // 2.8e-17 > 0 exactly (f64 arithmetic would round it to 0).
        let c = output_constraint("(assert (<= (+ Y_0 0.1) 0.6))");
        assert!(!c.holds_at(&[0.5]) && c.holds_at(&[0.4999999]));
        // Products of constants are exact too: 3 * f64(0.1) is not f64(0.3).
        let c = output_constraint("(assert (<= (* 3 (- Y_0 0.1)) 0))");
        assert!(c.holds_at(&[0.1]) && !c.holds_at(&[0.10000001]));
    }

    #[test]
    fn input_bounds_computed_from_the_propertys_numbers_are_exact() {
        // X_0 + 1e17 + 1 - 1e17 <= 0.5 is X_0 <= -0.5, which X_0 >= 0 empties.
        let text = format!("{}(assert (<= (+ X_0 1e17 1 -1e17) 0.5))(assert (>= X_0 0))", declarations(1, 1));
        let error = parse_vnnlib(&text).unwrap_err();
        assert!(matches!(error, ParseError::EmptyInputSet { .. }), "{error}");
        // 0.1 X_0 <= c: the exact quotient lies between two f64; the bound
        // is the one below it, so that the one above is outside the box.
        let text = format!("{}(assert (<= (* 0.1 X_0) 0.1573268175125122))(assert (>= X_0 -1))", declarations(1, 1));
        let property = parse(&text);
        let input = &single_disjunct(&property).input;
        let quotient = rational(0.1573268175125122).unwrap() / rational(0.1).unwrap();
        let upper = input.upper[0];
        assert!(rational(upper).unwrap() < quotient && rational(upper.next_up()).unwrap() > quotient);
        assert!(input.contains(&[upper]) && !input.contains(&[upper.next_up()]));
        assert!(!input.upper_strict[0]);
        // A strict bound that is an f64 stays strict.
        let text = format!("{}(assert (< (* 2 X_0) 1))(assert (> X_0 -1))", declarations(1, 1));
        let property = parse(&text);
        let input = &single_disjunct(&property).input;
        assert_eq!((input.upper[0], input.upper_strict[0]), (0.5, true));
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let text = format!("\u{feff}{}", unit_box_with("(assert (>= Y_0 Y_1))"));
        assert_eq!(parse(&text), parse(&unit_box_with("(assert (>= Y_0 Y_1))")));
    }

    #[test]
    fn strict_comparisons_stay_strict() {
        let text = format!("{}(assert (< X_0 1))(assert (> X_0 0))(assert (> Y_0 Y_1))", declarations(1, 2));
        let property = parse(&text);
        let disjunct = single_disjunct(&property);
        let strict =
            InputBox { lower_strict: vec![true], upper_strict: vec![true], ..InputBox::closed(vec![0.0], vec![1.0]) };
        assert_eq!(disjunct.input, strict);
        assert_eq!(disjunct.output, vec![strict_constraint(&[-1.0, 1.0], 0.0)]);
        assert!(
            disjunct.input.contains(&[0.5]) && !disjunct.input.contains(&[0.0]) && !disjunct.input.contains(&[1.0])
        );
        // A strict and a non-strict bound at the same value: the strict one wins.
        let text = format!("{}(assert (<= X_0 1))(assert (< X_0 1))(assert (>= X_0 0))", declarations(1, 1));
        let input = parse(&text).disjuncts.remove(0).input;
        assert_eq!((input.lower_strict[0], input.upper_strict[0]), (false, true));
        // A looser strict bound leaves a tighter closed one as it is.
        let text = format!("{}(assert (<= X_0 1))(assert (< X_0 2))(assert (>= X_0 0))", declarations(1, 1));
        let input = parse(&text).disjuncts.remove(0).input;
        assert_eq!((input.upper[0], input.upper_strict[0]), (1.0, false));
        // An open interval around one point is empty.
        let text = format!("{}(assert (or (and (< X_0 1) (> X_0 1)) (and (<= X_0 2) (>= X_0 2))))", declarations(1, 1));
        assert_eq!(parse(&text).disjuncts.len(), 1, "only [2, 2] remains");
    }

    #[test]
    fn strict_output_constraints_hold_only_below_zero() {
        let c = strict_constraint(&[1.0], 0.0);
        assert!(!c.holds_at(&[0.0]) && c.holds_at(&[-1e-45]) && !c.holds_at(&[1e-45]));
        let c = constraint(&[1.0], 0.0);
        assert!(c.holds_at(&[0.0]) && !c.holds_at(&[1e-45]));
        // The exact value decides where the f64 sum rounds to zero.
        let c = constraint(&[1.0, 1.0], -1.0);
        let y = [f64::from(1.0f32 - f32::EPSILON / 2.0), f64::from(f32::EPSILON / 2.0) * (1.0 + f64::EPSILON)];
        assert!(!c.holds_at(&y), "{}", c.margin(&y));
        assert!(!c.holds_at(&[f64::NAN, 0.0]) && !c.holds_at(&[0.0]), "NaN or a wrong length never holds");
    }

    #[test]
    fn repeated_bounds_intersect() {
        let property = parse(&unit_box_with("(assert (<= X_0 0.5))(assert (>= X_0 -3))"));
        assert_eq!(single_disjunct(&property).input, InputBox::closed(vec![-1.0], vec![0.5]));
    }

    #[test]
    fn equality_gives_two_constraints() {
        let text = format!("{}(assert (= X_0 0.25))(assert (= Y_0 Y_1))", declarations(1, 2));
        let property = parse(&text);
        let disjunct = single_disjunct(&property);
        assert_eq!(disjunct.input, InputBox::closed(vec![0.25], vec![0.25]));
        assert_eq!(disjunct.output, vec![constraint(&[1.0, -1.0], 0.0), constraint(&[-1.0, 1.0], 0.0)]);
    }

    #[test]
    fn chained_comparison_is_a_conjunction() {
        let text = format!("{}(assert (<= 0 X_0 1))", declarations(1, 1));
        let property = parse(&text);
        assert_eq!(single_disjunct(&property).input, InputBox::closed(vec![0.0], vec![1.0]));
    }

    #[test]
    fn number_forms() {
        let cases = [
            ("3", 3.0),
            ("-3", -3.0),
            ("+3", 3.0),
            ("0.125", 0.125),
            ("-0.5", -0.5),
            (".5", 0.5),
            ("1e3", 1000.0),
            ("-1.5e-3", -1.5e-3),
            ("+2.5E+2", 250.0),
        ];
        for (text, value) in cases {
            let property = parse(&unit_box_with(&format!("(assert (<= Y_0 {text}))")));
            let output = &single_disjunct(&property).output;
            assert_eq!(output, &vec![constraint(&[1.0, 0.0, 0.0], -value)], "{text}");
        }
    }

    #[test]
    fn linear_expressions_over_outputs() {
        let cases = [
            ("(<= (+ Y_0 Y_1 2) 0)", constraint(&[1.0, 1.0, 0.0], 2.0)),
            ("(<= (+ Y_0) 0)", constraint(&[1.0, 0.0, 0.0], 0.0)),
            ("(<= (- Y_0) 1)", constraint(&[-1.0, 0.0, 0.0], -1.0)),
            ("(<= (- Y_0 Y_1 Y_2) 0)", constraint(&[1.0, -1.0, -1.0], 0.0)),
            ("(<= (* 2 Y_0) 1)", constraint(&[2.0, 0.0, 0.0], -1.0)),
            ("(<= (* Y_1 -3) 0)", constraint(&[0.0, -3.0, 0.0], 0.0)),
            ("(<= (* 2 3 Y_2) 0)", constraint(&[0.0, 0.0, 6.0], 0.0)),
            ("(>= (+ (* 2 Y_0) (- Y_1 1)) (* 0.5 Y_2))", constraint(&[-2.0, -1.0, 0.5], 1.0)),
            ("(<= (+ Y_0 Y_0) Y_1)", constraint(&[2.0, -1.0, 0.0], 0.0)),
        ];
        for (atom, expected) in cases {
            let property = parse(&unit_box_with(&format!("(assert {atom})")));
            assert_eq!(single_disjunct(&property).output, vec![expected], "{atom}");
        }
    }

    #[test]
    fn cancelled_variables_are_dropped() {
        let property = parse(&unit_box_with("(assert (<= (+ Y_0 (- X_0 X_0)) 1))"));
        assert_eq!(single_disjunct(&property).output, vec![constraint(&[1.0, 0.0, 0.0], -1.0)]);
    }

    #[test]
    fn scaled_input_bounds_go_into_the_box() {
        let text = format!(
            "{}(assert (<= (* 2 X_0) 1))(assert (>= (* 4 X_0) -1))\
             (assert (>= (* -2 X_1) 1))(assert (<= (- X_1) 3))",
            declarations(2, 1)
        );
        let property = parse(&text);
        let disjunct = single_disjunct(&property);
        assert_eq!(disjunct.input, InputBox::closed(vec![-0.25, -3.0], vec![0.5, -0.5]));
        assert!(disjunct.output.is_empty());
    }

    #[test]
    fn top_level_asserts_are_conjoined() {
        let property = parse(&unit_box_with("(assert (<= Y_0 1))(assert (and (<= Y_1 2) (<= Y_2 3)))"));
        assert_eq!(single_disjunct(&property).output.len(), 3);
    }

    #[test]
    fn or_of_ands_mixing_input_and_output_with_global_bounds() {
        let text = format!(
            "{}(assert (<= X_1 5))(assert (>= X_1 -5))\
             (assert (or (and (>= X_0 0) (<= X_0 1) (<= Y_0 0))\
                         (and (>= X_0 2) (<= X_0 3) (<= X_1 1) (>= Y_0 1) (<= Y_0 4))))",
            declarations(2, 1)
        );
        let property = parse(&text);
        assert_eq!(property.disjuncts.len(), 2);
        let [first, second] = property.disjuncts.as_slice() else { panic!("two disjuncts") };
        assert_eq!(first.input, InputBox::closed(vec![0.0, -5.0], vec![1.0, 5.0]));
        assert_eq!(first.output, vec![constraint(&[1.0], 0.0)]);
        assert_eq!(second.input, InputBox::closed(vec![2.0, -5.0], vec![3.0, 1.0]));
        assert_eq!(second.output, vec![constraint(&[-1.0], 1.0), constraint(&[1.0], -4.0)]);
    }

    #[test]
    fn nested_and_or_distribute() {
        // (a or b) and (c or d or e) and ((f and (g or h)) or i): 2 * 3 * 3 disjuncts.
        let property = parse(&unit_box_with(
            "(assert (or (<= Y_0 0) (<= Y_0 1)))\
             (assert (or (<= Y_1 0) (<= Y_1 1) (<= Y_1 2)))\
             (assert (or (and (<= Y_2 0) (or (<= Y_2 1) (<= Y_2 2))) (<= Y_2 3)))",
        ));
        assert_eq!(property.disjuncts.len(), 18);
        let sizes: Vec<usize> = property.disjuncts.iter().map(|d| d.output.len()).collect();
        assert_eq!(sizes.iter().filter(|&&s| s == 4).count(), 12);
        assert_eq!(sizes.iter().filter(|&&s| s == 3).count(), 6);
        assert_eq!(property.disjuncts[0].output[0], constraint(&[1.0, 0.0, 0.0], 0.0));
    }

    #[test]
    fn input_disjuncts_are_intersected_with_global_bounds() {
        let text = format!(
            "{}(assert (or (and (<= X_0 1) (>= X_0 -1)) (and (<= X_0 9) (>= X_0 7))))\
             (assert (<= X_0 8))",
            declarations(1, 1)
        );
        let property = parse(&text);
        let boxes: Vec<&InputBox> = property.disjuncts.iter().map(|d| &d.input).collect();
        assert_eq!(boxes, vec![&InputBox::closed(vec![-1.0], vec![1.0]), &InputBox::closed(vec![7.0], vec![8.0])]);
    }

    #[test]
    fn empty_disjuncts_are_dropped() {
        let text =
            format!("{}(assert (or (and (<= X_0 1) (>= X_0 2)) (and (<= X_0 4) (>= X_0 3))))", declarations(1, 1));
        let property = parse(&text);
        assert_eq!(single_disjunct(&property).input, InputBox::closed(vec![3.0], vec![4.0]));
    }

    #[test]
    fn an_empty_box_with_a_missing_bound_is_dropped_not_reported() {
        let text = format!(
            "{}(assert (or (and (<= X_0 1) (>= X_0 2)) (and (<= X_0 4) (>= X_0 3) (<= X_1 0) (>= X_1 0))))",
            declarations(2, 1)
        );
        assert_eq!(parse(&text).disjuncts.len(), 1);
    }

    #[test]
    fn all_disjuncts_empty_is_an_error() {
        let text = format!("{}(assert (<= X_0 1))(assert (>= X_0 2))", declarations(1, 1));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::EmptyInputSet { .. }), "{error}");
        assert!(error.to_string().contains("the input set is empty"));
        assert_one_line_at(&error, 3, 1);
    }

    #[test]
    fn too_many_disjuncts_is_an_error() {
        let or_of_four = "(assert (or (<= Y_0 0) (<= Y_0 1) (<= Y_0 2) (<= Y_0 3)))\n";
        let text = unit_box_with(&or_of_four.repeat(9));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::TooManyDisjuncts { limit: 100_000, .. }), "{error}");
        let fits = parse(&unit_box_with(&or_of_four.repeat(8)));
        assert_eq!(fits.disjuncts.len(), 65_536);
    }

    #[test]
    fn ignored_smtlib_commands() {
        let text = format!(
            "(set-logic QF_LRA){}(assert (<= X_0 1))(assert (>= X_0 0))(check-sat)(get-model)",
            declarations(1, 1)
        );
        assert_eq!(parse(&text).disjuncts.len(), 1);
    }

    // ----- errors -----

    #[test]
    fn unclosed_parenthesis() {
        let text = format!("{}(assert (<= X_0 1)\n(assert (>= X_0 0))", declarations(1, 1));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::UnclosedParenthesis { .. }), "{error}");
        assert_one_line_at(&error, 3, 1);
    }

    #[test]
    fn unmatched_close_parenthesis() {
        let text = format!("{}(assert (<= X_0 1)))", declarations(1, 1));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::UnmatchedCloseParenthesis { .. }), "{error}");
        assert_one_line_at(&error, 3, 20);
    }

    #[test]
    fn unknown_variable_in_use_and_declaration() {
        let error = parse_error(&unit_box_with("(assert\n    (<= Z_3 1))"));
        assert!(matches!(&error, ParseError::UnknownVariable { name, .. } if name == "Z_3"), "{error}");
        assert_eq!(error.to_string(), "line 8, column 9: unknown variable 'Z_3' (expected X_<i> or Y_<j>)");

        let error = parse_error("(declare-const Z_0 Real)");
        assert!(matches!(error, ParseError::UnknownVariable { .. }), "{error}");
        assert_one_line_at(&error, 1, 16);

        let error = parse_error("(declare-const X_01 Real)");
        assert!(matches!(error, ParseError::UnknownVariable { .. }), "{error}");
    }

    #[test]
    fn undeclared_variable_use() {
        let error = parse_error(&unit_box_with("(assert (<= Y_7 1))"));
        assert!(matches!(&error, ParseError::UndeclaredVariable { name, .. } if name == "Y_7"), "{error}");
        assert_one_line_at(&error, 7, 13);
    }

    #[test]
    fn use_before_declaration_is_undeclared() {
        let error = parse_error("(declare-const X_0 Real)(assert (<= Y_0 1))(declare-const Y_0 Real)");
        assert!(matches!(error, ParseError::UndeclaredVariable { .. }), "{error}");
    }

    #[test]
    fn bad_numbers() {
        for bad in ["1.2.3", "1e", "--1", "-inf", "+NaN", "1e999", "2x", "-"] {
            let error = parse_error(&unit_box_with(&format!("(assert (<= Y_0 {bad}))")));
            assert!(matches!(&error, ParseError::BadNumber { text, .. } if text == bad), "{bad}: {error}");
            assert_one_line_at(&error, 7, 17);
        }
    }

    #[test]
    fn long_tokens_are_clipped() {
        let long = "9".repeat(5000);
        let error = parse_vnnlib(&format!("({long})")).unwrap_err().to_string();
        assert!(error.starts_with(&format!("line 1, column 1: unsupported command '{}…'", &long[..200])), "{error}");
        let error = parse_error(&unit_box_with(&format!("(assert (<= Y_0 1{}x))", long))).to_string();
        assert!(error.len() < 300 && error.contains("bad number '1999"), "{error}");
    }

    #[test]
    fn unsupported_operators() {
        for formula in ["(ite (<= Y_0 0) (<= Y_1 0) (<= Y_2 0))", "(not (<= Y_0 0))", "(=> (<= Y_0 0) (<= Y_1 0))"] {
            let error = parse_error(&unit_box_with(&format!("(assert {formula})")));
            assert!(matches!(error, ParseError::UnsupportedOperator { .. }), "{formula}: {error}");
            assert_one_line_at(&error, 7, 9);
        }
        let error = parse_error(&unit_box_with("(assert (<= (/ Y_0 2) 0))"));
        assert!(matches!(&error, ParseError::UnsupportedOperator { operator, .. } if operator == "/"), "{error}");
        assert_one_line_at(&error, 7, 13);
    }

    #[test]
    fn nonlinear_product_is_unsupported() {
        let text = format!("{}(assert (<= (* X_0 Y_0) 1))", declarations(1, 1));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::NonlinearProduct { .. }), "{error}");
        assert!(error.to_string().contains("unsupported"));
        assert_one_line_at(&error, 3, 13);
    }

    #[test]
    fn non_contiguous_declarations() {
        let text = "(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)";
        let error = parse_error(text);
        assert!(
            matches!(&error, ParseError::NonContiguousDeclarations { name, missing, .. } if name == "X_2" && missing == "X_1"),
            "{error}"
        );
        assert_one_line_at(&error, 2, 16);

        let error = parse_error("(declare-const X_0 Real)\n(declare-const Y_1 Real)");
        assert!(matches!(&error, ParseError::NonContiguousDeclarations { missing, .. } if missing == "Y_0"), "{error}");
    }

    #[test]
    fn duplicate_declaration() {
        let error = parse_error("(declare-const X_0 Real)\n(declare-const X_0 Real)");
        assert!(matches!(error, ParseError::DuplicateDeclaration { .. }), "{error}");
        assert_one_line_at(&error, 2, 16);
    }

    #[test]
    fn unsupported_sort() {
        let error = parse_error("(declare-const X_0 Int)");
        assert!(matches!(error, ParseError::UnsupportedSort { .. }), "{error}");
    }

    #[test]
    fn missing_input_bound_names_variable_and_disjunct() {
        let text = format!("{}(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 1))", declarations(2, 1));
        let error = parse_error(&text);
        assert_eq!(error.to_string(), "line 2, column 16: input X_1 has no finite lower bound in disjunct 1");

        let text = format!("{}(assert (or (and (<= X_0 1) (>= X_0 0)) (and (>= X_0 0))))", declarations(1, 1));
        let error = parse_error(&text);
        assert!(
            matches!(&error, ParseError::MissingInputBound { variable, side: "upper", disjunct: 2, .. } if variable == "X_0"),
            "{error}"
        );
    }

    #[test]
    fn no_assertions_means_missing_bounds() {
        let error = parse_error(&declarations(1, 1));
        assert!(matches!(error, ParseError::MissingInputBound { .. }), "{error}");
    }

    #[test]
    fn mixed_input_output_constraint() {
        let error = parse_error(&unit_box_with("(assert (<= X_0 Y_0))"));
        assert!(matches!(error, ParseError::MixedConstraint { .. }), "{error}");
        assert_one_line_at(&error, 7, 9);
    }

    #[test]
    fn constraint_over_two_inputs() {
        let text = format!("{}(assert (<= X_0 X_1))", declarations(2, 1));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::MultiInputConstraint { .. }), "{error}");
        assert!(error.to_string().contains("not supported") || error.to_string().contains("unsupported"));
    }

    #[test]
    fn constraint_without_variables() {
        let error = parse_error(&unit_box_with("(assert (<= 1 2))"));
        assert!(matches!(error, ParseError::ConstantConstraint { .. }), "{error}");
    }

    #[test]
    fn empty_file_and_missing_declarations() {
        for text in ["", "   \n; only a comment\n"] {
            let error = parse_error(text);
            assert!(matches!(error, ParseError::NoVariables { .. }), "{error}");
            assert_one_line_at(&error, 1, 1);
        }
        let error = parse_error("(declare-const Y_0 Real)");
        assert!(matches!(error, ParseError::NoVariables { kind: "input (X_i)", .. }), "{error}");
        let error = parse_error("(declare-const X_0 Real)(assert (<= X_0 1))(assert (>= X_0 0))");
        assert!(matches!(error, ParseError::NoVariables { kind: "output (Y_j)", .. }), "{error}");
    }

    #[test]
    fn malformed_structure_is_a_syntax_error() {
        let cases = [
            "X_0",
            "()",
            "((assert) (<= X_0 1))",
            "(declare-const X_0)",
            "(declare-const (X_0) Real)",
            "(assert)",
            "(assert (<= X_0 1) (<= X_0 2))",
            "(assert X_0)",
            "(assert (and))",
            "(assert (<= X_0))",
            "(assert (<= (+) 1))",
        ];
        for case in cases {
            let text = format!("{}{case}", declarations(1, 1));
            let error = parse_error(&text);
            assert!(matches!(error, ParseError::Syntax { .. }), "{case}: {error}");
            assert!(error.to_string().starts_with("line "), "{error}");
        }
    }

    #[test]
    fn unsupported_command() {
        let error = parse_error("(declare-fun X_0 () Real)");
        assert!(matches!(error, ParseError::UnsupportedCommand { .. }), "{error}");
    }

    #[test]
    fn overflowing_arithmetic_is_an_error() {
        let error = parse_error(&unit_box_with("(assert (<= (* 1e300 1e300 Y_0) 1))"));
        assert!(matches!(error, ParseError::NotFinite { .. }), "{error}");
        let error = parse_error(&unit_box_with("(assert (<= (* 1e-300 X_0) 1e300))"));
        assert!(matches!(error, ParseError::NotFinite { .. }), "{error}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 100_000;
        let text = format!("{}(assert {}{})", declarations(1, 1), "(and ".repeat(depth), ")".repeat(depth));
        let error = parse_error(&text);
        assert!(matches!(error, ParseError::TooDeep { .. }), "{error}");
    }

    #[test]
    fn large_box_with_one_assert_per_bound_parses() {
        let inputs = 50_000;
        let bounds: String = (0..inputs).map(|i| format!("(assert (>= X_{i} 0))\n(assert (<= X_{i} 1))\n")).collect();
        let text = format!("{}{bounds}(assert (<= Y_0 0))", declarations(inputs, 1));
        let property = parse(&text);
        let disjunct = single_disjunct(&property);
        assert_eq!(property.num_inputs, inputs);
        assert!(disjunct.input.lower.iter().all(|l| *l == 0.0));
        assert!(disjunct.input.upper.iter().all(|u| *u == 1.0));
    }

    #[test]
    fn every_prefix_of_a_real_file_parses_or_errors_without_panic() {
        let text = fixture_text("acasxu/prop_6.vnnlib");
        for (end, _) in text.char_indices() {
            let _ = parse_vnnlib(text.get(..end).unwrap_or_default());
        }
    }

    // ----- margin and counterexamples -----

    #[test]
    fn margin_is_the_constraint_value() {
        let c = constraint(&[1.0, -2.0], 0.5);
        assert_eq!(c.margin(&[3.0, 1.0]), 1.5);
        assert_eq!(c.margin(&[0.0, 1.0]), -1.5);
    }

    #[test]
    fn counterexample_checks_box_outputs_and_tolerance() {
        let text = format!(
            "{}(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 2) (<= X_0 3))))(assert (<= Y_0 Y_1))",
            declarations(1, 2)
        );
        let property = parse(&text);
        assert!(property.is_counterexample(&[0.5], &[1.0, 2.0], 0.0));
        assert!(property.is_counterexample(&[2.5], &[1.0, 2.0], 0.0));
        assert!(!property.is_counterexample(&[1.5], &[1.0, 2.0], 0.0), "between the boxes");
        assert!(!property.is_counterexample(&[0.5], &[2.0, 1.0], 0.0), "outputs safe");
        assert!(property.is_counterexample(&[1.0], &[2.05, 2.0], 0.1), "outputs within the tolerance");
        assert!(!property.is_counterexample(&[1.0], &[2.05, 2.0], 0.01), "outputs outside the tolerance");
        assert!(!property.is_counterexample(&[1.0 + 1e-15], &[1.0, 2.0], 0.1), "inputs get no tolerance");
        assert!(!property.is_counterexample(&[0.5, 0.5], &[1.0, 2.0], 0.0), "wrong input length");
        assert!(!property.is_counterexample(&[0.5], &[1.0], 0.0), "wrong output length");
        assert!(!property.is_counterexample(&[f64::NAN], &[1.0, 2.0], 0.0));
    }

    #[test]
    fn inputs_lie_in_the_box_exactly_as_written() {
        let bound = 0.49999999998567607;
        let input = InputBox::closed(vec![-bound], vec![bound]);
        assert!(!input.contains(&[f64::from(bound as f32)]), "the nearest f32 above the upper bound is outside");
        assert!(!input.contains(&[f64::from(-bound as f32)]), "the nearest f32 below the lower bound is outside");
        assert!(input.contains(&[bound]) && input.contains(&[-bound]));
        assert!(input.contains(&[f64::from((bound as f32).next_down())]));
        let zero = InputBox::closed(vec![0.0], vec![0.0]);
        assert!(zero.contains(&[0.0]) && !zero.contains(&[1e-300]));
        assert!(!zero.contains(&[0.0, 0.0]), "wrong length");
        assert!(!zero.contains(&[f64::NAN]));
    }

    #[test]
    fn disjunct_margin_is_the_largest_constraint_margin() {
        let d = Disjunct {
            input: InputBox::closed(vec![0.0], vec![1.0]),
            output: vec![constraint(&[1.0, 0.0], -1.0), constraint(&[0.0, 1.0], -3.0)],
        };
        assert_eq!(d.margin(&[2.0, 1.0]), 1.0);
        assert!(d.margin(&[f64::NAN, 1.0]).is_nan() && d.margin(&[1.0, f64::NAN]).is_nan());
        assert!(!d.contains(&[0.5], &[f64::NAN, 1.0], 10.0));
        assert!(d.contains(&[0.5], &[2.0, 1.0], 1.0) && !d.contains(&[0.5], &[2.0, 1.0], 0.5));
        let everything = Disjunct { output: vec![], ..d };
        assert_eq!(everything.margin(&[9.0, 9.0]), 0.0);
    }

    #[test]
    fn counterexample_per_disjunct_outputs() {
        let text = format!(
            "{}(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 10)) (and (>= X_0 2) (<= X_0 3) (<= Y_0 -10))))",
            declarations(1, 1)
        );
        let property = parse(&text);
        assert!(property.is_counterexample(&[0.5], &[11.0], 0.0));
        assert!(!property.is_counterexample(&[0.5], &[-11.0], 0.0));
        assert!(property.is_counterexample(&[2.5], &[-11.0], 0.0));
        assert!(!property.is_counterexample(&[2.5], &[11.0], 0.0));
        assert!(property.violated_by(1, &[2.5], &[-11.0]));
        assert!(!property.violated_by(1, &[2.5], &[-10.0 + 1e-12]));
        assert!(!property.violated_by(0, &[2.5], &[-11.0]), "the other disjunct's box");
        assert!(!property.violated_by(2, &[2.5], &[-11.0]), "no disjunct 2");
    }

    // ----- fixtures -----

    fn fixtures_dir() -> PathBuf {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let candidates = [
            manifest.join("../shared/fixtures/vnncomp"),
            manifest.join("shared/fixtures/vnncomp"),
            PathBuf::from("/work/shared/fixtures/vnncomp"),
        ];
        match candidates.iter().find(|p| p.is_dir()) {
            Some(found) => found.clone(),
            None => panic!("VNN-COMP fixtures not found in {candidates:?}"),
        }
    }

    fn fixture_text(relative: &str) -> String {
        let path = fixtures_dir().join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn fixture(relative: &str) -> Property {
        match parse_vnnlib(&fixture_text(relative)) {
            Ok(property) => property,
            Err(error) => panic!("{relative}: {error}"),
        }
    }

    /// `Y_small <= Y_large` as a constraint over five outputs.
    fn at_most(small: usize, large: usize) -> LinearConstraint {
        let mut coeffs = vec![0.0; 5];
        coeffs[small] = 1.0;
        coeffs[large] = -1.0;
        constraint(&coeffs, 0.0)
    }

    fn output_structure(property: &Property) -> Vec<Vec<LinearConstraint>> {
        property.disjuncts.iter().map(|d| d.output.clone()).collect()
    }

    #[test]
    fn every_fixture_parses() {
        let mut count = 0;
        for folder in ["acasxu", "test"] {
            let entries = std::fs::read_dir(fixtures_dir().join(folder)).expect("fixture folder");
            for entry in entries {
                let path = entry.expect("directory entry").path();
                if path.extension().is_some_and(|e| e == "vnnlib") {
                    let text = std::fs::read_to_string(&path).expect("readable fixture");
                    let property = parse_vnnlib(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    assert!(!property.disjuncts.is_empty());
                    for disjunct in &property.disjuncts {
                        assert_eq!(disjunct.input.lower.len(), property.num_inputs);
                        assert!(disjunct.input.lower.iter().zip(&disjunct.input.upper).all(|(l, u)| l <= u));
                        assert!(disjunct.output.iter().all(|c| c.coeffs.len() == property.num_outputs));
                    }
                    count += 1;
                }
            }
        }
        assert_eq!(count, 14);
    }

    #[test]
    fn acasxu_prop_1() {
        let property = fixture("acasxu/prop_1.vnnlib");
        assert_eq!((property.num_inputs, property.num_outputs), (5, 5));
        let disjunct = single_disjunct(&property);
        assert_eq!(disjunct.input.lower, vec![0.6, -0.5, -0.5, 0.45, -0.5]);
        assert_eq!(disjunct.input.upper, vec![0.679857769, 0.5, 0.5, 0.5, -0.45]);
        assert_eq!(disjunct.output, vec![constraint(&[-1.0, 0.0, 0.0, 0.0, 0.0], 3.991125645861615)]);
    }

    #[test]
    fn acasxu_prop_2_conjunction_coc_maximal() {
        let property = fixture("acasxu/prop_2.vnnlib");
        let expected: Vec<_> = (1..5).map(|i| at_most(i, 0)).collect();
        assert_eq!(output_structure(&property), vec![expected]);
    }

    #[test]
    fn acasxu_prop_3_and_4_conjunction_coc_minimal() {
        let expected: Vec<_> = (1..5).map(|i| at_most(0, i)).collect();
        for name in ["acasxu/prop_3.vnnlib", "acasxu/prop_4.vnnlib"] {
            assert_eq!(output_structure(&fixture(name)), vec![expected.clone()], "{name}");
        }
        let prop_4 = fixture("acasxu/prop_4.vnnlib");
        let degenerate = &single_disjunct(&prop_4).input;
        assert_eq!((degenerate.lower[2], degenerate.upper[2]), (0.0, 0.0));
    }

    #[test]
    fn acasxu_single_output_disjunctions() {
        let cases = [("acasxu/prop_5.vnnlib", 4, [0, 1, 2, 3]), ("acasxu/prop_9.vnnlib", 3, [0, 1, 2, 4])];
        for (name, target, others) in cases {
            let expected: Vec<_> = others.iter().map(|&i| vec![at_most(i, target)]).collect();
            assert_eq!(output_structure(&fixture(name)), expected, "{name}");
        }
        let expected: Vec<_> = (1..5).map(|i| vec![at_most(i, 0)]).collect();
        assert_eq!(output_structure(&fixture("acasxu/prop_10.vnnlib")), expected);
    }

    #[test]
    fn acasxu_prop_6_two_input_boxes_times_four_outputs() {
        let property = fixture("acasxu/prop_6.vnnlib");
        assert_eq!(property.disjuncts.len(), 8);
        let x1_ranges: Vec<(f64, f64)> =
            property.disjuncts.iter().map(|d| (d.input.lower[1], d.input.upper[1])).collect();
        let first = (0.11140846, 0.499999896);
        let second = (-0.499999896, -0.11140846);
        assert_eq!(x1_ranges, [[first; 4], [second; 4]].concat());
        let outputs: Vec<_> = (1..5).map(|i| vec![at_most(i, 0)]).collect();
        assert_eq!(output_structure(&property), [outputs.clone(), outputs].concat());
        assert!(property.disjuncts.iter().all(|d| d.input.lower[0] == -0.129289109 && d.input.upper[0] == 0.700434925));
    }

    #[test]
    fn acasxu_prop_7_and_8_disjunctions_of_conjunctions() {
        let prop_7 = fixture("acasxu/prop_7.vnnlib");
        let expected_7: Vec<Vec<_>> = [3, 4].iter().map(|&m| (0..3).map(|i| at_most(m, i)).collect()).collect();
        assert_eq!(output_structure(&prop_7), expected_7);

        let prop_8 = fixture("acasxu/prop_8.vnnlib");
        let expected_8: Vec<Vec<_>> = [2, 3, 4].iter().map(|&m| (0..2).map(|i| at_most(m, i)).collect()).collect();
        assert_eq!(output_structure(&prop_8), expected_8);
    }

    #[test]
    fn test_prop_box_matches_readme() {
        let property = fixture("test/test_prop.vnnlib");
        assert_eq!((property.num_inputs, property.num_outputs), (5, 5));
        let disjunct = single_disjunct(&property);
        assert_eq!(
            disjunct.input.lower,
            vec![-0.30353115613746867, -0.009549296585513092, 0.4933803235848431, 0.3, 0.3]
        );
        assert_eq!(
            disjunct.input.upper,
            vec![-0.29855281193475053, 0.009549296585513092, 0.49999999998567607, 0.5, 0.5]
        );
        let expected: Vec<_> = (1..5).map(|i| at_most(0, i)).collect();
        assert_eq!(disjunct.output, expected);
    }

    #[test]
    fn test_prop_counterexample() {
        let property = fixture("test/test_prop.vnnlib");
        let centre = [-0.3, 0.0, 0.495, 0.4, 0.4];
        assert!(property.is_counterexample(&centre, &[-1.0, 0.0, 0.0, 0.0, 0.0], 0.0));
        assert!(!property.is_counterexample(&centre, &[1.0, 0.0, 0.0, 0.0, 0.0], 1e-4));
        let outside = [-0.2, 0.0, 0.495, 0.4, 0.4];
        assert!(!property.is_counterexample(&outside, &[-1.0, 0.0, 0.0, 0.0, 0.0], 1e-4));
    }

    #[test]
    fn tiny_test_properties() {
        let nano = fixture("test/test_nano.vnnlib");
        assert_eq!((nano.num_inputs, nano.num_outputs), (1, 1));
        let disjunct = single_disjunct(&nano);
        assert_eq!(disjunct.input, InputBox::closed(vec![-1.0], vec![1.0]));
        assert_eq!(disjunct.output, vec![constraint(&[1.0], 1.0)]);

        for name in ["test/test_tiny.vnnlib", "test/test_small.vnnlib"] {
            let property = fixture(name);
            let disjunct = single_disjunct(&property);
            assert_eq!(disjunct.input, InputBox::closed(vec![-1.0], vec![1.0]), "{name}");
            assert_eq!(disjunct.output, vec![constraint(&[-1.0], 100.0)], "{name}");
        }
    }
}
