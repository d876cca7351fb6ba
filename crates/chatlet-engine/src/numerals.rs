//! Reads numbers written in Arabic digits (3,000, 1.5万, 5k), Chinese numerals (三百五十,
//! 两千零八, 二零二六) and English words (three hundred and fifty). Each reader looks at a
//! folded character slice at a position and returns the value and how many characters it used.

/// A number read from text: its value and its length in characters.
pub(crate) type Read = (f64, usize);

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn chinese_unit(c: char) -> Option<f64> {
    Some(match c {
        '十' | '拾' => 10.0,
        '百' | '佰' => 100.0,
        '千' | '仟' => 1e3,
        '万' | '萬' => 1e4,
        '亿' | '億' => 1e8,
        _ => return None,
    })
}

/// Exact powers of ten as `f64` (every one up to 1e22 is representable).
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of ASCII digits with at most one `.`. Not `str::parse::<f64>`, whose tables would
/// add about 20 KB to every widget download. Up to 15 significant digits and 22 decimals the
/// result is correctly rounded (one exact integer divided by an exact power of ten); digits
/// beyond the 18th are dropped.
fn decimal_value(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut significant = 0;
    let mut scale: i32 = 0;
    for (position, digit) in whole
        .bytes()
        .map(|b| (true, b))
        .chain(fraction.bytes().map(|b| (false, b)))
    {
        if significant < 18 {
            mantissa = mantissa * 10 + u64::from(digit - b'0');
            if mantissa > 0 {
                significant += 1;
            }
            if !position {
                scale -= 1;
            }
        } else if position {
            scale += 1;
        }
    }
    let value = mantissa as f64;
    Some(match scale {
        0 => value,
        s if s > 0 => {
            value
                * POWERS_OF_TEN
                    .get(s as usize)
                    .copied()
                    .unwrap_or(f64::INFINITY)
        }
        s => {
            value
                / POWERS_OF_TEN
                    .get((-s) as usize)
                    .copied()
                    .unwrap_or(f64::INFINITY)
        }
    })
}

/// Arabic digits with optional thousands separators, decimals and a multiplier (万, 亿, 千, k).
pub(crate) fn arabic(chars: &[char], at: usize) -> Option<Read> {
    let digits_from = |i: usize| {
        chars[i.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let first = digits_from(at);
    if first == 0 || (at > 0 && (chars[at - 1].is_ascii_digit() || chars[at - 1] == '.')) {
        return None;
    }
    let mut text: String = chars[at..at + first].iter().collect();
    let mut i = at + first;
    // Thousands groups: 3,000 or 1,234,567 (only when the first group has at most 3 digits).
    if first <= 3 {
        while chars.get(i) == Some(&',') && digits_from(i + 1) == 3 && digits_from(i + 4) == 0 {
            text.extend(&chars[i + 1..i + 4]);
            i += 4;
        }
    }
    if chars.get(i) == Some(&'.') && digits_from(i + 1) > 0 {
        let decimals = digits_from(i + 1);
        text.push('.');
        text.extend(&chars[i + 1..i + 1 + decimals]);
        i += 1 + decimals;
    }
    let mut value = decimal_value(&text)?;
    match chars.get(i) {
        Some(&c) if chinese_unit(c).is_some_and(|u| u >= 1e3) => {
            let unit = chinese_unit(c).unwrap_or(1.0);
            value *= unit;
            i += 1;
            // 1万2, 3千5: one more digit is the next place down (12000, 3500), as in 两万五;
            // 1万2千 names its place.
            if let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                match chars.get(i + 1) {
                    Some(&c) if chinese_unit(c).is_some_and(|u| u < unit) => {
                        value += f64::from(d) * chinese_unit(c).unwrap_or(0.0);
                        i += 2;
                    }
                    Some(&c) if c.is_ascii_digit() || c == '.' || chinese_unit(c).is_some() => {}
                    _ => {
                        value += f64::from(d) * unit / 10.0;
                        i += 1;
                    }
                }
            }
        }
        Some('k') if !chars.get(i + 1).is_some_and(|c| c.is_alphanumeric()) => {
            value *= 1e3;
            i += 1;
        }
        _ => {}
    }
    Some((value, i - at))
}

/// Chinese numerals: 三百五十, 一万两千, 十五, 两千零八; a run of bare digits (二零二六) reads
/// digit by digit. A lone 一 or 两 is left alone unless `lone_ok` (so 一下 and 一起 are not numbers).
pub(crate) fn chinese(chars: &[char], at: usize, lone_ok: bool) -> Option<Read> {
    let run = chars[at..]
        .iter()
        .take_while(|&&c| chinese_digit(c).is_some() || chinese_unit(c).is_some())
        .count();
    if run == 0 {
        return None;
    }
    let slice = &chars[at..at + run];
    if run == 1
        && !lone_ok
        && matches!(
            slice[0],
            '一' | '两' | '二' | '十' | '万' | '千' | '百' | '亿'
        )
    {
        // 一点五倍, 两点五公斤: not alone once decimals follow.
        let read = decimals(chars, at + 1, f64::from(chinese_digit(slice[0])?), 1);
        return (read.1 > 1).then_some(read);
    }
    if let [a, b] = slice
        && let (Some(a), Some(b)) = (chinese_digit(*a), chinese_digit(*b))
        && a > 0
        && b == a + 1
    {
        // 两三天, 七八个: a rough range, not the digits of 23 or 78.
        return None;
    }
    if slice.iter().all(|&c| chinese_digit(c).is_some()) && run > 1 {
        let value = slice.iter().fold(0.0, |v, &c| {
            v * 10.0 + f64::from(chinese_digit(c).unwrap_or(0))
        });
        return Some((value, run));
    }
    let (mut total, mut section, mut digit) = (0.0f64, 0.0f64, 0.0f64);
    let mut used = 0;
    for (i, &c) in slice.iter().enumerate() {
        if let Some(d) = chinese_digit(c) {
            digit = f64::from(d);
            // 两千五, 一百五, 三万五: a last digit right after 百, 千, 万 or 亿 counts in the next
            // lower unit (2500, 150, 35000); with 零 between (两千零五) it is the ones.
            if i + 1 == slice.len()
                && i > 0
                && let Some(unit) = chinese_unit(slice[i - 1]).filter(|&u| u >= 100.0)
            {
                digit *= unit / 10.0;
            }
        } else if let Some(unit) = chinese_unit(c) {
            if unit >= 1e4 {
                total = (total + section + digit) * unit;
                section = 0.0;
            } else {
                // 十五: a unit with no digit before it means one of it.
                let d = if digit == 0.0 && (i == 0 || chinese_unit(slice[i - 1]).is_some()) {
                    1.0
                } else {
                    digit
                };
                section += d * unit;
            }
            digit = 0.0;
        }
        used = i + 1;
    }
    Some(decimals(chars, at + used, total + section + digit, used))
}

/// What may follow a Chinese decimal (两点五公斤, 一点五倍, 三点五折, 两点五万); without one (or
/// 百分之 before it), 三点五 is read as a time and a count.
const DECIMAL_UNITS: &str = "公斤克米里倍升度吨万亿折元块寸个小天周月年%";

/// 点 and Chinese digits after the whole number `whole` (read from `at - used` to `at`), before
/// one of [`DECIMAL_UNITS`]: the number with its decimals, and times 万 or 亿 after them.
fn decimals(chars: &[char], at: usize, whole: f64, used: usize) -> Read {
    let digits = chars
        .get(at + 1..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&c| chinese_digit(c).is_some())
        .count();
    let end = at + 1 + digits;
    let percent = at >= used + 3 && chars[at - used - 3..at - used] == ['百', '分', '之'];
    if chars.get(at) != Some(&'点')
        || digits == 0
        || !(percent || chars.get(end).is_some_and(|&c| DECIMAL_UNITS.contains(c)))
    {
        return (whole, used);
    }
    let fraction = chars[at + 1..end].iter().rev().fold(0.0, |f, &c| {
        (f + f64::from(chinese_digit(c).unwrap_or(0))) / 10.0
    });
    match chars.get(end).and_then(|&c| chinese_unit(c)) {
        Some(unit) if unit >= 1e4 => ((whole + fraction) * unit, end + 1 - (at - used)),
        _ => (whole + fraction, end - (at - used)),
    }
}

const ONES: &[(&str, f64)] = &[
    ("zero", 0.0),
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("thirteen", 13.0),
    ("fourteen", 14.0),
    ("fifteen", 15.0),
    ("sixteen", 16.0),
    ("seventeen", 17.0),
    ("eighteen", 18.0),
    ("nineteen", 19.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("sixty", 60.0),
    ("seventy", 70.0),
    ("eighty", 80.0),
    ("ninety", 90.0),
];

const SCALES: &[(&str, f64)] = &[
    ("hundred", 100.0),
    ("thousand", 1e3),
    ("million", 1e6),
    ("billion", 1e9),
];

/// The lowercase letter word starting at `at`, if `at` starts a word.
pub(crate) fn word_at(chars: &[char], at: usize) -> Option<String> {
    if at > 0 && chars[at - 1].is_alphanumeric() {
        return None;
    }
    let len = chars[at..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    (len > 0).then(|| chars[at..at + len].iter().collect())
}

/// English number words: "three hundred and fifty", "twenty-five", "a thousand".
pub(crate) fn english(chars: &[char], at: usize) -> Option<Read> {
    let (mut total, mut current) = (0.0f64, 0.0f64);
    let mut i = at;
    let mut end = at;
    let mut any = false;
    while let Some(word) = word_at(chars, i) {
        let len = word.chars().count();
        if let Some(&(_, v)) = ONES.iter().find(|(w, _)| *w == word) {
            current += v;
        } else if let Some(&(_, scale)) = SCALES.iter().find(|(w, _)| *w == word) {
            if !any && word != "hundred" {
                break;
            }
            let base = if current == 0.0 { 1.0 } else { current };
            if scale >= 1e3 {
                total += base * scale;
                current = 0.0;
            } else {
                current = base * scale;
            }
        } else if (word == "a" && !any) || (word == "and" && any) {
            // "a hundred", "hundred and five": only if a number word follows.
            let next = skip_separator(chars, i + len);
            let follows = word_at(chars, next).is_some_and(|w| {
                ONES.iter().any(|(o, _)| *o == w) || SCALES.iter().any(|(s, _)| *s == w)
            });
            if !follows {
                break;
            }
            if word == "a" {
                // "a hundred" is one hundred.
                current = 1.0;
                any = true;
            }
            i = next;
            continue;
        } else {
            break;
        }
        any = true;
        end = i + len;
        i = skip_separator(chars, end);
    }
    any.then_some((total + current, end - at))
}

fn skip_separator(chars: &[char], at: usize) -> usize {
    match chars.get(at) {
        Some(' ' | '-') => at + 1,
        _ => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_as_the_standard_parser_reads_them() {
        for text in [
            "0",
            "7",
            "350",
            "1.5",
            "0.25",
            "3000",
            "12.345",
            "0.000001",
            "99999999999999.9",
            "007",
        ] {
            assert_eq!(decimal_value(text), text.parse::<f64>().ok(), "{text}");
        }
        assert_eq!(decimal_value("1.2.3"), None);
        assert_eq!(decimal_value(".5"), None);
        assert!(decimal_value(&"9".repeat(40)).is_some_and(|v| (v / 1e40 - 1.0).abs() < 1e-12));
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn reads_every_notation() {
        assert_eq!(arabic(&chars("3,000 元"), 0), Some((3000.0, 5)));
        assert_eq!(arabic(&chars("1.5万"), 0), Some((15000.0, 4)));
        assert_eq!(arabic(&chars("5k"), 0), Some((5000.0, 2)));
        assert_eq!(arabic(&chars("12,34"), 0), Some((12.0, 2)));
        assert_eq!(chinese(&chars("三百五十"), 0, false), Some((350.0, 4)));
        assert_eq!(chinese(&chars("十五"), 0, false), Some((15.0, 2)));
        assert_eq!(chinese(&chars("一万两千"), 0, false), Some((12000.0, 4)));
        assert_eq!(chinese(&chars("两千零八"), 0, false), Some((2008.0, 4)));
        assert_eq!(chinese(&chars("两千五"), 0, false), Some((2500.0, 3)));
        assert_eq!(chinese(&chars("一百五"), 0, false), Some((150.0, 3)));
        assert_eq!(chinese(&chars("三万五"), 0, false), Some((35000.0, 3)));
        assert_eq!(chinese(&chars("一亿五"), 0, false), Some((1.5e8, 3)));
        assert_eq!(chinese(&chars("两千五百"), 0, false), Some((2500.0, 4)));
        assert_eq!(chinese(&chars("二十五"), 0, false), Some((25.0, 3)));
        assert_eq!(chinese(&chars("二零二六"), 0, false), Some((2026.0, 4)));
        assert_eq!(chinese(&chars("一下"), 0, false), None);
        assert_eq!(chinese(&chars("两三天"), 0, false), None);
        assert_eq!(chinese(&chars("七八个"), 0, false), None);
        assert_eq!(chinese(&chars("九零后"), 0, false), Some((90.0, 2)));
        assert_eq!(chinese(&chars("三个"), 0, false), Some((3.0, 1)));
        assert_eq!(
            english(&chars("three hundred and fifty people"), 0),
            Some((350.0, 23))
        );
        assert_eq!(english(&chars("twenty-five"), 0), Some((25.0, 11)));
        assert_eq!(english(&chars("a thousand"), 0), Some((1000.0, 10)));
        assert_eq!(english(&chars("a cat"), 0), None);
    }
}
