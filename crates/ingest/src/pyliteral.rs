//! A parser for Python literals as printed by `repr()`, producing JSON values.
//!
//! Some archived Hugging Face daily-papers files hold `str(item)` instead of JSON objects, e.g.
//! `"{'paper': {'id': '2412.07760', 'hidden': False}, 'upvotes': 3}"`. This reads exactly the
//! literal syntax `repr()` emits for such data: dicts, lists, tuples (and sets) as arrays, strings
//! in `'` or `"` quotes with backslash escapes (an optional `u`, `r` or `b` prefix is accepted),
//! `True`/`False`/`None`, ints and floats (`inf`/`nan` become `null`, which JSON cannot hold).
//! Dict keys that are not strings are written the way `json.dumps` writes them (`1` -> `"1"`).

use std::fmt;

use serde_json::{Map, Number, Value};

/// Where and why a literal could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyLiteralError {
    /// Byte offset in the input.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for PyLiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for PyLiteralError {}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Parses one Python literal (surrounding whitespace allowed) into a JSON value.
pub fn parse(input: &str) -> Result<Value, PyLiteralError> {
    let mut p = Parser {
        s: input.as_bytes(),
        src: input,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("unexpected text after the literal"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, msg: impl Into<String>) -> PyLiteralError {
        PyLiteralError {
            offset: self.pos,
            message: msg.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Value, PyLiteralError> {
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.nested(|p| p.dict_or_set()),
            Some(b'[') => self.nested(|p| p.sequence(b']')),
            Some(b'(') => self.nested(|p| p.sequence(b')')),
            Some(b'\'' | b'"') => self.string(false).map(Value::String),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.word(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Value, PyLiteralError>,
    ) -> Result<Value, PyLiteralError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    /// After an item of a list, tuple, set or dict: a comma, a comma and the closing bracket, or
    /// the closing bracket alone. Whether the collection has closed; `unclosed` and `expected`
    /// say what went wrong otherwise.
    fn item_end(
        &mut self,
        close: u8,
        unclosed: &str,
        expected: &str,
    ) -> Result<bool, PyLiteralError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                let closed = self.peek() == Some(close);
                if closed {
                    self.pos += 1;
                }
                Ok(closed)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            None => Err(self.err(unclosed)),
            Some(_) => Err(self.err(expected)),
        }
    }

    /// After `[` or `(`: comma-separated values, a trailing comma allowed.
    fn sequence(&mut self, close: u8) -> Result<Value, PyLiteralError> {
        self.pos += 1;
        self.skip_ws();
        let mut items = Vec::new();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.item_end(
                close,
                "unclosed list or tuple",
                "expected ',' or the closing bracket",
            )? {
                return Ok(Value::Array(items));
            }
        }
    }

    /// After `{`: a dict, or a set (read as an array).
    fn dict_or_set(&mut self) -> Result<Value, PyLiteralError> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(Map::new()));
        }
        let first = self.value()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            // A set literal: `{1, 2}`.
            let mut items = vec![first];
            while !self.item_end(b'}', "unclosed set", "expected ',' or '}'")? {
                items.push(self.value()?);
            }
            return Ok(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let k = self.key_string(key)?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after a dict key"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value()?;
            map.insert(k, v);
            if self.item_end(b'}', "unclosed dict", "expected ',' or '}' in a dict")? {
                return Ok(Value::Object(map));
            }
            key = self.value()?;
            self.skip_ws();
        }
    }

    /// A dict key as JSON writes it: strings as they are, scalars in their JSON spelling.
    fn key_string(&self, key: Value) -> Result<String, PyLiteralError> {
        match key {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Null => Ok("null".to_string()),
            Value::Array(_) | Value::Object(_) => {
                Err(self.err("a dict key must be a string, number, bool or None"))
            }
        }
    }

    fn word(&mut self) -> Result<Value, PyLiteralError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let word = &self.src[start..self.pos];
        match word {
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::Null),
            "inf" | "nan" => Ok(Value::Null),
            _ if matches!(self.peek(), Some(b'\'' | b'"')) && is_string_prefix(word) => {
                let raw = word.bytes().any(|b| b == b'r' || b == b'R');
                self.string(raw).map(Value::String)
            }
            _ => {
                self.pos = start;
                Err(self.err(format!("unknown name {word:?}")))
            }
        }
    }

    fn number(&mut self) -> Result<Value, PyLiteralError> {
        let start = self.pos;
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        self.skip_ws(); // `- 1` is still a valid expression in Python
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            // -inf, +nan
            let v = self.word()?;
            return if v.is_null() {
                Ok(Value::Null)
            } else {
                Err(self.err("expected a number after the sign"))
            };
        }
        let digits_start = self.pos;
        let mut is_float = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'_' => {}
                b'.' => is_float = true,
                b'e' | b'E' => {
                    is_float = true;
                    if matches!(self.s.get(self.pos + 1), Some(b'+' | b'-')) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
            self.pos += 1;
        }
        let text: String = self.src[digits_start..self.pos]
            .chars()
            .filter(|&c| c != '_')
            .collect();
        if text.is_empty() || text == "." {
            self.pos = start;
            return Err(self.err("malformed number"));
        }
        if !is_float {
            if let Ok(n) = text.parse::<u64>() {
                if !negative {
                    return Ok(Value::Number(n.into()));
                }
                if let Ok(i) = i64::try_from(-i128::from(n)) {
                    return Ok(Value::Number(i.into()));
                }
            }
        }
        let f: f64 = text.parse().map_err(|_| {
            let mut e = self.err("malformed number");
            e.offset = start;
            e
        })?;
        let f = if negative { -f } else { f };
        Ok(Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null))
    }

    /// A quoted string starting at the quote; `raw` keeps backslashes as written.
    fn string(&mut self, raw: bool) -> Result<String, PyLiteralError> {
        let quote = self.s[self.pos];
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let Some(c) = self.peek() else {
                self.pos = open;
                return Err(self.err("unterminated string"));
            };
            if c == quote {
                out.push_str(&self.src[run_start..self.pos]);
                self.pos += 1;
                return Ok(out);
            }
            if c == b'\n' {
                return Err(self.err("line break inside a string"));
            }
            if c != b'\\' {
                self.pos += 1;
                continue;
            }
            out.push_str(&self.src[run_start..self.pos]);
            let esc_at = self.pos;
            self.pos += 1;
            let Some(e) = self.peek() else {
                self.pos = open;
                return Err(self.err("unterminated string"));
            };
            if raw {
                // In a raw string a backslash only protects the next character from ending it.
                out.push('\\');
                run_start = self.pos;
                self.pos += if e == quote || e == b'\\' { 1 } else { 0 };
                continue;
            }
            self.pos += 1;
            match e {
                b'\\' => out.push('\\'),
                b'\'' => out.push('\''),
                b'"' => out.push('"'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'a' => out.push('\x07'),
                b'b' => out.push('\x08'),
                b'f' => out.push('\x0c'),
                b'v' => out.push('\x0b'),
                b'\n' => {} // line continuation
                b'0'..=b'7' => {
                    let mut n = u32::from(e - b'0');
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                n = n * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                }
                b'x' => {
                    let n = self.hex(2, esc_at)?;
                    out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                }
                b'u' => {
                    let n = self.hex(4, esc_at)?;
                    out.push(self.utf16_unit(n)?);
                }
                b'U' => {
                    let n = self.hex(8, esc_at)?;
                    match char::from_u32(n) {
                        Some(ch) => out.push(ch),
                        None if (0xD800..0xE000).contains(&n) => out.push('\u{fffd}'),
                        None => {
                            self.pos = esc_at;
                            return Err(self.err("\\U escape beyond Unicode"));
                        }
                    }
                }
                b'N' => {
                    self.pos = esc_at;
                    return Err(self.err("\\N{...} escapes are not supported"));
                }
                _ => {
                    // Python keeps unknown escapes as written.
                    out.push('\\');
                    self.pos -= 1;
                }
            }
            run_start = self.pos;
        }
    }

    /// A `\uXXXX` value: a surrogate pair written as two escapes is joined; a lone surrogate
    /// (possible in Python, impossible in Rust strings) becomes U+FFFD.
    fn utf16_unit(&mut self, n: u32) -> Result<char, PyLiteralError> {
        if (0xD800..0xDC00).contains(&n) && self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            if let Ok(lo) = self.hex(4, save) {
                if (0xDC00..0xE000).contains(&lo) {
                    let c = 0x10000 + ((n - 0xD800) << 10) + (lo - 0xDC00);
                    return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
                }
            }
            self.pos = save;
        }
        Ok(char::from_u32(n).unwrap_or('\u{fffd}'))
    }

    fn hex(&mut self, len: usize, esc_at: usize) -> Result<u32, PyLiteralError> {
        let digits = self
            .s
            .get(self.pos..self.pos + len)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        match digits {
            Some(d) => {
                self.pos += len;
                Ok(
                    u32::from_str_radix(std::str::from_utf8(d).expect("hex digits are ASCII"), 16)
                        .expect("checked hex digits"),
                )
            }
            None => {
                self.pos = esc_at;
                Err(self.err(format!("truncated escape: expected {len} hex digits")))
            }
        }
    }
}

fn is_string_prefix(word: &str) -> bool {
    word.len() <= 2
        && word
            .bytes()
            .all(|b| matches!(b.to_ascii_lowercase(), b'u' | b'r' | b'b'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each literal parses to the JSON value beside it.
    fn assert_parses(cases: &[(&str, Value)]) {
        for (literal, want) in cases {
            let got = parse(literal).unwrap_or_else(|e| panic!("{literal}: {e}"));
            assert_eq!(&got, want, "{literal}");
        }
    }

    #[test]
    fn scalars() {
        assert_parses(&[
            ("True", json!(true)),
            ("False", json!(false)),
            ("None", Value::Null),
            ("42", json!(42)),
            ("-7", json!(-7)),
            ("+7", json!(7)),
            ("-9223372036854775808", json!(i64::MIN)),
            ("18446744073709551615", json!(u64::MAX)),
            ("1_000", json!(1000)),
            ("3.25", json!(3.25)),
            ("-0.5", json!(-0.5)),
            ("1e3", json!(1000.0)),
            ("2.5E-2", json!(0.025)),
            (".5", json!(0.5)),
            ("5.", json!(5.0)),
            ("inf", Value::Null),
            ("-inf", Value::Null),
            ("nan", Value::Null),
            ("  None \n", Value::Null),
        ]);
    }

    #[test]
    fn strings_and_escapes() {
        assert_parses(&[
            ("'plain'", json!("plain")),
            ("\"double\"", json!("double")),
            (r#""it's""#, json!("it's")),
            (r"'it\'s'", json!("it's")),
            (r#"'say "hi"'"#, json!("say \"hi\"")),
            (r#""say \"hi\"""#, json!("say \"hi\"")),
            (r"'back\\slash'", json!("back\\slash")),
            (r"'a\nb\rc\td'", json!("a\nb\rc\td")),
            (r"'\x41\xe9'", json!("Aé")),
            (r"'\u00e9\u4e2d'", json!("é中")),
            (r"'\U0001F600'", json!("😀")),
            (r"'\ud83d\ude00'", json!("😀")),
            (r"'\ud83d'", json!("\u{fffd}")),
            (r"'\0\101'", json!("\0A")),
            (r"'keep \d as is'", json!("keep \\d as is")),
            ("'Balázs 中文 😀'", json!("Balázs 中文 😀")),
            (r"u'x'", json!("x")),
            (r"r'\d+'", json!("\\d+")),
            (r"''", json!("")),
            (r#""""#, json!("")),
        ]);
    }

    #[test]
    fn containers() {
        assert_parses(&[
            ("[]", json!([])),
            ("()", json!([])),
            ("(1,)", json!([1])),
            ("(1, 'a', None)", json!([1, "a", null])),
            ("[1, 2, ]", json!([1, 2])),
            ("{}", json!({})),
            (
                "{'a': 1, 'b': [True, False], }",
                json!({"a": 1, "b": [true, false]}),
            ),
            (
                "{1: 'one', None: 0, True: 1}",
                json!({"1": "one", "null": 0, "true": 1}),
            ),
            ("{1, 2}", json!([1, 2])),
            (
                "{'paper': {'id': '2412.07760', 'authors': [{'_id': 'x', 'name': \"O'Brien\", 'hidden': False}], 'upvotes': 3}, 'numComments': 0, 'thumbnail': None}",
                json!({"paper": {"id": "2412.07760", "authors": [{"_id": "x", "name": "O'Brien", "hidden": false}], "upvotes": 3}, "numComments": 0, "thumbnail": null}),
            ),
            ("[[[(1, [2])]]]", json!([[[[1, [2]]]]])),
        ]);
    }

    #[test]
    fn errors_say_where() {
        for (bad, at) in [
            ("'unterminated", 0),
            ("{'a' 1}", 5),
            ("{'a': 1", 7),
            ("[1 2]", 3),
            ("true", 0),
            ("'a' 'b'", 4),
            (r"'\x4'", 1),
            (r"'\N{BULLET}'", 1),
            ("", 0),
            ("{[1]: 2}", 4),
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.offset, at, "{bad}: {e}");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(parse(&deep).unwrap_err().message.contains("too deep"));
    }
}
