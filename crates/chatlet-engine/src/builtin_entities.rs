//! Built-in entities, found by rules and resolved to values in both languages: numbers
//! (三百五十, 1.5万, 3,000), money (¥50, 50元, $5), percentages, dates and times (明天下午三点,
//! 下周一, tomorrow at 3pm, at five pm, 12/25, 三天后, in 2 hours), durations, phone numbers,
//! email addresses and URLs.
//! Dates resolve against a [`ReferenceTime`] that the caller passes in; the engine reads no clock.
//!
//! Values are normalized strings: numbers as decimals (`350`, `1.5`), money as `50 CNY`,
//! percentages as `15%` (a discount as the share paid: 八折 is `80%`), dates as `2026-11-23` (a
//! whole week, month, year or third of a month (下月初, 中旬) as its first and last day,
//! `2026-11-23/2026-11-29`), times as `2026-11-23T15:00`, durations in ISO 8601 (`PT2H`,
//! `P3D`), phones in E.164 (`+8613812345678`), emails lowercased, URLs as written. A round
//! number with 多 after it (三百多, 20多块, 三个多小时) is worth the round number, its lower
//! bound.

use crate::calendar::{Date, ReferenceTime, days_in_month};
use crate::corpus::Mention;
use crate::numerals::{self, Read};
use crate::text::fold_char;

/// The names of the built-in entity types.
pub const BUILTIN_ENTITIES: &[&str] = &[
    "number", "money", "percent", "date", "time", "duration", "phone", "email", "url",
];

/// Finds the built-in entities of the types in `wanted` (names from [`BUILTIN_ENTITIES`]).
/// Without a reference time, no dates or times are extracted. Spans never overlap; the longest
/// match wins. Never panics.
pub fn extract(text: &str, now: Option<&ReferenceTime>, wanted: &[String]) -> Vec<Mention> {
    let original: Vec<char> = text.chars().collect();
    let chars: Vec<char> = original.iter().map(|&c| fold_char(c)).collect();
    let wants = |name: &str| wanted.iter().any(|w| w == name);
    let mut found: Vec<Mention> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut best: Option<(usize, &'static str, String)> = None;
        let mut offer = |candidate: Option<(usize, &'static str, String)>| {
            if let Some(c) = candidate
                && c.0 > 0
                && wants(c.1)
                && best.as_ref().is_none_or(|b| c.0 > b.0)
            {
                best = Some(c);
            }
        };
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if wants("email") {
            offer(email(&chars, i).map(|n| (n, "email", chars[i..i + n].iter().collect())));
        }
        if wants("url") {
            offer(url(&chars, i).map(|n| (n, "url", original[i..i + n].iter().collect())));
        }
        if wants("phone") {
            offer(phone(&chars, i).map(|(n, v)| (n, "phone", v)));
        }
        if wants("money") {
            offer(money(&chars, i).map(|(n, v)| (n, "money", v)));
        }
        if wants("percent") {
            offer(percent(&chars, i).map(|(n, v)| (n, "percent", format!("{}%", decimal(v)))));
        }
        if let Some(now) = now.filter(|_| wants("date") || wants("time")) {
            let (date, time) = date_time(&chars, i, now);
            offer(date);
            offer(time);
            if let Some(previous) = found.last() {
                offer(bare_range_end(&chars, previous, i).map(|(n, v)| (n, "time", v)));
            }
            offer(
                relative(&chars, i, now).map(|(n, day, minute)| match minute {
                    Some(m) => (n, "time", format!("{day}T{:02}:{:02}", m / 60, m % 60)),
                    None => (n, "date", day.to_string()),
                }),
            );
        }
        if wants("duration") {
            offer(duration(&chars, i).map(|(n, v)| (n, "duration", v.iso())));
        }
        if wants("number") {
            offer(number(&chars, i, false).map(|(v, n)| (n, "number", decimal(v))));
        }
        match best {
            Some((length, entity, mut value)) => {
                if entity == "time"
                    && let Some(previous) = found.last()
                    && previous.entity == "time"
                {
                    let between = &chars[previous.end..i + length];
                    value = range_end(between, i - previous.end, &previous.value, value);
                }
                found.push(Mention {
                    start: i,
                    end: i + length,
                    entity: entity.to_owned(),
                    value,
                });
                i += length;
            }
            None => i += 1,
        }
    }
    found
}

/// A number as a short decimal with at most 6 decimals: `350`, `1.5`, `0.25`. Written with
/// integers: float formatting would add about 10 KB to every widget download.
fn decimal(v: f64) -> String {
    if !v.is_finite() {
        return String::from("0");
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if v.abs() >= 1e12 {
        // Fractions of such amounts are noise; `as` saturates beyond u64.
        return format!("{sign}{}", v.abs().round() as u64);
    }
    let millionths = (v.abs() * 1e6).round() as u64;
    let (whole, fraction) = (millionths / 1_000_000, millionths % 1_000_000);
    let sign = if millionths > 0 { sign } else { "" };
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:06}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// Length of `pattern` if the text at `at` starts with it (the text is already folded).
fn starts(chars: &[char], at: usize, pattern: &str) -> Option<usize> {
    let mut n = 0;
    for p in pattern.chars() {
        if chars.get(at + n) != Some(&p) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// The first of `patterns` that the text at `at` starts with: (index, length).
fn starts_any(chars: &[char], at: usize, patterns: &[&str]) -> Option<(usize, usize)> {
    patterns
        .iter()
        .enumerate()
        .find_map(|(k, p)| starts(chars, at, p).map(|n| (k, n)))
}

/// Like [`starts_any`] over the pattern each item names.
fn starts_any_by<T>(
    chars: &[char],
    at: usize,
    items: &[T],
    pattern: impl Fn(&T) -> &str,
) -> Option<(usize, usize)> {
    items
        .iter()
        .enumerate()
        .find_map(|(k, item)| starts(chars, at, pattern(item)).map(|n| (k, n)))
}

/// True if an English word continues at `at` (so a match ending before it would cut a word).
fn word_continues(chars: &[char], at: usize) -> bool {
    chars.get(at).is_some_and(|c| c.is_ascii_alphanumeric())
}

fn word_starts_here(chars: &[char], at: usize) -> bool {
    at == 0 || !chars[at - 1].is_ascii_alphanumeric()
}

/// Any number notation; `lone_ok` lets a lone 一 or 两 count (before a unit such as 个 or 天).
/// A round number with 多 after it (三百多, 20多, 一千多块) reads as the round number, its lower
/// bound, with the 多 in the span: left out, it would dangle between the number and its unit.
fn number(chars: &[char], at: usize, lone_ok: bool) -> Option<Read> {
    let (v, len) = numerals::arabic(chars, at)
        .or_else(|| numerals::chinese(chars, at, lone_ok))
        .or_else(|| numerals::english(chars, at))?;
    Some((v, len + more_than(chars, at + len)))
}

/// 1 when a 多 meaning "and some" follows a round number that ends just before `end`.
fn more_than(chars: &[char], end: usize) -> usize {
    let round = end > 0 && matches!(chars[end - 1], '0' | '十' | '百' | '千' | '万' | '亿');
    usize::from(round && chars.get(end) == Some(&'多') && chars.get(end + 1) != Some(&'少'))
}

fn spaces(chars: &[char], at: usize) -> usize {
    chars[at.min(chars.len())..]
        .iter()
        .take_while(|&&c| c == ' ')
        .count()
}

fn email(chars: &[char], at: usize) -> Option<usize> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    if at > 0 && local(chars[at - 1]) || !chars[at].is_ascii_alphanumeric() {
        return None;
    }
    let name = chars[at..].iter().take_while(|&&c| local(c)).count();
    let mut i = at + name;
    if chars.get(i) != Some(&'@') {
        return None;
    }
    i += 1;
    let label = |i: usize| {
        chars[i.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
            .count()
    };
    let mut labels = 0;
    let mut end = i;
    loop {
        let n = label(i);
        if n == 0 {
            break;
        }
        labels += 1;
        end = i + n;
        if chars.get(end) == Some(&'.') && label(end + 1) > 0 {
            i = end + 1;
        } else {
            break;
        }
    }
    let tld = chars[..end]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    (labels >= 2 && tld >= 2).then_some(end - at)
}

fn url(chars: &[char], at: usize) -> Option<usize> {
    if !word_starts_here(chars, at) {
        return None;
    }
    starts_any(chars, at, &["https://", "http://", "www."])?;
    let mut end = at
        + chars[at..]
            .iter()
            .take_while(|&&c| {
                !c.is_whitespace()
                    && !crate::text::is_cjk(c)
                    && !"<>\"'`，。！？、（）【】".contains(c)
            })
            .count();
    while end > at && ".,!?;:)]}".contains(chars[end - 1]) {
        end -= 1;
    }
    (end - at > 4).then_some(end - at)
}

fn phone(chars: &[char], at: usize) -> Option<(usize, String)> {
    let c = chars[at];
    if !(c == '+' || c.is_ascii_digit()) || (at > 0 && chars[at - 1].is_ascii_alphanumeric()) {
        return None;
    }
    let mut digits = String::new();
    let mut end = at;
    let mut i = at + usize::from(c == '+');
    let mut separator_run = 0;
    // How many digits came before the first separator (an area code, in 021-12345678).
    let mut first_group = None;
    while let Some(&c) = chars.get(i) {
        if c.is_ascii_digit() {
            digits.push(c);
            separator_run = 0;
            end = i + 1;
        } else if (c == ' ' || c == '-' || c == '(' || c == ')')
            && separator_run < 2
            && !digits.is_empty()
        {
            separator_run += 1;
            first_group.get_or_insert(digits.len());
        } else {
            break;
        }
        i += 1;
    }
    if word_continues(chars, end)
        || chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(char::is_ascii_digit)
    {
        return None;
    }
    let mobile =
        |d: &str| d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9');
    let value = if c == '+' {
        (8..=15)
            .contains(&digits.len())
            .then(|| format!("+{digits}"))?
    } else if mobile(&digits) {
        format!("+86{digits}")
    } else if let Some(rest) = digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86"))
        .filter(|d| mobile(d))
    {
        format!("+86{rest}")
    } else if landline(&digits, first_group) {
        format!("+86{}", &digits[1..])
    } else if digits.len() == 10
        && (digits.starts_with("400") || digits.starts_with("800"))
        && first_group == Some(3)
    {
        // 400-800-8888: a Chinese service number.
        format!("+86{digits}")
    } else {
        return None;
    };
    Some((end - at, value))
}

/// A Chinese landline written with its area code set apart (010-12345678, 0755 1234567):
/// 010 and 02x have two-digit codes, the rest three; the local number has 7 or 8 digits.
fn landline(digits: &str, first_group: Option<usize>) -> bool {
    let bytes = digits.as_bytes();
    if bytes.len() < 3 || bytes[0] != b'0' || bytes[1] == b'0' {
        return false;
    }
    let code = if matches!(bytes[1], b'1' | b'2') {
        3
    } else {
        4
    };
    first_group == Some(code) && (7..=8).contains(&(bytes.len() - code))
}

const CURRENCY_PREFIXES: &[(&str, &str)] = &[
    ("¥", "CNY"),
    ("￥", "CNY"),
    ("rmb", "CNY"),
    ("cny", "CNY"),
    // Before "$": the end of a range (HK$100-200) looks back for the first prefix that ends
    // where its number starts.
    ("us$", "USD"),
    ("hk$", "HKD"),
    ("nt$", "TWD"),
    ("$", "USD"),
    ("usd", "USD"),
    ("hkd", "HKD"),
    ("twd", "TWD"),
    ("€", "EUR"),
    ("eur", "EUR"),
    ("£", "GBP"),
    ("gbp", "GBP"),
];

const CURRENCY_SUFFIXES: &[(&str, &str)] = &[
    ("块钱", "CNY"),
    ("元", "CNY"),
    ("块", "CNY"),
    ("人民币", "CNY"),
    ("港币", "HKD"),
    ("港元", "HKD"),
    ("新台币", "TWD"),
    ("台币", "TWD"),
    ("日元", "JPY"),
    ("日币", "JPY"),
    ("美元", "USD"),
    ("美金", "USD"),
    ("欧元", "EUR"),
    ("英镑", "GBP"),
    ("dollars", "USD"),
    ("dollar", "USD"),
    ("bucks", "USD"),
    ("yuan", "CNY"),
    ("rmb", "CNY"),
    ("cny", "CNY"),
    ("usd", "USD"),
    ("euros", "EUR"),
    ("euro", "EUR"),
    ("eur", "EUR"),
    ("hkd", "HKD"),
    ("twd", "TWD"),
    ("yen", "JPY"),
    ("jpy", "JPY"),
    ("pounds", "GBP"),
    ("gbp", "GBP"),
];

fn money(chars: &[char], at: usize) -> Option<(usize, String)> {
    for (prefix, currency) in CURRENCY_PREFIXES {
        if let Some(n) = starts(chars, at, prefix) {
            if prefix.starts_with(|c: char| c.is_ascii_alphabetic()) && !word_starts_here(chars, at)
            {
                continue;
            }
            let gap = n + spaces(chars, at + n);
            if let Some((v, len)) = number(chars, at + gap, true) {
                return Some((gap + len, format!("{} {currency}", decimal(v))));
            }
        }
    }
    let (v, len) = number(chars, at, true)?;
    let gap = len + spaces(chars, at + len);
    // 100到200元, 50-80 dollars: a range's start is in its end's currency.
    if let Some((k, c)) = starts_any(chars, at + gap, RANGE_CONNECTORS)
        && RANGE_CONNECTORS[k] != "and "
        && let Some((_, end)) = money(chars, at + gap + c + spaces(chars, at + gap + c))
        && let Some((_, currency)) = end.rsplit_once(' ')
    {
        return Some((len, format!("{} {currency}", decimal(v))));
    }
    for (suffix, currency) in CURRENCY_SUFFIXES {
        if let Some(n) = starts(chars, at + gap, suffix) {
            if suffix.is_ascii() && word_continues(chars, at + gap + n) {
                continue;
            }
            let mut end = at + gap + n;
            let mut value = v;
            if matches!(*suffix, "块" | "元") {
                // 三块五, 5块5, 两块五毛钱, 3元5角: tenths after the yuan.
                if let Some((tenths, m)) = jiao(chars, end) {
                    value += tenths / 10.0;
                    end += m;
                } else if *suffix == "块" && counts_things(chars, end) {
                    // 两块蛋糕: 块 counts pieces here, not yuan.
                    return None;
                }
            }
            return Some((end - at, format!("{} {currency}", decimal(value))));
        }
    }
    // $50-100, ¥50~80: a range's end is in its start's currency.
    range_start_currency(chars, at).map(|currency| (len, format!("{} {currency}", decimal(v))))
}

/// The currency of a price that a range's connector before `at` ends (the $ of $50-100).
fn range_start_currency(chars: &[char], at: usize) -> Option<&'static str> {
    let before_spaces = |mut i: usize| {
        while i > 0 && chars[i - 1] == ' ' {
            i -= 1;
        }
        i
    };
    let ends_with = |end: usize, pattern: &str| {
        let n = pattern.chars().count();
        end >= n && starts(chars, end - n, pattern).is_some()
    };
    let connector_end = before_spaces(at);
    let connector = RANGE_CONNECTORS
        .iter()
        .find(|c| **c != "and " && ends_with(connector_end, c))?;
    let number_end = before_spaces(connector_end - connector.chars().count());
    let mut number_start = number_end;
    while number_start > 0 && matches!(chars[number_start - 1], '0'..='9' | '.' | ',') {
        number_start -= 1;
    }
    if number_start == number_end {
        return None;
    }
    let prefix_end = before_spaces(number_start);
    CURRENCY_PREFIXES
        .iter()
        .find(|(prefix, _)| ends_with(prefix_end, prefix))
        .map(|&(_, currency)| currency)
}

/// Characters that may follow a price in 块 without making 块 a measure word (两块钱, 三块吧,
/// 十块左右, 五块以内).
const AFTER_YUAN: &str = "钱毛角吧啊呀呢吗嘛了的哦左多以上下内一";

/// True when a Chinese word follows `at` that 块 would count (两块蛋糕, 三块手表).
fn counts_things(chars: &[char], at: usize) -> bool {
    chars
        .get(at)
        .is_some_and(|&c| crate::text::is_cjk(c) && !AFTER_YUAN.contains(c))
        && numerals::chinese(chars, at, true).is_none()
}

/// The tenths digit after 块 or 元 (五, 5, 五毛, 5角, 五毛钱, 三块五一斤): its value and
/// length. A digit that begins a count instead (三块一斤: three yuan for one jin) is not taken.
fn jiao(chars: &[char], at: usize) -> Option<(f64, usize)> {
    let &c = chars.get(at)?;
    let tenths = match c.to_digit(10) {
        Some(d) if c.is_ascii_digit() => f64::from(d),
        // One character alone: in 三块五一斤 the digits 五一 are not one number.
        _ => {
            numerals::chinese(&chars[at..=at], 0, true)
                .filter(|&(v, _)| v < 10.0)?
                .0
        }
    };
    let mut n = 1;
    if let Some((_, m)) = starts_any(chars, at + n, &["毛", "角"]) {
        n += m;
        n += starts(chars, at + n, "钱").unwrap_or(0);
    } else {
        let per_unit = chars.get(at + n) == Some(&'一') && counts_things(chars, at + n + 1);
        let more = chars
            .get(at + n)
            .is_some_and(|&c| c.is_ascii_digit() || c == '.' || counts_things(chars, at + n))
            || numerals::chinese(chars, at + n, true).is_some();
        if more && !per_unit {
            return None;
        }
    }
    Some((tenths, n))
}

fn percent(chars: &[char], at: usize) -> Option<(usize, f64)> {
    if let Some(n) = starts(chars, at, "百分之") {
        let (v, len) = number(chars, at + n, true)?;
        return Some((n + len, v));
    }
    // 打对折: half price (对折 alone is as often folding something in two).
    if at > 0
        && chars[at - 1] == '打'
        && let Some(n) = starts(chars, at, "对折")
    {
        return Some((n, 50.0));
    }
    let (v, len) = number(chars, at, true)?;
    let gap = len + spaces(chars, at + len);
    if chars.get(at + len) == Some(&'%') {
        return Some((len + 1, v));
    }
    if let Some(share) = discount(chars, at + gap, v) {
        return Some((gap + 1, share));
    }
    let (_, n) = starts_any(chars, at + gap, &["percent", "per cent"])?;
    (!word_continues(chars, at + gap + n)).then_some((gap + n, v))
}

/// The share of the price paid when `折` at `at` follows `v`: 八折 and 8折 are 80%, 八五折, 85折
/// and 8.5折 85%, 一折 10%. Not 折 in 折叠 (folding) or 三折页 (a tri-fold).
fn discount(chars: &[char], at: usize, v: f64) -> Option<f64> {
    if chars.get(at) != Some(&'折') || chars.get(at + 1).is_some_and(|&c| "叠页纸断腾".contains(c))
    {
        return None;
    }
    match v {
        v if v > 0.0 && v < 10.0 => Some(v * 10.0),
        v if (10.0..100.0).contains(&v) && v.fract() == 0.0 => Some(v),
        _ => None,
    }
}

/// (pattern, ISO 8601 designator, time part?).
const DURATION_UNITS: &[(&str, &str, bool)] = &[
    ("个多小时", "H", true),
    ("个小时", "H", true),
    ("小时", "H", true),
    ("个多钟头", "H", true),
    ("个钟头", "H", true),
    ("钟头", "H", true),
    ("分钟", "M", true),
    ("秒钟", "S", true),
    ("秒", "S", true),
    ("天", "D", false),
    ("年", "Y", false),
    ("个多星期", "W", false),
    ("个星期", "W", false),
    ("星期", "W", false),
    ("周", "W", false),
    ("个多月", "M", false),
    ("个月", "M", false),
    ("hours", "H", true),
    ("hour", "H", true),
    ("hrs", "H", true),
    ("hr", "H", true),
    ("minutes", "M", true),
    ("minute", "M", true),
    ("mins", "M", true),
    ("min", "M", true),
    ("seconds", "S", true),
    ("second", "S", true),
    ("secs", "S", true),
    ("days", "D", false),
    ("day", "D", false),
    ("weeks", "W", false),
    ("week", "W", false),
    ("months", "M", false),
    ("month", "M", false),
    ("years", "Y", false),
    ("year", "Y", false),
];

/// A length of time as read: an amount of an ISO 8601 unit (`H`, `M`, `S` within a day when
/// `time`; `D`, `W`, `M`, `Y` otherwise).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Amount {
    value: f64,
    unit: &'static str,
    time: bool,
}

impl Amount {
    fn iso(self) -> String {
        let t = if self.time { "T" } else { "" };
        format!("P{t}{}{}", decimal(self.value), self.unit)
    }
}

fn duration(chars: &[char], at: usize) -> Option<(usize, Amount)> {
    let amount = |value: f64, unit: &'static str, time: bool| Amount { value, unit, time };
    const FIXED: &[(&str, f64, &str, bool)] = &[
        ("半小时", 30.0, "M", true),
        ("半个小时", 30.0, "M", true),
        ("half an hour", 30.0, "M", true),
        ("半个月", 0.5, "M", false),
        ("半年", 6.0, "M", false),
        ("一刻钟", 15.0, "M", true),
        ("三刻钟", 45.0, "M", true),
        ("a quarter of an hour", 15.0, "M", true),
        ("quarter of an hour", 15.0, "M", true),
    ];
    if let Some((k, n)) = starts_any_by(chars, at, FIXED, |f| f.0) {
        let (_, value, unit, time) = FIXED[k];
        return Some((n, amount(value, unit, time)));
    }
    let (mut v, mut len) = match number(chars, at, true) {
        Some(r) => r,
        None => match starts(chars, at, "an ").or_else(|| starts(chars, at, "a ")) {
            Some(n) if word_starts_here(chars, at) => (1.0, n - 1),
            _ => return None,
        },
    };
    let mut gap = len + spaces(chars, at + len);
    // 一个半小时, 1个半月, two and a half hours.
    if let Some(n) = starts(chars, at + gap, "个半") {
        v += 0.5;
        gap += n;
        if let Some(n) = starts(chars, at + gap, "月") {
            return Some((gap + n, amount(v, "M", false)));
        }
    } else if let Some(n) = starts(chars, at + gap, "and a half ") {
        v += 0.5;
        gap += n;
    }
    let (k, n) = starts_any_by(chars, at + gap, DURATION_UNITS, |u| u.0)?;
    let (pattern, unit, time) = DURATION_UNITS[k];
    if pattern.is_ascii() && word_continues(chars, at + gap + n) {
        return None;
    }
    len = gap + n;
    // A bare 周 or 星期 followed by a weekday is a date (周一), not a duration.
    if (pattern == "周" || pattern == "星期")
        && chars
            .get(at + len)
            .is_some_and(|&c| weekday_zh(c).is_some())
    {
        return None;
    }
    // 2026年 is a year and 三年级 a school grade, not durations.
    if pattern == "年" && (v >= 100.0 || chars.get(at + len) == Some(&'级')) {
        return None;
    }
    // 一年半, 三天半: and a half.
    if !pattern.is_ascii()
        && let Some(n) = starts(chars, at + len, "半")
    {
        v += 0.5;
        len += n;
    } else if !pattern.is_ascii() {
        // 一年多, 两天多: and some; the value is the lower bound, as for 三个多小时.
        len += usize::from(
            chars.get(at + len) == Some(&'多') && chars.get(at + len + 1) != Some(&'少'),
        );
    }
    Some((len, amount(v, unit, time)))
}

/// A moment a length of time from now, before or after: 三天后, 两小时以后, 3天前, in 2 hours,
/// 3 days ago, two weeks from now (or from today). Days and longer give a date; hours and less a time, to the
/// minute. A fraction of a day, week or month (一天半后) is left a duration. Gives the length of
/// its text, the day, and the minute of the day for hours and less.
fn relative(chars: &[char], at: usize, now: &ReferenceTime) -> Option<(usize, Date, Option<u32>)> {
    let ahead_in = starts(chars, at, "in ").filter(|_| word_starts_here(chars, at));
    let (n, amount) = duration(chars, at + ahead_in.unwrap_or(0))?;
    let mut end = at + ahead_in.unwrap_or(0) + n;
    let sign: i64 = if ahead_in.is_some() {
        1
    } else if let Some((k, m)) =
        starts_any(chars, end, &["以后", "之后", "后", "以前", "之前", "前"])
    {
        end += m;
        if k < 3 { 1 } else { -1 }
    } else {
        let gap = spaces(chars, end);
        let (k, m) = starts_any(
            chars,
            end + gap,
            &["from now", "from today", "later", "ago"],
        )
        .filter(|&(_, m)| !word_continues(chars, end + gap + m))?;
        end += gap + m;
        if k < 3 { 1 } else { -1 }
    };
    // Bounded, so that no amount read from text overflows the arithmetic below.
    let whole = |v: f64| (v.fract() == 0.0 && v.abs() <= 10_000.0).then_some(v as i64);
    if amount.time {
        let per_unit = match amount.unit {
            "H" => 60.0,
            "M" => 1.0,
            _ => 1.0 / 60.0,
        };
        let minutes = amount.value * per_unit;
        if minutes.is_nan() || minutes.abs() > 1e7 {
            return None;
        }
        let total = now.date.days() * 1440
            + i64::from(now.hour * 60 + now.minute)
            + sign * minutes.round() as i64;
        let (day, minute) = (
            Date::from_days(total.div_euclid(1440)),
            total.rem_euclid(1440),
        );
        return Some((end - at, day, Some(minute as u32)));
    }
    let today = now.date;
    let day = match amount.unit {
        "D" => today.plus_days(sign * whole(amount.value)?),
        "W" => today.plus_days(sign * 7 * whole(amount.value)?),
        unit => {
            let months = whole(amount.value)? * if unit == "Y" { 12 } else { 1 };
            let (year, month) = month_from(today, sign * months)?;
            Date::new(year, month, today.day.min(days_in_month(year, month)))?
        }
    };
    Some((end - at, day, None))
}

fn weekday_zh(c: char) -> Option<u32> {
    Some(match c {
        '一' => 0,
        '二' => 1,
        '三' => 2,
        '四' => 3,
        '五' => 4,
        '六' => 5,
        '日' | '天' => 6,
        _ => return None,
    })
}

const WEEKDAYS_EN: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS_EN: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A date alone, and a date with a time of day after it (or a time of day alone, today): both
/// candidates, so that a bot that only wants dates still gets the date of 明天下午三点.
type Candidate = Option<(usize, &'static str, String)>;

fn date_time(chars: &[char], at: usize, now: &ReferenceTime) -> (Candidate, Candidate) {
    // 3天后下午2点, in 3 days at 5pm: a day from now takes a time as a named day does.
    let from_now = || relative(chars, at, now).filter(|r| r.2.is_none());
    let (day_before, date_len) =
        match date(chars, at, now).or_else(|| from_now().map(|r| (r.1, r.0))) {
            Some((d, n)) => (Some(d), n),
            None => (None, 0),
        };
    let date_only = match day_before {
        Some(d) => Some((date_len, "date", d.to_string())),
        None => {
            period(chars, at, now.date).map(|(from, to, n)| (n, "date", format!("{from}/{to}")))
        }
    };
    let mut i = at + date_len;
    // "tomorrow morning at 9", "friday evening at 8", "tonight at 9": the part of the day says
    // which half an hour is in, and the evening's 12 is its midnight (0 morning, 1 afternoon,
    // 2 evening or night).
    let mut part = (day_before.is_some() && starts(chars, at, "tonight").is_some()).then_some(2);
    if day_before.is_some() {
        i += spaces(chars, i);
        if let Some(n) = starts(chars, i, "的") {
            i += n;
        }
        if let Some((k, n)) =
            starts_any(chars, i, &["morning ", "afternoon ", "evening ", "night "])
            && starts(chars, i + n, "at ").is_some()
        {
            i += n;
            part = Some(k.min(2));
        }
        // "tomorrow from 3pm to 5pm", "friday between 2pm and 4pm": the range's start is the
        // day's (and its end follows the start, see `range_end`).
        if let Some((_, n)) = starts_any(chars, i, &["from ", "between "])
            && (time_of_day(chars, i + n).is_some() || bare_range(chars, i + n).is_some())
        {
            i += n;
        }
    }
    // "tomorrow from 9 to 5", "friday 10-2": after a named day, two bare hours joined as a
    // range are the hours of that day (elsewhere, "pages 3 to 5" counts). The end is read by
    // `bare_range_end` once this start is found.
    let bare = day_before.and_then(|_| bare_range(chars, i));
    let with_time = time_of_day(chars, i)
        .or_else(|| part.filter(|&p| p > 0).and_then(|_| evening_hour(chars, i)))
        .or_else(|| bare.map(|(hour, n, _)| (hour, 0, n)))
        // 一点 alone is "a little" (便宜一点, 快一点); 明天一点, 一点钟, 下午一点 are times.
        .filter(|&(_, _, n)| day_before.is_some() || chars[i..i + n] != ['一', '点'])
        .map(|(hour, minute, n)| {
            let hour = match part {
                Some(1 | 2) if hour < 12 => hour + 12,
                Some(2) if hour == 12 => 24,
                _ => hour,
            };
            let mut end = i + n;
            let start_named = names_half_of_day(&chars[i..i + n]) || part.is_some();
            // "at 7:45 in the morning", "at 5 in the afternoon": the half of the day said after
            // the time (and before a day: "at 9 in the morning tomorrow").
            let said_after = if start_named {
                None
            } else {
                half_said_after(chars, end)
            };
            if let Some((_, n)) = said_after {
                end += n;
            }
            let day = match day_before {
                Some(day) => day,
                // 3pm tomorrow, at 9 on friday: the day may follow the hour.
                None => {
                    let mut after = end + spaces(chars, end);
                    if word_starts_here(chars, after)
                        && let Some(n) = starts(chars, after, "on ")
                    {
                        after += n;
                    }
                    match date(chars, after, now) {
                        Some((day, n)) => {
                            end = after + n;
                            day
                        }
                        // 3pm-5pm tomorrow, from 3pm to 5pm on friday: the day after the range
                        // is its start's too (the end is read on its own, day and all).
                        None => starts_any(chars, after, &["-", "to ", "and "])
                            .and_then(|(_, c)| {
                                let to = after + c + spaces(chars, after + c);
                                let (_, _, m) = time_of_day(chars, to)?;
                                let named_at = to + m + spaces(chars, to + m);
                                let on = starts(chars, named_at, "on ").unwrap_or(0);
                                date(chars, named_at + on, now)
                            })
                            .map_or(now.date, |(day, _)| day),
                    }
                }
            };
            // 3点 said at 10:00 today means 15:00, the next three o'clock: an hour that names
            // no half of the day is the next one to come (as Duckling reads "at 3"). A leading
            // zero (09:30) is a 24-hour clock.
            // Midnight ends its day, as 晚上12点 does: "at midnight" is the end of today,
            // "tomorrow at midnight" the end of tomorrow (not the night that just began it).
            let said = &chars[i..i + n];
            let day = if said.len() >= 8 && starts(said, said.len() - 8, "midnight").is_some() {
                day.plus_days(1)
            } else {
                day
            };
            // 晚上12点: the evening's midnight begins the next day.
            let (day, hour) = if hour == 24 {
                (day.plus_days(1), 0)
            } else {
                (day, hour)
            };
            let first_digit = chars[i..i + n].iter().find(|c| c.is_ascii_digit());
            // 3-5pm, 11-1pm, 9-11am: a start that names no half of the day takes its end's.
            let end_named = named_range_end(chars, i + n).filter(|_| !start_named);
            let hour = match end_named {
                Some(end) if hour < 12 && hour + 12 <= end => hour + 12,
                _ => hour,
            };
            // 9 to 5 runs through the day from the morning: the start comes first.
            let bare_hour = (1..12).contains(&hour)
                && !start_named
                && end_named.is_none()
                && first_digit != Some(&'0')
                && bare.is_none_or(|(start, _, end)| start < end);
            // On another day there is no "next to come": 明天3点 and "tomorrow at 5" are read
            // as people make appointments, one to six in the afternoon and seven to eleven in
            // the morning (凌晨3点, 5am and 05:00 say otherwise).
            let hour = match said_after {
                Some((afternoon, _)) => hour + if afternoon && hour < 12 { 12 } else { 0 },
                None if bare_hour
                    && if day == now.date {
                        (hour, minute) < (now.hour, now.minute)
                    } else {
                        hour <= LAST_AFTERNOON_HOUR
                    } =>
                {
                    hour + 12
                }
                None => hour,
            };
            (end - at, "time", format!("{day}T{hour:02}:{minute:02}"))
        });
    (date_only, with_time)
}

/// "in the morning" (false) or "in the afternoon" / "in the evening" (true) after `at`, with its
/// length from `at`.
fn half_said_after(chars: &[char], at: usize) -> Option<(bool, usize)> {
    let gap = spaces(chars, at);
    let (k, n) = starts_any(
        chars,
        at + gap,
        &["in the morning", "in the afternoon", "in the evening"],
    )?;
    (gap > 0 && !word_continues(chars, at + gap + n)).then_some((k > 0, gap + n))
}

/// On a day other than today, an hour that names no half of the day up to this one is an
/// afternoon hour (明天3点 is 15:00), and a later one a morning hour (明天8点 is 08:00).
const LAST_AFTERNOON_HOUR: u32 = 6;

/// True when a time's text says which half of the day it is in (下午, 早, 3pm, 3 p.m., noon).
fn names_half_of_day(text: &[char]) -> bool {
    text.iter().any(|&c| "上下午晚早凌晨中".contains(c))
        || ["am", "pm", "a.m.", "p.m.", "noon", "midnight"]
            .iter()
            .any(|end| {
                let n = end.len();
                text.len() >= n && starts(text, text.len() - n, end).is_some()
            })
}

/// The end of a time range (`between` runs from the start's end to the end's end, which begins
/// at `begins`): 下午两点到四点 and 3pm-5pm share the start's day, and its afternoon when the end
/// names none. Any other time is returned as it was.
fn range_end(between: &[char], begins: usize, first: &str, end: String) -> String {
    let mut i = spaces(between, 0);
    let Some((_, n)) = starts_any(between, i, RANGE_CONNECTORS) else {
        return end;
    };
    i += n;
    i += spaces(between, i);
    if i != begins {
        return end;
    }
    let hour = |v: &str| match v.as_bytes().get(11..13) {
        Some(&[tens, ones]) => {
            u32::from(tens.wrapping_sub(b'0')) * 10 + u32::from(ones.wrapping_sub(b'0'))
        }
        _ => 99,
    };
    let (first_hour, mut end_hour) = (hour(first), hour(&end));
    if !names_half_of_day(&between[i..]) && end_hour < 12 && end_hour < first_hour {
        end_hour += 12;
    }
    match (first.get(..10), end.get(13..)) {
        (Some(day), Some(minutes)) if end_hour < 24 => {
            format!("{day}T{end_hour:02}{minutes}")
        }
        _ => end,
    }
}

/// True when a range's connector and then a time follow `at` ("and" only after "between",
/// which would end at `start`, where the range's start begins).
fn starts_range(chars: &[char], start: usize, at: usize) -> bool {
    let j = at + spaces(chars, at);
    let Some((k, c)) = starts_any(chars, j, RANGE_CONNECTORS) else {
        return false;
    };
    let between = start >= 8 && starts(chars, start - 8, "between ").is_some();
    let to = j + c + spaces(chars, j + c);
    (RANGE_CONNECTORS[k] != "and " || between) && time_of_day(chars, to).is_some()
}

/// Two bare hours joined as a range at `at` ("9 to 5", "10-2", "3 and 5" after "between"), with
/// the end not counting something ("3 to 5 people") and no minutes or units after either:
/// (the start's hour, the start's length, the end's hour).
fn bare_range(chars: &[char], at: usize) -> Option<(u32, usize, u32)> {
    let (start, n) = bare_hour(chars, at)?;
    let between = at >= 8 && starts(chars, at - 8, "between ").is_some();
    let (end, _) = bare_range_tail(chars, at + n, between)?;
    Some((start, n, end))
}

/// A range's connector and a bare hour that ends a time phrase after `at`: (the hour, where
/// the hour starts).
fn bare_range_tail(chars: &[char], at: usize, between: bool) -> Option<(u32, usize)> {
    let j = at + spaces(chars, at);
    let (k, c) = starts_any(chars, j, RANGE_CONNECTORS)?;
    if RANGE_CONNECTORS[k] == "and " && !between {
        return None;
    }
    let to = j + c + spaces(chars, j + c);
    let (end, m) = bare_hour(chars, to)?;
    ends_time_phrase(chars, to + m).then_some((end, to))
}

/// An hour from 1 to 12 in digits, alone: no minutes, unit or letters after it.
fn bare_hour(chars: &[char], at: usize) -> Option<(u32, usize)> {
    let n = digit_run(chars, at);
    let hour = digit_value(chars, at, n);
    // 9:30, 2.5 and 1,200 go on as numbers; "to 2." ends a sentence.
    let goes_on = match chars.get(at + n) {
        Some('%') => true,
        Some(':' | '.' | ',') => chars.get(at + n + 1).is_some_and(char::is_ascii_digit),
        _ => false,
    };
    let alone = word_starts_here(chars, at) && !word_continues(chars, at + n) && !goes_on;
    ((1..=2).contains(&n) && (1..=12).contains(&hour) && alone && !counts_points(chars, at))
        .then_some((hour, n))
}

/// The end of a bare range whose start is the time found last: the hour that begins at `at`
/// ("5" in "tomorrow from 9 to 5"), on the start's day (`extract` then moves it after the
/// start, see `range_end`).
fn bare_range_end(chars: &[char], previous: &Mention, at: usize) -> Option<(usize, String)> {
    if previous.entity != "time" {
        return None;
    }
    let said = &chars[previous.start..previous.end];
    let between =
        said.len() >= 8 && (0..=said.len() - 8).any(|k| starts(said, k, "between ").is_some());
    let (hour, to) = bare_range_tail(chars, previous.end, between)?;
    let (_, m) = bare_hour(chars, to)?;
    let day = previous.value.get(..10)?;
    (to == at).then(|| (m, format!("{day}T{hour:02}:00")))
}

/// What joins the start and the end of a time range.
const RANGE_CONNECTORS: &[&str] = &["到", "至", "-", "~", "～", "—", "to ", "and "];

/// The hour of a range's end that follows `at` and says which half of the day it is in (the
/// 5pm of 3-5pm; 3-5点 says none).
fn named_range_end(chars: &[char], at: usize) -> Option<u32> {
    let j = at + spaces(chars, at);
    let (_, c) = starts_any(chars, j, RANGE_CONNECTORS)?;
    let to = j + c + spaces(chars, j + c);
    let (hour, _, m) = time_of_day(chars, to)?;
    names_half_of_day(&chars[to..to + m]).then_some(hour)
}

/// "at 9" after "tonight": an evening hour without am or pm.
fn evening_hour(chars: &[char], at: usize) -> Option<(u32, u32, usize)> {
    let n = starts(chars, at, "at ")?;
    let h = digit_run(chars, at + n);
    if !(1..=2).contains(&h) || chars.get(at + n + h) == Some(&':') {
        return None;
    }
    let hour = digit_value(chars, at + n, h);
    (1..=11).contains(&hour).then_some((hour + 12, 0, n + h))
}

fn date(chars: &[char], at: usize, now: &ReferenceTime) -> Option<(Date, usize)> {
    let today = now.date;
    const RELATIVE: &[(&str, i64)] = &[
        ("大后天", 3),
        ("后天", 2),
        ("明天", 1),
        ("明日", 1),
        ("明早", 1),
        ("明晚", 1),
        ("今天", 0),
        ("今日", 0),
        ("今早", 0),
        ("今晚", 0),
        ("昨天", -1),
        ("大前天", -3),
        ("前天", -2),
        ("the day after tomorrow", 2),
        ("day after tomorrow", 2),
        ("tomorrow", 1),
        ("today", 0),
        ("tonight", 0),
        ("yesterday", -1),
    ];
    for (pattern, shift) in RELATIVE {
        if let Some(n) = starts(chars, at, pattern) {
            if pattern.is_ascii() && (!word_starts_here(chars, at) || word_continues(chars, at + n))
            {
                continue;
            }
            // 今晚, 明早 and the like keep their morning or evening for a following hour, via
            // time_of_day's reading of 早 and 晚; here they are just the day.
            let n = if pattern.ends_with(['早', '晚']) {
                n - 1
            } else {
                n
            };
            return Some((today.plus_days(*shift), n));
        }
    }
    // Fixed-date holidays, the next one to come (lunar ones would need a lunar calendar).
    const HOLIDAYS: &[(&str, u32, u32)] = &[
        ("元旦", 1, 1),
        ("情人节", 2, 14),
        ("劳动节", 5, 1),
        ("五一", 5, 1),
        ("国庆节", 10, 1),
        ("国庆", 10, 1),
        ("双十一", 11, 11),
        ("双十二", 12, 12),
        ("平安夜", 12, 24),
        ("圣诞节", 12, 25),
        ("圣诞", 12, 25),
        ("christmas eve", 12, 24),
        ("christmas", 12, 25),
        ("new year's day", 1, 1),
        ("valentine's day", 2, 14),
    ];
    if let Some((k, n)) = starts_any_by(chars, at, HOLIDAYS, |h| h.0) {
        let (pattern, month, day) = HOLIDAYS[k];
        let whole_word =
            !pattern.is_ascii() || (word_starts_here(chars, at) && !word_continues(chars, at + n));
        // 五一 inside a longer numeral (五一二) is a number.
        let numeral_goes_on = pattern == "五一"
            && chars
                .get(at + n)
                .is_some_and(|&c| numerals::chinese(&[c], 0, true).is_some());
        if whole_word && !numeral_goes_on {
            return Some((upcoming(today, month, day)?, n));
        }
    }
    // Holidays on the nth weekday of a month (Monday = 0), the next one to come: 母亲节 is the
    // second Sunday of May, 感恩节 (as in the US) the fourth Thursday of November.
    const WEEKDAY_HOLIDAYS: &[(&str, u32, u32, u32)] = &[
        ("母亲节", 5, 6, 2),
        ("mother's day", 5, 6, 2),
        ("父亲节", 6, 6, 3),
        ("father's day", 6, 6, 3),
        ("感恩节", 11, 3, 4),
        ("thanksgiving", 11, 3, 4),
    ];
    if let Some((k, n)) = starts_any_by(chars, at, WEEKDAY_HOLIDAYS, |h| h.0) {
        let (pattern, month, weekday, nth) = WEEKDAY_HOLIDAYS[k];
        let on = |year: i32| -> Option<Date> {
            let first = next_weekday(Date::new(year, month, 1)?, weekday);
            Some(first.plus_days(7 * i64::from(nth - 1)))
        };
        let whole_word =
            !pattern.is_ascii() || (word_starts_here(chars, at) && !word_continues(chars, at + n));
        if whole_word {
            let next = on(today.year)
                .filter(|d| *d >= today)
                .or_else(|| on(today.year + 1))?;
            return Some((next, n));
        }
    }
    // Lunar-calendar holidays: the next one to come, from the table. 除夕 is the eve of 春节.
    const LUNAR_NAMES: &[(&str, usize)] = &[
        ("春节", 0),
        ("过年", 0),
        ("大年初一", 0),
        ("元宵节", 1),
        ("元宵", 1),
        ("端午节", 2),
        ("端午", 2),
        ("七夕", 3),
        ("中秋节", 4),
        ("中秋", 4),
        ("重阳节", 5),
        ("重阳", 5),
        ("除夕", 6),
        ("大年三十", 6),
    ];
    if let Some((k, n)) = starts_any_by(chars, at, LUNAR_NAMES, |h| h.0) {
        let holiday = LUNAR_NAMES[k].1;
        let on = |year: i32| -> Option<Date> {
            let row = LUNAR_HOLIDAYS.get(usize::try_from(year - LUNAR_FIRST_YEAR).ok()?)?;
            let packed = u32::from(row[holiday % 6]);
            let date = Date::new(year, packed / 100, packed % 100)?;
            Some(if holiday == 6 {
                date.plus_days(-1)
            } else {
                date
            })
        };
        let next = on(today.year)
            .filter(|d| *d >= today)
            .or_else(|| on(today.year + 1))?;
        return Some((next, n));
    }
    // 年底, 今年年底, 明年底, 年末: the year's last day (2027年底 is read where its numeral
    // starts, by chinese_date; 三年底 is a length, 三年, first).
    let named_year = starts_any_by(chars, at, YEAR_NAMES, |y| y.0);
    let (year_shift, named) = named_year.map_or((0, 0), |(k, n)| (YEAR_NAMES[k].1, n));
    let bare = starts(chars, at + named, "年");
    if (named_year.is_some() || bare.is_some())
        && let Some((_, end)) = starts_any(chars, at + named + bare.unwrap_or(0), &["底", "末"])
    {
        let year = i32::try_from(i64::from(today.year) + year_shift).ok()?;
        return Some((Date::new(year, 12, 31)?, named + bare.unwrap_or(0) + end));
    }
    // 下个月5号, 本月20日, 上个月3号; 月底, 下个月底, 本月末. A bare 月 only before 底 or 末
    // (12月底 is read where its numeral starts, by chinese_date).
    let named_month = starts_any_by(chars, at, MONTH_NAMES, |m| m.0);
    if let Some((shift, n)) = named_month
        .map(|(k, n)| (MONTH_NAMES[k].1, n))
        .or_else(|| starts(chars, at, "月").map(|n| (0, n)))
    {
        let (year, month) = month_from(today, shift)?;
        if let Some((_, end)) = starts_any(chars, at + n, &["底", "末"]) {
            let last = Date::new(year, month, days_in_month(year, month))?;
            return Some((last, n + end));
        }
        if named_month.is_some()
            && let Some((day, m)) = small_number(chars, at + n)
            && let Some((_, suffix)) = starts_any(chars, at + n + m, &["日", "号", "號"])
        {
            return Some((Date::new(year, month, day)?, n + m + suffix));
        }
    }
    // 下周一, 这周五, 上星期三, 下下周三, 周日, 星期天, 礼拜二.
    let (week_shift, prefix) = match starts_any_by(chars, at, WEEK_PREFIXES, |p| p.0) {
        Some((k, n)) => (WEEK_PREFIXES[k].1, n),
        None => (0, 0),
    };
    if let Some((_, n)) = starts_any(chars, at + prefix, &["星期", "礼拜", "周"])
        && let Some(&c) = chars.get(at + prefix + n)
    {
        let length = prefix + n + 1;
        if c == '末' {
            return Some((weekend(today, week_shift), length));
        }
        if let Some(w) = weekday_zh(c) {
            let date = if prefix == 0 {
                next_weekday(today, w)
            } else {
                week_day(today, week_shift, w)
            };
            return Some((date, length));
        }
    }
    // English weekdays: next monday, this friday, last tuesday, monday.
    if word_starts_here(chars, at) {
        let (shift, skip) = match starts_any(chars, at, &["next ", "this ", "last "]) {
            Some((k, n)) => (Some([1, 0, -1][k]), n),
            None => (None, 0),
        };
        if let Some(n) = starts(chars, at + skip, "weekend")
            && !word_continues(chars, at + skip + n)
        {
            return Some((weekend(today, shift.unwrap_or(0)), skip + n));
        }
        if let Some((w, n)) = starts_any(chars, at + skip, WEEKDAYS_EN)
            && !word_continues(chars, at + skip + n)
        {
            // "this friday" is the coming one and "last friday" the latest past one, whatever
            // the week (said on a Sunday, neither is in this Monday-to-Sunday week); "next
            // friday" is next week's.
            let date = match shift {
                Some(1) => week_day(today, 1, w as u32),
                Some(-1) => next_weekday(today, w as u32).plus_days(-7),
                _ => next_weekday(today, w as u32),
            };
            return Some((date, skip + n));
        }
    }
    // 2026年12月25日, 12月25号, 25号.
    if let Some(found) = chinese_date(chars, at, today) {
        return Some(found);
    }
    english_date(chars, at, today)
}

/// The weekday `w` (Monday = 0) of the week `shift` weeks from this one (weeks start Monday).
fn week_day(today: Date, shift: i64, w: u32) -> Date {
    today.plus_days(shift * 7 + i64::from(w) - i64::from(today.weekday()))
}

/// Gregorian dates (month × 100 + day) of the lunar-calendar holidays, one row a year from
/// [`LUNAR_FIRST_YEAR`]: 春节 (1/1), 元宵 (1/15), 端午 (5/5), 七夕 (7/7), 中秋 (8/15), 重阳 (9/9).
/// Generated with the Python package `lunardate`. A holiday past the table's last year is not
/// resolved (no entity) rather than guessed.
const LUNAR_HOLIDAYS: [[u16; 6]; 12] = [
    [129, 212, 531, 829, 1006, 1029], // 2025
    [217, 303, 619, 819, 925, 1018],  // 2026
    [206, 220, 609, 808, 915, 1008],  // 2027
    [126, 209, 528, 826, 1003, 1026], // 2028
    [213, 227, 616, 816, 922, 1016],  // 2029
    [203, 217, 605, 805, 912, 1005],  // 2030
    [123, 206, 624, 824, 1001, 1024], // 2031
    [211, 225, 612, 812, 919, 1012],  // 2032
    [131, 214, 601, 801, 908, 1001],  // 2033
    [219, 305, 620, 820, 927, 1020],  // 2034
    [208, 222, 610, 810, 916, 1009],  // 2035
    [128, 211, 530, 828, 1004, 1027], // 2036
];
const LUNAR_FIRST_YEAR: i32 = 2025;

/// Years named relative to this one (明年底, 今年年底) and their shift.
const YEAR_NAMES: &[(&str, i64)] = &[("今年", 0), ("明年", 1), ("去年", -1), ("后年", 2)];

/// Months named relative to this one (下个月5号, 上月底, 下个月 as a whole) and their shift.
const MONTH_NAMES: &[(&str, i64)] = &[
    ("下个月", 1),
    ("下月", 1),
    ("这个月", 0),
    ("本月", 0),
    ("上个月", -1),
    ("上月", -1),
];

/// What comes before 周, 星期 or 礼拜 to name a week relative to this one, and its shift.
const WEEK_PREFIXES: &[(&str, i64)] = &[
    ("下下个", 2),
    ("下下", 2),
    ("下个", 1),
    ("下", 1),
    ("这个", 0),
    ("这", 0),
    ("本", 0),
    ("上上个", -2),
    ("上上", -2),
    ("上个", -1),
    ("上", -1),
];

/// The year and month `shift` months from `date`'s.
fn month_from(date: Date, shift: i64) -> Option<(i32, u32)> {
    let index = i64::from(date.year) * 12 + i64::from(date.month) - 1 + shift;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    Some((year, index.rem_euclid(12) as u32 + 1))
}

/// A week, month or year as a whole (下周, 这个月, 明年, next week, this month, last year): its
/// first and last days (weeks run Monday to Sunday) and the length of its name. Tried where no
/// single day is named, so 下周一 and 下个月5号 stay days.
fn period(chars: &[char], at: usize, today: Date) -> Option<(Date, Date, usize)> {
    const SPANS: [&str; 8] = [
        "week", "month", "year", "spring", "summer", "autumn", "winter", "fall",
    ];
    // The days of a month the period covers, whether its month went unnamed (月初), and whether
    // only a third of the month makes it a period (12月初, 月初; not 12月, 月).
    let mut days = (1, 31);
    // 今年夏天, next winter: a season of the named year (its first month, 3 for spring).
    let mut season = None;
    let mut bare_month = false;
    let mut needs_part = false;
    let (span, shift, n) = if word_starts_here(chars, at)
        && let Some((k, n)) = starts_any(chars, at, &["next ", "this ", "last "])
    {
        let (span, m) = starts_any(chars, at + n, &SPANS)?;
        if word_continues(chars, at + n + m) {
            return None;
        }
        if span > 2 {
            season = Some([3, 6, 9, 12, 9][span - 3]);
        }
        (span.min(2), [1, 0, -1][k], n + m)
    } else {
        // 看一下周报, 尝一下月饼, 以上周期: 一下 and 以上 are words of their own.
        if at > 0 && "一以".contains(chars[at - 1]) {
            return None;
        }
        let named = if let Some((k, n)) = starts_any(chars, at, &["明年", "今年", "去年"]) {
            // The season's name, then 天 or 季.
            let seasons = starts_any(chars, at + n, &["春", "夏", "秋", "冬"])
                .filter(|&(_, m)| "天季".contains(chars.get(at + n + m).copied().unwrap_or('.')));
            season = seasons.map(|(s, _)| 3 * s as u32 + 3);
            (2, [1, 0, -1][k], n + seasons.map_or(0, |(_, m)| m + 1))
        } else if let Some((k, n)) = starts_any_by(chars, at, MONTH_NAMES, |m| m.0) {
            (1, MONTH_NAMES[k].1, n)
        } else if let Some((month, m)) = small_number(chars, at).filter(|&(month, m)| {
            (1..=12).contains(&month)
                && chars.get(at + m) == Some(&'月')
                && (at == 0 || chars[at - 1] != '年')
        }) {
            // 12月初: this year's, or the next to come (2027年12月初 names its year: not read).
            needs_part = true;
            (
                1,
                (i64::from(month) - i64::from(today.month)).rem_euclid(12),
                m + 1,
            )
        } else if chars.get(at) == Some(&'月') {
            // 月初 alone; not the end of a longer name (三个月, 十二月, 每月).
            if at > 0
                && "0123456789零一二三四五六七八九十两个几半每上下本这".contains(chars[at - 1])
            {
                return None;
            }
            bare_month = true;
            needs_part = true;
            (1, 0, 1)
        } else {
            let (k, p) = starts_any_by(chars, at, WEEK_PREFIXES, |w| w.0)?;
            let (_, w) = starts_any(chars, at + p, &["星期", "礼拜", "周"])?;
            (0, WEEK_PREFIXES[k].1, p + w)
        };
        // 下月初, 本月中旬: a third of the month.
        if named.0 == 1
            && let Some((k, m)) = starts_any(chars, at + named.2, &MONTH_PARTS)
        {
            days = MONTH_PART_DAYS[k];
            (named.0, named.1, named.2 + m)
        } else if needs_part
            // 下周边 (the nearby), 上月球 (onto the moon), 今年级: the name begins a longer word.
            || chars
                .get(at + named.2)
                .is_some_and(|&c| "边报期刊末底初级球饼".contains(c))
        {
            return None;
        } else {
            named
        }
    };
    let (from, to) = match span {
        0 => (week_day(today, shift, 0), week_day(today, shift, 6)),
        1 => {
            let month = |shift| {
                let (year, month) = month_from(today, shift)?;
                let last = days.1.min(days_in_month(year, month));
                Some((
                    Date::new(year, month, days.0)?,
                    Date::new(year, month, last)?,
                ))
            };
            let (from, to) = month(shift)?;
            // 月初 alone is next month's once this month's has passed.
            if bare_month && to < today {
                month(1)?
            } else {
                (from, to)
            }
        }
        _ => {
            let (year, _) = month_from(today, 12 * shift)?;
            match season {
                // Winter runs into the next year.
                Some(first) => {
                    let (end_year, end) = month_from(Date::new(year, first, 1)?, 2)?;
                    (
                        Date::new(year, first, 1)?,
                        Date::new(end_year, end, days_in_month(end_year, end))?,
                    )
                }
                None => (Date::new(year, 1, 1)?, Date::new(year, 12, 31)?),
            }
        }
    };
    Some((from, to, n))
}

/// The thirds of a month (初 is the first), and the first and last days of each: 下月初,
/// 本月中旬, 月初 are periods.
const MONTH_PARTS: [&str; 4] = ["初", "上旬", "中旬", "下旬"];
const MONTH_PART_DAYS: [(u32, u32); 4] = [(1, 10), (1, 10), (11, 20), (21, 31)];

/// The Saturday of the weekend `shift` weeks from this one; on a Sunday, this weekend is today.
fn weekend(today: Date, shift: i64) -> Date {
    let saturday = week_day(today, shift, 5);
    if shift == 0 && saturday < today {
        today
    } else {
        saturday
    }
}

/// The next day that is weekday `w`, today included.
fn next_weekday(today: Date, w: u32) -> Date {
    today.plus_days((i64::from(w) - i64::from(today.weekday())).rem_euclid(7))
}

/// A month and day with no year: this year's, or next year's if that has passed.
fn upcoming(today: Date, month: u32, day: u32) -> Option<Date> {
    let this_year = Date::new(today.year, month, day)?;
    if this_year < today {
        Date::new(today.year + 1, month, day)
    } else {
        Some(this_year)
    }
}

fn small_number(chars: &[char], at: usize) -> Option<(u32, usize)> {
    let (v, n) = numerals::arabic(chars, at).or_else(|| numerals::chinese(chars, at, true))?;
    (v.fract() == 0.0 && (0.0..=9999.0).contains(&v)).then_some((v as u32, n))
}

/// The next day of the month with this number to come, today included (15号, on the 15th): this
/// month's, or a later month's if it has passed or the month has no such day (the 29th said on
/// January 30th is March's when February has 28 days).
fn day_of_month(today: Date, day: u32) -> Option<Date> {
    (0..3).find_map(|shift| {
        let (year, month) = month_from(today, shift)?;
        Date::new(year, month, day).filter(|d| *d >= today)
    })
}

fn chinese_date(chars: &[char], at: usize, today: Date) -> Option<(Date, usize)> {
    let mut i = at;
    let mut year = None;
    if let Some((y, n)) = small_number(chars, i)
        && y >= 1000
        && chars.get(i + n) == Some(&'年')
    {
        year = Some(y as i32);
        i += n + 1;
        // 2027年底: that year's last day.
        if let Some((_, end)) = starts_any(chars, i, &["底", "末"]) {
            return Some((Date::new(y as i32, 12, 31)?, i + end - at));
        }
    }
    let (first, n) = small_number(chars, i)?;
    i += n;
    match chars.get(i) {
        Some('月') if matches!(chars.get(i + 1), Some('底' | '末')) => {
            // 12月底: the month's last day, this year's or the next to come.
            let year = year.unwrap_or(if first < today.month {
                today.year + 1
            } else {
                today.year
            });
            let last = Date::new(year, first, days_in_month(year, first))?;
            Some((last, i + 2 - at))
        }
        Some('月') => {
            let (day, m) = small_number(chars, i + 1)?;
            let (_, suffix) = starts_any(chars, i + 1 + m, &["日", "号", "號"])?;
            let date = match year {
                Some(y) => Date::new(y, first, day)?,
                None => upcoming(today, first, day)?,
            };
            Some((date, i + 1 + m + suffix - at))
        }
        Some('号' | '號') if year.is_none() => Some((day_of_month(today, first)?, i + 1 - at)),
        _ => None,
    }
}

/// How many ASCII digits start at `at`.
fn digit_run(chars: &[char], at: usize) -> usize {
    chars[at.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// The value of the `n` digits at `at`; `u32::MAX` (never a valid date part) if unreadable.
fn digit_value(chars: &[char], at: usize, n: usize) -> u32 {
    chars[at..at + n]
        .iter()
        .collect::<String>()
        .parse()
        .unwrap_or(u32::MAX)
}

fn english_date(chars: &[char], at: usize, today: Date) -> Option<(Date, usize)> {
    if !word_starts_here(chars, at) {
        return None;
    }
    let digits = |i: usize| digit_run(chars, i);
    let read = |i: usize, n: usize| digit_value(chars, i, n);
    // 2026-12-25
    let n = digits(at);
    if n == 4
        && chars.get(at + 4) == Some(&'-')
        && digits(at + 5) == 2
        && chars.get(at + 7) == Some(&'-')
        && digits(at + 8) == 2
    {
        let date = Date::new(read(at, 4) as i32, read(at + 5, 2), read(at + 8, 2))?;
        return Some((date, 10));
    }
    // 12/25 and 12/25/2026 (month first).
    if (1..=2).contains(&n) && chars.get(at + n) == Some(&'/') {
        let m = digits(at + n + 1);
        if (1..=2).contains(&m) {
            let (month, day) = (read(at, n), read(at + n + 1, m));
            let mut end = at + n + 1 + m;
            let date = if chars.get(end) == Some(&'/') && digits(end + 1) == 4 {
                let year = read(end + 1, 4) as i32;
                end += 5;
                Date::new(year, month, day)?
            } else {
                upcoming(today, month, day)?
            };
            return (!word_continues(chars, end) && chars.get(end) != Some(&'/'))
                .then_some((date, end - at));
        }
    }
    // December 25(th)(, 2026) and 25(th) December (2026); three-letter month names too.
    let month_at = |i: usize| -> Option<(u32, usize)> {
        MONTHS_EN.iter().enumerate().find_map(|(k, name)| {
            let full = starts(chars, i, name).filter(|&n| !word_continues(chars, i + n));
            let short = starts(chars, i, &name[..3])
                .filter(|&n| !word_continues(chars, i + n) && chars.get(i + n) != Some(&'.'));
            full.or(short).map(|n| (k as u32 + 1, n))
        })
    };
    let ordinal = |i: usize| -> Option<(u32, usize)> {
        let n = digits(i);
        if !(1..=2).contains(&n) {
            return None;
        }
        let suffix = starts_any(chars, i + n, &["st", "nd", "rd", "th"]).map_or(0, |s| s.1);
        (!word_continues(chars, i + n + suffix)).then(|| (read(i, n), n + suffix))
    };
    let year_after = |i: usize| -> Option<(i32, usize)> {
        let skip = usize::from(chars.get(i) == Some(&','))
            + spaces(chars, i + usize::from(chars.get(i) == Some(&',')));
        (digits(i + skip) == 4 && !word_continues(chars, i + skip + 4))
            .then(|| (read(i + skip, 4) as i32, skip + 4))
    };
    if let Some((month, n)) = month_at(at) {
        let gap = n + spaces(chars, at + n);
        let (day, m) = ordinal(at + gap)?;
        let end = at + gap + m;
        return Some(match year_after(end) {
            Some((year, y)) => (Date::new(year, month, day)?, end + y - at),
            None => (upcoming(today, month, day)?, end - at),
        });
    }
    // on the 15th, by the 3rd: a day of this month (or the next). Only after a word that puts
    // a day there: "the 4th floor" and "the 2nd option" count.
    if let Some(the) = starts(chars, at, "the ") {
        let before = |word: &str| {
            let n = word.len();
            at > n
                && starts(chars, at - n - 1, word).is_some()
                && chars[at - 1] == ' '
                && word_starts_here(chars, at - n - 1)
        };
        let n = digits(at + the);
        let suffix = starts_any(chars, at + the + n, &["st", "nd", "rd", "th"]);
        if ["on", "by", "before", "after", "until", "till", "from"]
            .iter()
            .any(|w| before(w))
            && (1..=2).contains(&n)
            && let Some((_, s)) = suffix
            && !word_continues(chars, at + the + n + s)
        {
            let end = at + the + n + s;
            let after = end + spaces(chars, end);
            let month_follows = month_at(after + starts(chars, after, "of ").unwrap_or(0));
            let time_follows = starts(chars, after, "at ").is_some();
            if month_follows.is_none() && (ends_time_phrase(chars, end) || time_follows) {
                let day = day_of_month(today, read(at + the, n))?;
                return Some((day, end - at));
            }
        }
    }
    let (day, m) = ordinal(at)?;
    let gap = m
        + spaces(chars, at + m)
        + starts(chars, at + m + spaces(chars, at + m), "of ").unwrap_or(0);
    let (month, n) = month_at(at + gap)?;
    let end = at + gap + n;
    Some(match year_after(end) {
        Some((year, y)) => (Date::new(year, month, day)?, end + y - at),
        None => (upcoming(today, month, day)?, end - at),
    })
}

/// A time of day: 下午三点半, 晚上8点15分, 15:30, 3pm, at 3:30 p.m., noon. (hour, minute, length);
/// hour 24 is the midnight that ends the day (晚上12点).
fn time_of_day(chars: &[char], at: usize) -> Option<(u32, u32, usize)> {
    const PERIODS: &[(&str, i32)] = &[
        ("凌晨", -1),
        ("早上", 0),
        ("早晨", 0),
        ("上午", 0),
        ("中午", 1),
        ("下午", 2),
        ("傍晚", 2),
        ("晚上", 3),
        ("今晚", 3),
        ("晚", 3),
        ("早", 0),
    ];
    if counts_points(chars, at) {
        return None;
    }
    let mut i = at;
    let mut period = None;
    if let Some((k, n)) = starts_any_by(chars, i, PERIODS, |p| p.0) {
        period = Some(PERIODS[k].1);
        i += n;
    }
    // An evening's 12 o'clock (晚上12点) is its midnight, hour 24: the start of the next day.
    let afternoon = |hour: u32, p: Option<i32>| match p {
        Some(2 | 3) if hour < 12 => hour + 12,
        Some(3) if hour == 12 => 24,
        Some(1) if hour < 6 => hour + 12,
        // 凌晨12点 is the midnight that begins the day.
        Some(-1) if hour == 12 => 0,
        _ => hour,
    };
    // 15:30 (either language).
    let digits = |i: usize| digit_run(chars, i);
    let read = |i: usize, n: usize| digit_value(chars, i, n);
    let english_start = if period.is_none() {
        starts(chars, i, "at ")
            .filter(|_| word_starts_here(chars, i))
            .unwrap_or(0)
    } else {
        0
    };
    let j = i + english_start;
    let h = digits(j);
    if (1..=2).contains(&h) && chars.get(j + h) == Some(&':') && digits(j + h + 1) == 2 {
        let (said, minute) = (read(j, h), read(j + h + 1, 2));
        let mut end = j + h + 3;
        let mut hour = said;
        if let Some((pm, n)) = am_pm(chars, end) {
            hour = if pm { hour % 12 + 12 } else { hour % 12 };
            end += n;
        } else {
            hour = afternoon(hour, period);
        }
        return (said < 24 && minute < 60).then_some((hour, minute, end - at));
    }
    // 3pm, 3 pm, at 3 p.m.
    if (1..=2).contains(&h)
        && let Some((pm, n)) = am_pm(chars, j + h)
    {
        let hour = read(j, h);
        let hour = if pm { hour % 12 + 12 } else { hour % 12 };
        return (hour < 24).then_some((hour, 0, j + h + n - at));
    }
    // at 5: an hour alone, once "at" has said that it is one.
    if english_start > 0
        && (1..=2).contains(&h)
        && !word_continues(chars, j + h)
        && !matches!(chars.get(j + h), Some(':' | '.' | '%'))
    {
        let hour = read(j, h);
        return (hour < 24).then_some((hour, 0, j + h - at));
    }
    // five pm, seven o'clock, five thirty pm, at five thirty, at seven (then the end of the
    // phrase or a day: "at one point" is no hour).
    if period.is_none()
        && word_starts_here(chars, j)
        && let Some((w, n)) = starts_any(chars, j, HOUR_WORDS)
        && !word_continues(chars, j + n)
    {
        let mut end = j + n;
        let mut hour = w as u32 + 1;
        let mut minute = 0;
        let mut clock = false;
        let gap = spaces(chars, end);
        if let Some((_, m)) = starts_any(chars, end + gap, &["o'clock", "oclock"]) {
            end += gap + m;
            clock = true;
        } else if gap > 0
            && let Some((v, m)) = numerals::english(chars, end + gap)
                .filter(|&(v, _)| v.fract() == 0.0 && (1.0..60.0).contains(&v))
        {
            minute = v as u32;
            end += gap + m;
        }
        if let Some((pm, p)) = am_pm(chars, end) {
            hour = if pm { hour % 12 + 12 } else { hour % 12 };
            end += p;
            clock = true;
        }
        let at_alone = english_start > 0 && (minute > 0 || (w > 0 && ends_time_phrase(chars, end)));
        if clock || at_alone {
            return Some((hour, minute, end - at));
        }
    }
    if period.is_none()
        && word_starts_here(chars, j)
        && let Some((k, n)) = starts_any(chars, j, &["noon", "midnight"])
            .filter(|&(_, n)| !word_continues(chars, j + n))
    {
        return Some((if k == 0 { 12 } else { 0 }, 0, j + n - at));
    }
    // half past three, quarter past 4, quarter to five (pm).
    if period.is_none()
        && word_starts_here(chars, j)
        && let Some((k, n)) = starts_any(chars, j, &["half past ", "quarter past ", "quarter to "])
        && let Some((hour, m)) = numerals::arabic(chars, j + n)
            .or_else(|| numerals::english(chars, j + n))
            .filter(|&(v, _)| v.fract() == 0.0 && (1.0..=12.0).contains(&v))
    {
        let hour = hour as u32;
        let (mut hour, minute) = match k {
            0 => (hour, 30),
            1 => (hour, 15),
            _ => (if hour == 1 { 12 } else { hour - 1 }, 45),
        };
        let mut end = j + n + m;
        if let Some((pm, p)) = am_pm(chars, end) {
            hour = if pm { hour % 12 + 12 } else { hour % 12 };
            end += p;
        }
        return Some((hour, minute, end - at));
    }
    // 中午 alone is noon (明天中午 → 12:00).
    if period == Some(1) && small_number(chars, i).is_none() {
        return Some((12, 0, i - at));
    }
    // 三点, 3点半, 八点十五分, 十点一刻.
    let (hour, n) = small_number(chars, i)?;
    let Some((_, mark)) = starts_any(chars, i + n, &["点钟", "点", "點", "时"]) else {
        // 3-5点, 下午三到五点, 3-5pm, between 3 and 5pm: a range's start may leave its mark to
        // the end (which `date_time` reads for the half of the day).
        return (hour < 24 && starts_range(chars, at, i + n)).then_some((
            afternoon(hour, period),
            0,
            i + n - at,
        ));
    };
    let mut end = i + n + mark;
    let mut minute = 0;
    if let Some(m) = starts(chars, end, "半") {
        minute = 30;
        end += m;
    } else if let Some((k, m)) = starts_any(chars, end, &["一刻", "三刻"]) {
        minute = [15, 45][k];
        end += m;
    } else if let Some(m) = starts(chars, end, "整") {
        // 8点整: on the hour, and part of the time's text.
        end += m;
    } else if let Some((v, m)) = small_number(chars, end)
        && v < 60
    {
        let marked = starts(chars, end + m, "分");
        // Minutes without 分 are written with two characters (12点05, 八点十五, 九点零五); a
        // lone digit starts a count instead (7点4个人: seven o'clock, four people).
        let counted = chars
            .get(end + m)
            .is_some_and(|&c| MEASURE_WORDS.contains(c));
        if marked.is_some() || (m >= 2 && !counted) {
            minute = v;
            end += m + marked.unwrap_or(0);
        }
    }
    (hour < 24).then_some((afternoon(hour, period), minute, end - at))
}

/// True when 第 comes just before `at`, or before a range's start that ends at `at`: 第3点 and
/// 第3-5点 number points (of a list), not hours.
fn counts_points(chars: &[char], at: usize) -> bool {
    let numeral = |c: char| c.is_ascii_digit() || "零一二三四五六七八九十两".contains(c);
    let before = |i: usize| chars.get(i.wrapping_sub(1)).copied();
    let mut i = at;
    if before(i).is_some_and(|c| RANGE_CONNECTORS.iter().any(|r| r.starts_with(c))) {
        i -= 1;
        while before(i).is_some_and(numeral) {
            i -= 1;
        }
    }
    before(i) == Some('第')
}

/// The hours in English words, one to twelve.
const HOUR_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve",
];

/// True when nothing but punctuation, the end, or a word that goes with a time follows `at`.
fn ends_time_phrase(chars: &[char], at: usize) -> bool {
    let i = at + spaces(chars, at);
    match chars.get(i) {
        None => true,
        Some(c) if !c.is_alphanumeric() => true,
        Some(_) => starts_any(
            chars,
            i,
            &[
                "tomorrow",
                "today",
                "tonight",
                "on ",
                "this ",
                "next ",
                "then",
                "please",
                "in the morning",
                "in the afternoon",
                "in the evening",
            ],
        )
        .is_some(),
    }
}

/// Measure words that make the number before them a count of something.
const MEASURE_WORDS: &str = "个位人名份张间桌件次只瓶盒包斤";

/// `am`, `pm`, `a.m.`, `p.m.` after optional spaces: (is pm, length).
fn am_pm(chars: &[char], at: usize) -> Option<(bool, usize)> {
    let gap = spaces(chars, at);
    let (k, n) = starts_any(chars, at + gap, &["a.m.", "p.m.", "am", "pm"])?;
    if word_continues(chars, at + gap + n) {
        return None;
    }
    Some((k % 2 == 1, gap + n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_short() {
        for (v, text) in [
            (350.0, "350"),
            (1.5, "1.5"),
            (0.25, "0.25"),
            (-2.0, "-2"),
            (15000.0, "15000"),
            (1.0 / 3.0, "0.333333"),
            (0.0000004, "0"),
        ] {
            assert_eq!(decimal(v), text);
        }
    }

    fn now() -> ReferenceTime {
        // A Sunday.
        ReferenceTime {
            date: Date::new(2026, 11, 22).unwrap(),
            hour: 10,
            minute: 0,
        }
    }

    fn all() -> Vec<String> {
        BUILTIN_ENTITIES.iter().map(|s| (*s).to_owned()).collect()
    }

    /// `(entity, value, covered text)` of every match.
    fn found(text: &str) -> Vec<(String, String, String)> {
        let chars: Vec<char> = text.chars().collect();
        extract(text, Some(&now()), &all())
            .into_iter()
            .map(|m| (m.entity, m.value, chars[m.start..m.end].iter().collect()))
            .collect()
    }

    fn one(text: &str) -> (String, String, String) {
        let f = found(text);
        assert_eq!(f.len(), 1, "{text:?}: {f:?}");
        f.into_iter().next().unwrap()
    }

    /// The values found in `text` said at `now` (`YYYY-MM-DDTHH:MM`).
    fn values_at(now: &str, text: &str) -> Vec<String> {
        let now = ReferenceTime::parse(now).unwrap();
        extract(text, Some(&now), &all())
            .into_iter()
            .map(|m| m.value)
            .collect()
    }

    #[test]
    fn lunar_holidays_past_the_table_are_not_guessed() {
        assert_eq!(values_at("2036-01-01T10:00", "除夕"), ["2036-01-27"]);
        assert!(values_at("2036-12-01T10:00", "春节").is_empty());
        assert!(values_at("2036-12-01T10:00", "除夕").is_empty());
        assert_eq!(values_at("2025-01-29T10:00", "春节"), ["2025-01-29"]);
    }

    #[test]
    fn an_evening_hour_is_in_the_evening_before_it_comes() {
        // At 08:00, nine o'clock is still to come in the morning; "tonight" says which.
        assert_eq!(
            values_at("2026-11-22T08:00", "tonight at 9"),
            ["2026-11-22T21:00"]
        );
        assert_eq!(values_at("2026-11-22T08:00", "at 9"), ["2026-11-22T09:00"]);
        // "at 9ish" is read only after an evening's name, and then in the evening.
        assert_eq!(
            values_at("2026-11-22T08:00", "tonight at 9ish"),
            ["2026-11-22T21:00"]
        );
        let morning = values_at("2026-11-22T08:00", "tomorrow morning at 9ish");
        assert!(!morning.iter().any(|v| v.contains('T')), "{morning:?}");
    }

    #[test]
    fn relative_dates_keep_the_day_or_the_month_end() {
        assert_eq!(values_at("2027-01-31T10:00", "一个月后"), ["2027-02-28"]);
        assert_eq!(
            values_at("2028-02-29T10:00", "one year ago"),
            ["2027-02-28"]
        );
        assert_eq!(
            values_at("2026-12-31T23:30", "in 45 minutes"),
            ["2027-01-01T00:15"]
        );
        // Amounts too large for a calendar stay durations, and nothing overflows.
        for text in [
            "in 99999999999999999999 hours",
            "一万亿小时后",
            "in 20000 days",
        ] {
            let found = extract(text, Some(&now()), &all());
            assert!(
                found.iter().all(|m| m.entity == "duration"),
                "{text}: {found:?}"
            );
            assert_eq!(found.len(), 1, "{text}: {found:?}");
        }
    }

    #[test]
    fn fixtures() {
        // (text, entity, value, covered text): one built-in entity per line.
        let table = include_str!("../tests/fixtures/builtin_entities.tsv");
        let mut checked = 0;
        for (n, line) in table.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), 4, "line {}: {line:?}", n + 1);
            let got = one(cells[0]);
            assert_eq!(
                (got.0.as_str(), got.1.as_str(), got.2.as_str()),
                (cells[1], cells[2], cells[3]),
                "builtin_entities.tsv line {}",
                n + 1
            );
            checked += 1;
        }
        assert!(checked >= 40, "{checked}");
    }

    #[test]
    fn several_in_one_sentence_and_nothing_in_plain_words() {
        let f = found("明天下午三点送到，运费¥15，联系13812345678");
        let kinds: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(kinds, ["time", "money", "phone"], "{f:?}");
        assert!(found("看一下，我们一起去").is_empty());
        // 第3点, 第三点, 第3-5点 number points of a list, not hours.
        for text in ["第3-5点建议很好", "请看第三点", "第二点和第十点"] {
            assert!(found(text).iter().all(|x| x.0 != "time"), "{text}");
        }
        assert_eq!(
            found("第3点很重要，明天3点见")
                .into_iter()
                .filter(|x| x.0 == "time")
                .map(|x| x.1)
                .collect::<Vec<_>>(),
            ["2026-11-23T15:00"]
        );
        let values = |text: &str| -> Vec<(String, String)> {
            found(text)
                .into_iter()
                .map(|(kind, value, _)| (kind, value))
                .collect()
        };
        let pair = |kind: &str, value: &str| (kind.to_owned(), value.to_owned());
        // A lone digit after 点 starts a count, not the minutes.
        assert_eq!(
            values("我想订明天晚上7点4个人的位子"),
            [pair("time", "2026-11-23T19:00"), pair("number", "4")]
        );
        // The end of a range keeps the start's day and afternoon.
        assert_eq!(
            values("明天下午两点到四点有空"),
            [
                pair("time", "2026-11-23T14:00"),
                pair("time", "2026-11-23T16:00")
            ]
        );
        assert_eq!(
            values("tomorrow 3pm - 5pm"),
            [
                pair("time", "2026-11-23T15:00"),
                pair("time", "2026-11-23T17:00")
            ]
        );
        // A day named before "from"/"between" or after the range's end is the start's too.
        for (text, day) in [
            ("tomorrow from 3pm to 5pm", "2026-11-23"),
            ("friday between 2pm and 4pm", "2026-11-27"),
            ("3pm-5pm tomorrow", "2026-11-23"),
            ("from 2pm to 4pm on friday", "2026-11-27"),
        ] {
            let times: Vec<String> = values(text).into_iter().map(|(_, v)| v).collect();
            assert_eq!(times.len(), 2, "{text}: {times:?}");
            assert!(
                times.iter().all(|t| t.starts_with(day)),
                "{text}: {times:?}"
            );
        }
        // A range's start may leave its mark (点, pm) to the end, and takes the end's half of
        // the day (at 10:00 today, 9 alone would be the next nine o'clock, 21:00).
        for (text, start, end) in [
            ("明天3-5点", "2026-11-23T15:00", "2026-11-23T17:00"),
            ("下午三到五点", "2026-11-22T15:00", "2026-11-22T17:00"),
            ("tomorrow 3-5pm", "2026-11-23T15:00", "2026-11-23T17:00"),
            ("between 3 and 5pm", "2026-11-22T15:00", "2026-11-22T17:00"),
            ("9-11am", "2026-11-22T09:00", "2026-11-22T11:00"),
            ("11-1pm", "2026-11-22T11:00", "2026-11-22T13:00"),
        ] {
            assert_eq!(
                values(text),
                [pair("time", start), pair("time", end)],
                "{text}"
            );
        }
        // A price range's start is in its end's currency; counted cakes are no price.
        assert_eq!(
            values("价格在100到200元之间"),
            [pair("money", "100 CNY"), pair("money", "200 CNY")]
        );
        assert_eq!(
            values("50-80 dollars"),
            [pair("money", "50 USD"), pair("money", "80 USD")]
        );
        // And its end in its start's.
        assert_eq!(
            values("budget $50-100"),
            [pair("money", "50 USD"), pair("money", "100 USD")]
        );
        assert_eq!(
            values("HK$100-200"),
            [pair("money", "100 HKD"), pair("money", "200 HKD")]
        );
        assert_eq!(
            values("¥50 ~ 80左右"),
            [pair("money", "50 CNY"), pair("money", "80 CNY")]
        );
        assert_eq!(
            values("50-100 people"),
            [pair("number", "50"), pair("number", "100")]
        );
        assert_eq!(
            values("买3到5块蛋糕"),
            [pair("number", "3"), pair("number", "5")]
        );
        // 点 is a decimal point only before a unit (or after 百分之): 三点五 is a time and a count.
        assert_eq!(values("三点五")[0], pair("time", "2026-11-22T15:00"));
        // 一点 alone is "a little", not one o'clock.
        for text in ["快一点", "一点一点地学", "能便宜一点吗"] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
        assert_eq!(values("明天一点"), [pair("time", "2026-11-23T13:00")]);
        // Without a time after it, a number before 到 or "and" is a number.
        assert_eq!(values("3 and 5pm")[0], pair("number", "3"));
        assert_eq!(
            values("我要3到5个"),
            [pair("number", "3"), pair("number", "5")]
        );
        // 多 after a number that is not round, or in 多少 (how much), is not "and some".
        assert_eq!(values("两天多少钱"), [pair("duration", "P2D")]);
        assert_eq!(values("三百多少钱"), [pair("number", "300")]);
        assert_eq!(values("25多"), [pair("number", "25")]);
        // 下周 and 下月 inside other words: 一下 (a bit) then 周报 (weekly report) or 月饼.
        assert!(found("看一下周报").is_empty());
        // 每月初 is every month's start, not one period; 三个月 is a duration.
        assert!(
            values("每月初结算").is_empty(),
            "{:?}",
            values("每月初结算")
        );
        assert_eq!(values("三个月初"), [pair("duration", "P3M")]);
        // A third of a month with its year named is not read as this year's.
        assert!(
            !values("2027年12月初")
                .iter()
                .any(|(_, v)| v.contains("2026-12"))
        );
        assert!(found("尝一下月饼").is_empty());
        assert!(found("next weekly meeting").is_empty());
        // A named day of a period stays a day.
        assert_eq!(values("下个月5号"), [pair("date", "2026-12-05")]);
        // 折 that is no discount: folding, a tri-fold, a fold in two, a hundred.
        assert!(found("折叠椅").is_empty());
        assert_eq!(values("三折页"), [pair("number", "3")]);
        assert!(found("把纸对折").is_empty());
        assert_eq!(values("100折"), [pair("number", "100")]);
        // An hour in words needs a clock word, am/pm or "at" ending the phrase.
        assert_eq!(values("at one point"), [pair("number", "1")]);
        assert_eq!(values("at five percent"), [pair("percent", "5%")]);
        assert_eq!(values("five people"), [pair("number", "5")]);
        // Not a moment: a length alone, or a fraction of a day from now.
        assert_eq!(values("two hours"), [pair("duration", "PT2H")]);
        assert_eq!(values("一天半后"), [pair("duration", "P1.5D")]);
        // "at" before a percentage is no hour.
        assert_eq!(values("prices down at 5%"), [pair("percent", "5%")]);
        // 块 counting pieces, or in 一块 (together), is no price.
        assert!(found("我要两块蛋糕").is_empty());
        assert!(found("我们一块去吧").is_empty());
        assert!(found("hello there, how are you").is_empty());
    }

    #[test]
    fn the_half_of_the_day_said_after_a_time_decides_it() {
        // Said at 10:00 on 2026-12-10: 7:45 alone would be the next to come, 19:45.
        let at = |text: &str| values_at("2026-12-10T10:00", text);
        assert_eq!(at("at 7:45 in the morning"), ["2026-12-10T07:45"]);
        assert_eq!(at("at 5 in the afternoon"), ["2026-12-10T17:00"]);
        assert_eq!(at("call at seven in the evening"), ["2026-12-10T19:00"]);
        assert_eq!(at("tomorrow at 8 in the evening"), ["2026-12-11T20:00"]);
        assert_eq!(at("at 9 in the morning tomorrow"), ["2026-12-11T09:00"]);
        // A time that names its half keeps it; a word that goes on is no half of the day.
        assert_eq!(at("3pm in the afternoon"), ["2026-12-10T15:00"]);
        assert_eq!(at("at 7:45 in the morningside"), ["2026-12-10T19:45"]);
        let chars: Vec<char> = "at 9 in the morning tomorrow".chars().collect();
        let found = extract(
            "at 9 in the morning tomorrow",
            Some(&ReferenceTime::parse("2026-12-10T10:00").unwrap()),
            &all(),
        );
        assert_eq!((found[0].start, found[0].end), (0, chars.len()));
    }

    #[test]
    fn a_day_of_the_month_is_this_months_or_the_next_and_weeks_count_from_today() {
        // Said on Thursday 2026-12-03: the 2nd has passed, so it is January's.
        let at = |text: &str| values_at("2026-12-03T10:00", text);
        assert_eq!(at("2号"), ["2027-01-02"]);
        assert_eq!(at("3号"), ["2026-12-03"]);
        assert_eq!(at("on the 2nd"), ["2027-01-02"]);
        assert_eq!(at("by the 15th please"), ["2026-12-15"]);
        assert_eq!(at("until the 31st."), ["2026-12-31"]);
        assert_eq!(at("on the 15th at 3pm"), ["2026-12-15T15:00"]);
        assert_eq!(at("2 weeks from today"), ["2026-12-17"]);
        // Said on 2026-01-30: February has no 30th, and the 5th is February's.
        assert_eq!(values_at("2026-01-30T10:00", "5号"), ["2026-02-05"]);
        assert_eq!(values_at("2026-01-30T10:00", "on the 29th"), ["2026-03-29"]);
        // Floors, options and places count.
        for text in [
            "on the 2nd floor",
            "the 4th option",
            "he was the 1st",
            "on the 15 th",
        ] {
            assert!(
                at(text).iter().all(|v| !v.starts_with("20")),
                "{text}: {:?}",
                at(text)
            );
        }
    }

    #[test]
    fn bare_hours_after_a_named_day_are_its_hours_and_counts_stay_counts() {
        // Said on Sunday 2026-11-22 at 10:00. "9 to 5" runs from the morning; "2 to 4" is an
        // afternoon, as 明天2点 is.
        let times = |text: &str| -> Vec<(String, String)> {
            found(text)
                .into_iter()
                .map(|(kind, value, covered)| (format!("{kind} {value}"), covered))
                .collect()
        };
        let pair = |value: &str, covered: &str| (value.to_owned(), covered.to_owned());
        for (text, start, end) in [
            (
                "tomorrow from 9 to 5",
                "2026-11-23T09:00",
                "2026-11-23T17:00",
            ),
            (
                "open friday from 10 to 2.",
                "2026-11-27T10:00",
                "2026-11-27T14:00",
            ),
            (
                "tomorrow 9-5 please",
                "2026-11-23T09:00",
                "2026-11-23T17:00",
            ),
            ("tomorrow 2 to 4", "2026-11-23T14:00", "2026-11-23T16:00"),
            // Opening hours, though 9:00 has passed (9 alone would be 21:00).
            ("today from 9 to 5", "2026-11-22T09:00", "2026-11-22T17:00"),
            (
                "tomorrow between 9 and 11",
                "2026-11-23T09:00",
                "2026-11-23T11:00",
            ),
            ("明天3点到5", "2026-11-23T15:00", "2026-11-23T17:00"),
        ] {
            let got = times(text);
            assert_eq!(got.len(), 2, "{text}: {got:?}");
            assert_eq!(got[0].0, format!("time {start}"), "{text}");
            assert_eq!(got[1].0, format!("time {end}"), "{text}");
        }
        assert_eq!(
            times("tomorrow from 9 to 5")[1],
            pair("time 2026-11-23T17:00", "5")
        );
        // Counted things, numbers that go on, and ranges with no day named stay numbers.
        for text in [
            "tomorrow from 3 to 5 people",
            "tomorrow 3-5 pages",
            "read pages from 3 to 5",
            "between 3 and 5",
            "tomorrow 9 to 5.5",
            "tomorrow 9 and 5",
        ] {
            let got = times(text);
            assert!(
                got.iter().all(|(value, _)| !value.starts_with("time")),
                "{text}: {got:?}"
            );
        }
        assert_eq!(
            times("明天3点到5个人"),
            [
                pair("time 2026-11-23T15:00", "明天3点"),
                pair("number 5", "5")
            ]
        );
        assert_eq!(
            times("tomorrow at 3 to 5 of us"),
            [
                pair("time 2026-11-23T15:00", "tomorrow at 3"),
                pair("number 5", "5")
            ]
        );
    }

    #[test]
    fn only_wanted_types_and_no_dates_without_a_reference_time() {
        let wanted = vec!["number".to_owned()];
        let m = extract("50元 明天", None, &wanted);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].entity.as_str(), m[0].value.as_str()),
            ("number", "50")
        );
        assert!(extract("明天", None, &all()).is_empty());
    }
}
