//! The small, safe Markdown that bot messages may use, parsed into a tree the widget renders as
//! DOM nodes (never as HTML): paragraphs, line breaks, bullet and numbered lists, **strong**,
//! *emphasis*, `code`, [links](https://…), ![images](https://…) and bare http(s) URLs. Raw HTML
//! stays text; a link or image whose URL is not safe (`javascript:`, `data:`, …) stays text too.

/// A paragraph or a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Paragraph(Vec<Inline>),
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
}

/// Text and its formatting inside a block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    Text(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    Code(String),
    /// `url` has passed [`safe_link`].
    Link {
        text: Vec<Inline>,
        url: String,
    },
    /// `url` has passed [`safe_image`].
    Image {
        alt: String,
        url: String,
    },
    LineBreak,
}

/// Longer texts are shown as plain text: the inline parser's worst case grows with the square
/// of the length, and a bot's own answers are far shorter.
const MAX_MARKDOWN_CHARS: usize = 4000;

/// Parses `text` into blocks. Any text parses; what is not Markdown is kept as text.
pub(crate) fn parse(text: &str) -> Vec<Block> {
    if text.len() > MAX_MARKDOWN_CHARS {
        let mut lines = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if n > 0 {
                lines.push(Inline::LineBreak);
            }
            lines.push(Inline::Text(line.to_owned()));
        }
        return vec![Block::Paragraph(lines)];
    }
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Option<(bool, Vec<Vec<Inline>>)> = None;
    let flush_paragraph = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(inlines(&paragraph.join("\n"))));
            paragraph.clear();
        }
    };
    let flush_list = |list: &mut Option<(bool, Vec<Vec<Inline>>)>, blocks: &mut Vec<Block>| {
        if let Some((ordered, items)) = list.take() {
            blocks.push(Block::List { ordered, items });
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush_paragraph(&mut paragraph, &mut blocks);
            flush_list(&mut list, &mut blocks);
            continue;
        }
        if let Some((ordered, item)) = list_item(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            if list.as_ref().is_some_and(|(o, _)| *o != ordered) {
                flush_list(&mut list, &mut blocks);
            }
            list.get_or_insert_with(|| (ordered, Vec::new()))
                .1
                .push(inlines(item));
            continue;
        }
        flush_list(&mut list, &mut blocks);
        paragraph.push(line);
    }
    flush_paragraph(&mut paragraph, &mut blocks);
    flush_list(&mut list, &mut blocks);
    blocks
}

/// `- item`, `* item`, `• item` or `1. item` / `1) item`: whether it is numbered, and the item.
fn list_item(line: &str) -> Option<(bool, &str)> {
    let line = line.trim_start();
    for bullet in ["- ", "* ", "• "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some((false, rest));
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &line[digits..];
        if let Some(item) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((true, item));
        }
    }
    None
}

/// Parses the inline Markdown of one block.
fn inlines(text: &str) -> Vec<Inline> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    parse_inlines(&chars, &mut out, 0);
    out
}

/// Nesting deeper than this is kept as text (hostile input cannot exhaust the stack).
const MAX_DEPTH: usize = 8;

fn push_text(out: &mut Vec<Inline>, text: &str) {
    if let Some(Inline::Text(last)) = out.last_mut() {
        last.push_str(text);
    } else if !text.is_empty() {
        out.push(Inline::Text(text.to_owned()));
    }
}

fn parse_inlines(chars: &[char], out: &mut Vec<Inline>, depth: usize) {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some((inline, used)) = special(chars, i, depth) {
            out.push(inline);
            i += used;
            continue;
        }
        match c {
            '\\' if chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) => {
                push_text(out, &chars[i + 1].to_string());
                i += 2;
            }
            '\n' => {
                out.push(Inline::LineBreak);
                i += 1;
            }
            _ => {
                let mut buffer = [0u8; 4];
                push_text(out, c.encode_utf8(&mut buffer));
                i += 1;
            }
        }
    }
}

/// The formatting that starts at `chars[i]`, and how many chars it spans.
fn special(chars: &[char], i: usize, depth: usize) -> Option<(Inline, usize)> {
    let rest = &chars[i..];
    match rest[0] {
        '`' => {
            let end = rest[1..].iter().position(|&c| c == '`')? + 1;
            (end > 1).then(|| (Inline::Code(rest[1..end].iter().collect()), end + 1))
        }
        '*' | '_' if depth < MAX_DEPTH => {
            let marker = rest[0];
            // `_` only at a word's edge, so snake_case names stay text.
            if marker == '_' && i > 0 && chars[i - 1].is_alphanumeric() {
                return None;
            }
            let strong = rest.get(1) == Some(&marker);
            let width = if strong { 2 } else { 1 };
            let inner_start = width;
            if rest.get(inner_start).is_none_or(|c| c.is_whitespace()) {
                return None;
            }
            let end = (inner_start + 1..rest.len()).find(|&j| {
                rest[j] == marker
                    && (!strong || rest.get(j + 1) == Some(&marker))
                    && !rest[j - 1].is_whitespace()
                    && (marker != '_' || rest.get(j + width).is_none_or(|c| !c.is_alphanumeric()))
            })?;
            let mut inner = Vec::new();
            parse_inlines(&rest[inner_start..end], &mut inner, depth + 1);
            let inline = if strong {
                Inline::Strong(inner)
            } else {
                Inline::Emphasis(inner)
            };
            Some((inline, end + width))
        }
        '!' if rest.get(1) == Some(&'[') => {
            let (label, url, used) = bracketed(&rest[1..])?;
            let url = safe_image(&url)?;
            Some((
                Inline::Image {
                    alt: label.iter().collect(),
                    url,
                },
                used + 1,
            ))
        }
        '[' if depth < MAX_DEPTH => {
            let (label, url, used) = bracketed(rest)?;
            let url = safe_link(&url)?;
            let mut text = Vec::new();
            parse_inlines(label, &mut text, depth + 1);
            Some((Inline::Link { text, url }, used))
        }
        'h' if i == 0 || !chars[i - 1].is_ascii_alphanumeric() => {
            let word: String = rest.iter().take_while(|c| !url_ends(**c)).collect();
            if !(word.starts_with("https://") || word.starts_with("http://")) {
                return None;
            }
            // Trailing punctuation belongs to the sentence, not the URL.
            let url = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"']);
            let url = safe_link(url)?;
            let used = url.chars().count();
            Some((
                Inline::Link {
                    text: vec![Inline::Text(url.clone())],
                    url,
                },
                used,
            ))
        }
        _ => None,
    }
}

/// Whether `c` ends a bare URL: space, a bracket or quote, or any non-ASCII character (so that
/// Chinese text right after a URL, with no space, is not swallowed by the link).
fn url_ends(c: char) -> bool {
    c.is_whitespace() || !c.is_ascii() || matches!(c, '<' | '>' | '"' | '`' | '[' | ']')
}

/// `[label](url)` at the start of `chars`: the label, the URL and how many chars it spans.
fn bracketed(chars: &[char]) -> Option<(&[char], String, usize)> {
    let mut depth = 0;
    let mut close = None;
    for (j, &c) in chars.iter().enumerate() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
            '\n' => return None,
            _ => {}
        }
    }
    let close = close?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = close + 2 + chars[close + 2..].iter().position(|&c| c == ')')?;
    let url: String = chars[close + 2..end].iter().collect();
    Some((&chars[1..close], url.trim().to_owned(), end + 1))
}

/// The scheme of `url` if it has one (`javascript` in `JavaScript:…`), lower-cased; `None` for a
/// relative URL.
fn scheme(url: &str) -> Option<String> {
    let colon = url.find(':')?;
    let before = &url[..colon];
    if before.contains(['/', '?', '#']) {
        return None;
    }
    Some(before.to_ascii_lowercase())
}

/// Browsers ignore tabs, newlines and other control characters inside URLs
/// (`java\tscript:` is `javascript:`), so a URL holding any is refused outright.
fn plain(url: &str) -> Option<&str> {
    let url = url.trim();
    (!url.is_empty() && !url.chars().any(|c| c.is_control() || c.is_whitespace())).then_some(url)
}

/// `url` if a link may point there: http(s), mailto, tel, or relative to the page.
pub(crate) fn safe_link(url: &str) -> Option<String> {
    let url = plain(url)?;
    match scheme(url).as_deref() {
        None | Some("http" | "https" | "mailto" | "tel") => Some(url.to_owned()),
        Some(_) => None,
    }
}

/// `url` if an image may be loaded from there: http(s) or relative to the page.
pub(crate) fn safe_image(url: &str) -> Option<String> {
    let url = plain(url)?;
    match scheme(url).as_deref() {
        None | Some("http" | "https") => Some(url.to_owned()),
        Some(_) => None,
    }
}

// Run in headless Chromium with the widget's other tests (the widget crate builds for wasm32 only).
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    #[test]
    fn formatting_links_and_lists_parse() {
        assert_eq!(
            parse("**运费**说明：见 [帮助](https://example.com/help) 或 `FAQ`\n第二行"),
            vec![Block::Paragraph(vec![
                Inline::Strong(vec![text("运费")]),
                text("说明：见 "),
                Inline::Link {
                    text: vec![text("帮助")],
                    url: "https://example.com/help".into()
                },
                text(" 或 "),
                Inline::Code("FAQ".into()),
                Inline::LineBreak,
                text("第二行"),
            ])]
        );
        assert_eq!(
            parse("Steps:\n1. open *settings*\n2. click\n\n- a\n- b"),
            vec![
                Block::Paragraph(vec![text("Steps:")]),
                Block::List {
                    ordered: true,
                    items: vec![
                        vec![text("open "), Inline::Emphasis(vec![text("settings")])],
                        vec![text("click")]
                    ]
                },
                Block::List {
                    ordered: false,
                    items: vec![vec![text("a")], vec![text("b")]]
                },
            ]
        );
    }

    #[test]
    fn bare_urls_stop_at_punctuation_and_chinese() {
        assert_eq!(
            inlines("see https://a.example/x?y=1. 或访问https://b.example/路径"),
            vec![
                text("see "),
                Inline::Link {
                    text: vec![text("https://a.example/x?y=1")],
                    url: "https://a.example/x?y=1".into()
                },
                text(". 或访问"),
                Inline::Link {
                    text: vec![text("https://b.example/")],
                    url: "https://b.example/".into()
                },
                text("路径"),
            ]
        );
    }

    #[test]
    fn unsafe_urls_and_html_stay_text() {
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](java\tscript:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](vbscript:msgbox)",
            "![x](javascript:alert(1))",
            "![x](data:image/svg+xml,<svg onload=alert(1)>)",
        ] {
            let parsed = inlines(bad);
            assert!(
                parsed
                    .iter()
                    .all(|i| !matches!(i, Inline::Link { .. } | Inline::Image { .. })),
                "{bad} → {parsed:?}"
            );
        }
        assert_eq!(
            inlines("<img src=x onerror=alert(1)>"),
            vec![text("<img src=x onerror=alert(1)>")]
        );
        assert_eq!(safe_link("/help#top").as_deref(), Some("/help#top"));
        assert_eq!(safe_link("mailto:a@b.c").as_deref(), Some("mailto:a@b.c"));
        assert_eq!(safe_image("mailto:a@b.c"), None);
    }

    #[test]
    fn snake_case_and_lone_markers_stay_text() {
        assert_eq!(inlines("my_var_name"), vec![text("my_var_name")]);
        assert_eq!(inlines("2 * 3 * 4"), vec![text("2 * 3 * 4")]);
        assert_eq!(inlines("a \\*b\\*"), vec![text("a *b*")]);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = "[".repeat(150) + "x" + &"](https://a.example)".repeat(150);
        let parsed = parse(&deep);
        let mut depth = 0;
        let mut inline = match &parsed[0] {
            Block::Paragraph(inlines) => inlines.first(),
            other => panic!("{other:?}"),
        };
        while let Some(Inline::Link { text, .. }) = inline {
            depth += 1;
            inline = text.first();
        }
        assert_eq!(depth, MAX_DEPTH);
        let unclosed = "[*_`".repeat(2000);
        assert_eq!(
            parse(&unclosed),
            vec![Block::Paragraph(vec![text(&unclosed)])]
        );
    }
}
