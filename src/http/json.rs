//! A tiny JSON writer (RFC 8259): enough for the API's objects, arrays, strings and numbers,
//! with correct string escaping and commas. No serde: the kernel writes its few documents by hand.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Builds one JSON document in a String. Each `begin_*` must be matched by its `end_*`;
/// inside an object, every value is preceded by [`JsonWriter::key`].
#[derive(Default)]
pub struct JsonWriter {
    out: String,
    /// For each open object or array: has it got an element yet (so the next needs a comma)?
    has_elements: Vec<bool>,
    /// A key was just written: the value that follows needs no comma.
    after_key: bool,
}

impl JsonWriter {
    pub fn new() -> JsonWriter {
        JsonWriter::default()
    }

    /// The document written so far.
    pub fn finish(self) -> String {
        debug_assert!(
            self.has_elements.is_empty(),
            "unclosed JSON object or array"
        );
        self.out
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('{');
        self.has_elements.push(false);
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.has_elements.pop();
        self.out.push('}');
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('[');
        self.has_elements.push(false);
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.has_elements.pop();
        self.out.push(']');
        self
    }

    /// Writes `"name":`; the next call writes its value.
    pub fn key(&mut self, name: &str) -> &mut Self {
        self.before_value();
        self.push_escaped(name);
        self.out.push(':');
        self.after_key = true;
        self
    }

    pub fn string(&mut self, value: &str) -> &mut Self {
        self.before_value();
        self.push_escaped(value);
        self
    }

    pub fn number(&mut self, value: u64) -> &mut Self {
        self.before_value();
        let _ = write!(self.out, "{value}");
        self
    }

    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.before_value();
        self.out.push_str("null");
        self
    }

    /// `"name": value` for a number, the most common field.
    pub fn field(&mut self, name: &str, value: u64) -> &mut Self {
        self.key(name).number(value)
    }

    /// `"name": "value"`.
    pub fn field_str(&mut self, name: &str, value: &str) -> &mut Self {
        self.key(name).string(value)
    }

    /// Writes the comma that separates this value from the previous one, if any.
    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(has_elements) = self.has_elements.last_mut() {
            if *has_elements {
                self.out.push(',');
            }
            *has_elements = true;
        }
    }

    /// A string literal: quotes, backslashes and control characters escaped (RFC 8259,
    /// section 7); everything else, including non-ASCII UTF-8, as it is.
    fn push_escaped(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.out, "\\u{:04x}", c as u32);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nested_document() {
        let mut json = JsonWriter::new();
        json.begin_object()
            .field("a", 1)
            .key("list")
            .begin_array()
            .number(2)
            .string("x")
            .begin_object()
            .end_object()
            .boolean(true)
            .null()
            .end_array()
            .field_str("b", "y")
            .end_object();
        assert_eq!(
            json.finish(),
            r#"{"a":1,"list":[2,"x",{},true,null],"b":"y"}"#
        );
    }

    #[test]
    fn escaping() {
        let mut json = JsonWriter::new();
        json.string("q\"b\\n\n\u{1}é");
        assert_eq!(json.finish(), "\"q\\\"b\\\\n\\n\\u0001é\"");
    }

    /// Undoes the escaping above, to check that every string survives the round trip.
    fn unescape(literal: &str) -> String {
        let inner = &literal[1..literal.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                assert!(c != '"' && (c as u32) >= 0x20, "unescaped {c:?}");
                out.push(c);
                continue;
            }
            match chars.next().unwrap() {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => out.push(other),
            }
        }
        out
    }

    proptest! {
        #[test]
        fn any_string_round_trips(text in any::<String>()) {
            let mut json = JsonWriter::new();
            json.string(&text);
            prop_assert_eq!(unescape(&json.finish()), text);
        }
    }
}
