//! Regular expressions for pattern entities (`order: {regex: '[A-Z]{2}[0-9]{6}'}`): a small
//! parser and a Pike VM that finds leftmost-first matches in time linear in the text, so no
//! pattern can hang the browser. It replaces a general regex crate to keep the widget small.
//!
//! Syntax: literals, `.`, `[...]` classes with ranges and negation, `\d \w \s` (ASCII) and their
//! negations, `\b \B`, `^ $`, groups `( )`, `(?: )` and named `(?P<name> )` / `(?<name> )`,
//! alternation `|`, repetition `* + ? {n} {n,} {n,m}` (add `?` for lazy), escapes `\n \t \r
//! \\ \. \x41 \u{4E00}`, and a leading `(?i)` for ASCII case-insensitive matching. One known
//! difference from Perl-style engines: a repeated group that can match the empty string, with
//! the empty choice first (`(|a)+`), may match more (the tests pin the agreement elsewhere).

use std::fmt;

/// Why a pattern does not compile: what is wrong, and at which character (from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub at: usize,
    pub message: &'static str,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

/// At most this many instructions: counted repetition multiplies a pattern's size.
const MAX_PROGRAM: usize = 20_000;
/// The largest count in `{n,m}`.
const MAX_COUNT: u32 = 1000;
/// Groups nested deeper than this are refused (the parser recurses).
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assertion {
    Start,
    End,
    WordBoundary,
    NotWordBoundary,
}

/// A set of characters as sorted, inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Empty,
    Char(char),
    /// Any character but a line feed.
    Any,
    Class(Class),
    Assert(Assertion),
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Instruction {
    Char(char),
    Any,
    Class(usize),
    Assert(Assertion),
    /// Try the first target, then the second.
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    program: Vec<Instruction>,
    classes: Vec<Class>,
}

impl Pattern {
    /// Parses and compiles `source`.
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        let mut parser = Parser {
            chars: source.chars().collect(),
            at: 0,
            fold_case: false,
            depth: 0,
        };
        if parser.chars.starts_with(&['(', '?', 'i', ')']) {
            parser.fold_case = true;
            parser.at = 4;
        }
        let node = parser.alternation()?;
        if parser.at < parser.chars.len() {
            return Err(parser.error("unmatched `)`"));
        }
        let mut compiler = Compiler {
            program: Vec::new(),
            classes: Vec::new(),
        };
        compiler.node(&node)?;
        compiler.emit(Instruction::Match)?;
        Ok(Pattern {
            program: compiler.program,
            classes: compiler.classes,
        })
    }

    /// Every non-overlapping match, leftmost-first, as `start..end` char offsets into `text`.
    /// Empty matches are skipped.
    pub fn find_all(&self, text: &[char]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut from = 0;
        while from <= text.len() {
            let Some((start, end)) = self.find_at(text, from) else {
                break;
            };
            if end > start {
                found.push((start, end));
                from = end;
            } else {
                from = start + 1;
            }
        }
        found
    }

    /// The leftmost-first match starting at or after `from`.
    fn find_at(&self, text: &[char], from: usize) -> Option<(usize, usize)> {
        let size = self.program.len();
        let mut current = Threads::new(size);
        let mut next = Threads::new(size);
        let mut stack = Vec::new();
        let mut matched = None;
        for at in from..=text.len() {
            if matched.is_none() {
                // A new thread starting here, after (below) every older one.
                self.add(&mut current, &mut stack, 0, at, text, at);
            }
            if current.list.is_empty() {
                if matched.is_some() {
                    break;
                }
                // Nothing alive here (an assertion failed, say): try the next position afresh.
                current.clear();
                continue;
            }
            next.clear();
            for &(pc, start) in &current.list {
                let consumes = match &self.program[pc] {
                    Instruction::Char(c) => text.get(at) == Some(c),
                    Instruction::Any => text.get(at).is_some_and(|&c| c != '\n'),
                    Instruction::Class(i) => {
                        text.get(at).is_some_and(|&c| self.classes[*i].contains(c))
                    }
                    Instruction::Match => {
                        matched = Some((start, at));
                        // Lower-priority threads lose to this match.
                        break;
                    }
                    _ => false,
                };
                if consumes {
                    self.add(&mut next, &mut stack, pc + 1, start, text, at + 1);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        matched
    }

    /// Adds the thread at `pc` and every thread it reaches without consuming a character, in
    /// priority order.
    fn add(
        &self,
        threads: &mut Threads,
        stack: &mut Vec<usize>,
        pc: usize,
        start: usize,
        text: &[char],
        at: usize,
    ) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !threads.mark(pc) {
                continue;
            }
            match self.program[pc] {
                Instruction::Jump(to) => stack.push(to),
                Instruction::Split(first, second) => {
                    stack.push(second);
                    stack.push(first);
                }
                Instruction::Assert(assertion) => {
                    if holds(assertion, text, at) {
                        stack.push(pc + 1);
                    }
                }
                _ => threads.list.push((pc, start)),
            }
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn holds(assertion: Assertion, text: &[char], at: usize) -> bool {
    let before = at > 0 && is_word(text[at - 1]);
    let after = text.get(at).is_some_and(|&c| is_word(c));
    match assertion {
        Assertion::Start => at == 0,
        Assertion::End => at == text.len(),
        Assertion::WordBoundary => before != after,
        Assertion::NotWordBoundary => before == after,
    }
}

/// The threads at one position: program counters in priority order, each at most once.
struct Threads {
    list: Vec<(usize, usize)>,
    seen: Vec<bool>,
    marked: Vec<usize>,
}

impl Threads {
    fn new(size: usize) -> Threads {
        Threads {
            list: Vec::new(),
            seen: vec![false; size],
            marked: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.list.clear();
        for &pc in &self.marked {
            self.seen[pc] = false;
        }
        self.marked.clear();
    }

    /// Marks `pc` as visited; false if it already was.
    fn mark(&mut self, pc: usize) -> bool {
        if self.seen[pc] {
            return false;
        }
        self.seen[pc] = true;
        self.marked.push(pc);
        true
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    fold_case: bool,
    depth: usize,
}

impl Parser {
    fn error(&self, message: &'static str) -> PatternError {
        PatternError {
            at: self.at.min(self.chars.len().saturating_sub(1)),
            message,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.at += 1;
        }
        found
    }

    fn alternation(&mut self) -> Result<Node, PatternError> {
        let mut branches = vec![self.concat()?];
        while self.eat('|') {
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alternation(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.repetition(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn repetition(&mut self, mut node: Node) -> Result<Node, PatternError> {
        loop {
            let start = self.at;
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => match self.counted()? {
                    Some(bounds) => bounds,
                    None => return Ok(node),
                },
                _ => return Ok(node),
            };
            if self.at == start {
                self.at += 1;
            }
            if matches!(node, Node::Assert(_) | Node::Empty) {
                self.at = start;
                return Err(self.error("nothing to repeat"));
            }
            let greedy = !self.eat('?');
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
                greedy,
            };
        }
    }

    /// `{n}`, `{n,}` or `{n,m}` (consumed); `None` (nothing consumed) when `{` starts no count,
    /// which then is a literal brace.
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, PatternError> {
        let start = self.at;
        self.at += 1;
        let number = |parser: &mut Parser| -> Option<u32> {
            let digits: String = parser.chars[parser.at..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            parser.at += digits.chars().count();
            digits.parse().ok()
        };
        let Some(min) = number(self) else {
            self.at = start;
            return Ok(None);
        };
        let max = if self.eat(',') {
            number(self)
        } else {
            Some(min)
        };
        if !self.eat('}') {
            self.at = start;
            return Ok(None);
        }
        if min > MAX_COUNT || max.is_some_and(|m| m > MAX_COUNT) {
            self.at = start;
            return Err(self.error("a repetition count is over 1000"));
        }
        if max.is_some_and(|m| m < min) {
            self.at = start;
            return Err(self.error("a repetition's minimum is over its maximum"));
        }
        Ok(Some((min, max)))
    }

    fn literal(&self, c: char) -> Node {
        if self.fold_case && c.is_ascii_alphabetic() {
            let (lower, upper) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
            Node::Class(Class {
                ranges: vec![(upper, upper), (lower, lower)],
                negated: false,
            })
        } else {
            Node::Char(c)
        }
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        let Some(c) = self.peek() else {
            return Err(self.error("the pattern ends too early"));
        };
        self.at += 1;
        Ok(match c {
            '(' => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(self.error("groups are nested too deeply"));
                }
                if self.eat('?') {
                    if self.eat(':') {
                    } else if self.eat('P') || self.peek() == Some('<') {
                        if !self.eat('<') {
                            return Err(self.error("expected `<` after `(?P`"));
                        }
                        while let Some(c) = self.peek() {
                            self.at += 1;
                            if c == '>' {
                                break;
                            }
                            if !(c.is_ascii_alphanumeric() || c == '_') {
                                return Err(self.error("a group name is letters, digits and `_`"));
                            }
                        }
                    } else {
                        return Err(self.error("unsupported group flag (only a leading `(?i)`)"));
                    }
                }
                let inner = self.alternation()?;
                if !self.eat(')') {
                    return Err(self.error("unclosed `(`"));
                }
                self.depth -= 1;
                inner
            }
            ')' => return Err(self.error("unmatched `)`")),
            '[' => Node::Class(self.class()?),
            '.' => Node::Any,
            '^' => Node::Assert(Assertion::Start),
            '$' => Node::Assert(Assertion::End),
            '*' | '+' | '?' => {
                self.at -= 1;
                return Err(self.error("nothing to repeat"));
            }
            '\\' => self.escape(false)?,
            c => self.literal(c),
        })
    }

    /// The escape after a backslash; inside a class only single characters and `\d \w \s`.
    fn escape(&mut self, in_class: bool) -> Result<Node, PatternError> {
        let Some(c) = self.peek() else {
            return Err(self.error("the pattern ends with `\\`"));
        };
        self.at += 1;
        let class = |ranges: &[(char, char)], negated: bool| {
            Node::Class(Class {
                ranges: ranges.to_vec(),
                negated,
            })
        };
        const DIGIT: &[(char, char)] = &[('0', '9')];
        const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
        const SPACE: &[(char, char)] = &[('\t', '\r'), (' ', ' ')];
        Ok(match c {
            'd' => class(DIGIT, false),
            'w' => class(WORD, false),
            's' => class(SPACE, false),
            'D' | 'W' | 'S' if in_class => {
                self.at -= 1;
                return Err(self.error("`\\D`, `\\W` and `\\S` are not supported inside `[...]`"));
            }
            'D' => class(DIGIT, true),
            'W' => class(WORD, true),
            'S' => class(SPACE, true),
            'b' if !in_class => Node::Assert(Assertion::WordBoundary),
            'B' if !in_class => Node::Assert(Assertion::NotWordBoundary),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            'r' => Node::Char('\r'),
            'f' => Node::Char('\u{c}'),
            'v' => Node::Char('\u{b}'),
            'x' | 'u' => Node::Char(self.hex_escape()?),
            c if c.is_ascii_punctuation() || c == ' ' => self.literal(c),
            _ => {
                self.at -= 1;
                return Err(self.error("unknown escape"));
            }
        })
    }

    /// `\x41`, `\x{41}`, `\u{4E00}` or `\u4E00` (after the `x` or `u`).
    fn hex_escape(&mut self) -> Result<char, PatternError> {
        let braced = self.eat('{');
        let mut digits = String::new();
        while let Some(c) = self.peek() {
            if !c.is_ascii_hexdigit() || (!braced && digits.len() == 4) {
                break;
            }
            digits.push(c);
            self.at += 1;
        }
        if braced && !self.eat('}') {
            return Err(self.error("unclosed `{` in a hex escape"));
        }
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error("a hex escape is not a character"))
    }

    fn class(&mut self) -> Result<Class, PatternError> {
        let negated = self.eat('^');
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unclosed `[`"));
            };
            if c == ']' && !first {
                self.at += 1;
                break;
            }
            first = false;
            if c == '[' && self.chars.get(self.at + 1) == Some(&':') {
                return Err(self.error("POSIX classes like `[:alpha:]` are not supported"));
            }
            self.at += 1;
            let low = if c == '\\' {
                match self.escape(true)? {
                    Node::Char(c) => c,
                    Node::Class(class) => {
                        ranges.extend(class.ranges);
                        continue;
                    }
                    _ => return Err(self.error("unsupported escape inside `[...]`")),
                }
            } else {
                c
            };
            let is_range =
                self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&n| n != ']');
            let high = if is_range {
                self.at += 1;
                let Some(h) = self.peek() else {
                    return Err(self.error("unclosed `[`"));
                };
                self.at += 1;
                if h == '\\' {
                    match self.escape(true)? {
                        Node::Char(h) => h,
                        _ => return Err(self.error("a range must end with a single character")),
                    }
                } else {
                    h
                }
            } else {
                low
            };
            if high < low {
                return Err(PatternError {
                    at: self.at - 1,
                    message: "a range's start is after its end",
                });
            }
            ranges.push((low, high));
            if self.fold_case {
                // ASCII letters in the range, in the other case too.
                for (from, to, shift) in [('a', 'z', -32i32), ('A', 'Z', 32)] {
                    let (lo, hi) = (low.max(from), high.min(to));
                    if lo <= hi {
                        let moved =
                            |c: char| char::from_u32((c as i32 + shift) as u32).unwrap_or(c);
                        ranges.push((moved(lo), moved(hi)));
                    }
                }
            }
        }
        // Sorted as packed `u64` keys: the engine's one sort instantiation (see entity_rules).
        let mut keys: Vec<u64> = ranges
            .iter()
            .map(|&(lo, hi)| (u64::from(lo) << 32) | u64::from(hi))
            .collect();
        keys.sort_unstable();
        let ranges = keys
            .into_iter()
            .filter_map(|key| {
                Some((
                    char::from_u32((key >> 32) as u32)?,
                    char::from_u32(key as u32)?,
                ))
            })
            .collect();
        Ok(Class { ranges, negated })
    }
}

struct Compiler {
    program: Vec<Instruction>,
    classes: Vec<Class>,
}

impl Compiler {
    fn emit(&mut self, instruction: Instruction) -> Result<usize, PatternError> {
        if self.program.len() >= MAX_PROGRAM {
            return Err(PatternError {
                at: 0,
                message: "the pattern is too large (repetition counts multiply its size)",
            });
        }
        self.program.push(instruction);
        Ok(self.program.len() - 1)
    }

    fn patch(&mut self, at: usize, instruction: Instruction) {
        self.program[at] = instruction;
    }

    fn node(&mut self, node: &Node) -> Result<(), PatternError> {
        match node {
            Node::Empty => {}
            Node::Char(c) => {
                self.emit(Instruction::Char(*c))?;
            }
            Node::Any => {
                self.emit(Instruction::Any)?;
            }
            Node::Class(class) => {
                self.classes.push(class.clone());
                self.emit(Instruction::Class(self.classes.len() - 1))?;
            }
            Node::Assert(assertion) => {
                self.emit(Instruction::Assert(*assertion))?;
            }
            Node::Concat(items) => {
                for item in items {
                    self.node(item)?;
                }
            }
            Node::Alternation(branches) => {
                let mut jumps = Vec::new();
                for (i, branch) in branches.iter().enumerate() {
                    if i + 1 < branches.len() {
                        let split = self.emit(Instruction::Split(0, 0))?;
                        self.node(branch)?;
                        jumps.push(self.emit(Instruction::Jump(0))?);
                        let next = self.program.len();
                        self.patch(split, Instruction::Split(split + 1, next));
                    } else {
                        self.node(branch)?;
                    }
                }
                let end = self.program.len();
                for jump in jumps {
                    self.patch(jump, Instruction::Jump(end));
                }
            }
            Node::Repeat {
                node,
                min,
                max,
                greedy,
            } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => {
                        // L: split body, end; body; jump L
                        let split = self.emit(Instruction::Split(0, 0))?;
                        self.node(node)?;
                        self.emit(Instruction::Jump(split))?;
                        let end = self.program.len();
                        self.patch(split, self.choice(split + 1, end, *greedy));
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.emit(Instruction::Split(0, 0))?);
                            self.node(node)?;
                        }
                        let end = self.program.len();
                        for split in splits {
                            self.patch(split, self.choice(split + 1, end, *greedy));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A split that prefers `body` when greedy, `skip` when lazy.
    fn choice(&self, body: usize, skip: usize, greedy: bool) -> Instruction {
        if greedy {
            Instruction::Split(body, skip)
        } else {
            Instruction::Split(skip, body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        Pattern::new(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .find_all(&chars)
            .into_iter()
            .map(|(s, e)| chars[s..e].iter().collect())
            .collect()
    }

    /// Patterns and texts run through this engine and through the `regex-lite` crate (which
    /// this module replaces): every match must be the same.
    #[test]
    fn agrees_with_a_reference_regex_engine() {
        let patterns = [
            "[A-Z]{2}[0-9]{6}",
            r"\d+",
            r"\d{3,4}-\d{4}",
            r"1[3-9]\d{9}",
            r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}",
            r"(?i)order\s*#?\s*(\d+)",
            r"\bcat\b",
            r"a|ab|abc",
            r"(a|ab)(c|bcd)(d*)",
            r"a*?b",
            r"x*",
            r"^\w+",
            r"\w+$",
            r"[^aeiou\s]+",
            r"(?:ab)+c?",
            r"(?P<id>[A-Z]+)-(?<n>\d+)",
            r"订单号?[:：]?\s*([A-Z0-9]{6,12})",
            r"[一-龥]{2,4}市",
            r"\u{4E00}+|\x41",
            r"colou?r",
            r"a{2,}?",
            r"[-a]+",
            r"[\]a]+",
            r"\.\*",
            r"\B\d\B",
            r"a{0}b",
            r"(a*)*b",
        ];
        let texts = [
            "order AB123456 and CD654321, not ab123456",
            "call 138-0013-8000 or 13800138000 or 010-1234-5678",
            "mail me: Li.Lei+shop@example.com.cn, or x@y",
            "ORDER #42, order 7, Order#  1999",
            "cat concat cat's scat-cat",
            "abcd abc ab a abd abbcd",
            "aaab ab b aab",
            "订单号：AB12CD34EF 订单 12345678 上海市 北京市 石家庄市",
            "一一一A color colour colouur",
            "aaaa -a-a ]a] .* 1234 a1b",
            "",
            "\n\n",
        ];
        for pattern in patterns {
            let reference = regex_lite::Regex::new(pattern).unwrap();
            for text in texts {
                let expected: Vec<String> = reference
                    .find_iter(text)
                    .filter(|m| !m.as_str().is_empty())
                    .map(|m| m.as_str().to_owned())
                    .collect();
                assert_eq!(matches(pattern, text), expected, "{pattern:?} on {text:?}");
            }
        }
    }

    #[test]
    fn mistakes_are_reported_with_their_place() {
        for (pattern, message, at) in [
            ("[a-z", "unclosed `[`", 3),
            ("(ab", "unclosed `(`", 2),
            ("ab)", "unmatched `)`", 2),
            ("*a", "nothing to repeat", 0),
            ("a{5,2}", "a repetition's minimum is over its maximum", 1),
            ("a{2000}", "a repetition count is over 1000", 1),
            (r"\q", "unknown escape", 1),
            ("[z-a]", "a range's start is after its end", 3),
            ("(?x)a", "unsupported group flag (only a leading `(?i)`)", 2),
        ] {
            let error = Pattern::new(pattern).expect_err(pattern);
            assert_eq!((error.message, error.at), (message, at), "{pattern}");
        }
        assert!(Pattern::new("(a{1000}){1000}").is_err(), "too large");
        assert!(Pattern::new(&"(".repeat(100)).is_err(), "too deep");
    }

    #[test]
    fn long_texts_take_linear_time() {
        // The classic exponential case for backtracking engines.
        let text: Vec<char> = "a".repeat(5000).chars().collect();
        let pattern = Pattern::new("(a*)*b").unwrap();
        assert_eq!(pattern.find_all(&text), []);
    }
}
