//! Build script of the widget: embeds `www/chatlet.css` without comments and spare whitespace,
//! since the stylesheet ships inside the wasm and every byte of it is downloaded.

use std::path::Path;

fn main() {
    let source = Path::new("www/chatlet.css");
    println!("cargo::rerun-if-changed={}", source.display());
    let css = std::fs::read_to_string(source).expect("cannot read www/chatlet.css");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("chatlet.css");
    std::fs::write(out, minify(&css)).expect("cannot write the minified stylesheet");
}

/// Drops comments, collapses whitespace, and removes it where CSS never needs it: around
/// `{ } ; ,` and after `:`. Quoted strings are copied as they are. (A space before `:` is kept:
/// in a selector it is a descendant combinator.)
fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
                pending_space = true;
            }
            c if c.is_whitespace() => pending_space = true,
            '"' | '\'' => {
                flush_space(&mut out, &mut pending_space, c);
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            c => {
                flush_space(&mut out, &mut pending_space, c);
                out.push(c);
            }
        }
    }
    out.trim().to_owned()
}

/// Writes a pending space before `next` unless one of them makes it unnecessary.
fn flush_space(out: &mut String, pending: &mut bool, next: char) {
    if std::mem::take(pending)
        && !matches!(next, '{' | '}' | ';' | ',')
        && !out.ends_with(['{', '}', ';', ',', ':'])
        && !out.is_empty()
    {
        out.push(' ');
    }
}
