//! Renders an [`Evaluation`] as plain text (for the terminal) and as a self-contained HTML page
//! with a confusion-matrix heat map (every string escaped; no scripts, no external files).

use chatlet_engine::evaluation::{Evaluation, Scores};
use std::fmt::Write;

fn percent(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// The terminal report.
pub(crate) fn text(e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "utterances        {} ({} in scope)",
        e.total, e.in_scope
    );
    let _ = writeln!(out, "accuracy          {}%", percent(e.accuracy));
    let _ = writeln!(out, "macro-F1          {}%", percent(e.macro_f1));
    if let Some(recall) = e.oos_recall {
        let _ = writeln!(
            out,
            "accuracy at threshold {}%",
            percent(e.accuracy_at_threshold)
        );
        let _ = writeln!(out, "out-of-scope recall   {}%", percent(recall));
        let _ = writeln!(
            out,
            "out-of-scope precision {}%",
            percent(e.oos_precision.unwrap_or(0.0))
        );
    }
    if let Some(slots) = e.slots {
        let _ = writeln!(
            out,
            "slot F1           {}% (precision {}%, recall {}%, {} gold spans)",
            percent(slots.f1),
            percent(slots.precision),
            percent(slots.recall),
            slots.support
        );
    }
    let _ = writeln!(out, "\nper intent: precision recall F1 (support)");
    for (intent, s) in &e.intents {
        let _ = writeln!(out, "  {intent:<32} {}", scores_line(s));
    }
    if !e.slot_types.is_empty() {
        let _ = writeln!(out, "\nper entity: precision recall F1 (support)");
        for (entity, s) in &e.slot_types {
            let _ = writeln!(out, "  {entity:<32} {}", scores_line(s));
        }
    }
    if !e.confusions.is_empty() {
        let _ = writeln!(out, "\nmost confused (gold -> predicted):");
        for (gold, predicted, count) in e.confusions.iter().take(10) {
            let _ = writeln!(out, "  {count:>4}  {gold} -> {predicted}");
        }
    }
    out
}

fn scores_line(s: &Scores) -> String {
    format!(
        "{:>6} {:>6} {:>6} ({})",
        percent(s.precision),
        percent(s.recall),
        percent(s.f1),
        s.support
    )
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The HTML report.
pub(crate) fn html(title: &str, e: &Evaluation) -> String {
    let mut out = String::new();
    let title = escape(title);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>chatlet test: {title}</title>\n\
         <style>body{{font:14px system-ui,sans-serif;margin:2em;color:#111}}table{{border-collapse:collapse}}\
         td,th{{padding:2px 6px;text-align:right}}th{{font-weight:600}}.matrix td{{width:14px;height:14px;padding:0}}\
         .matrix th{{font-size:10px;font-weight:400;white-space:nowrap}}.matrix th.col{{writing-mode:vertical-rl}}\
         </style></head><body>\n<h1>{title}</h1>\n<pre>{}</pre>\n",
        escape(&text(e))
    );
    let size = e.matrix_labels.len();
    let _ = writeln!(
        out,
        "<h2>Confusion matrix</h2>\n<p>Rows: gold intent; columns: predicted (after the out-of-scope threshold). \
         Darker is more; the diagonal is blue, mistakes are red. Hover a cell for its count.</p>\n<table class=\"matrix\" aria-label=\"confusion matrix\">"
    );
    let _ = write!(out, "<tr><th></th>");
    for label in &e.matrix_labels {
        let _ = write!(
            out,
            "<th class=\"col\" scope=\"col\">{}</th>",
            escape(label)
        );
    }
    let _ = writeln!(out, "</tr>");
    for (row, label) in e.matrix.iter().zip(&e.matrix_labels) {
        let total: usize = row.iter().sum::<usize>().max(1);
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(label));
        for (column, &count) in row.iter().enumerate() {
            let share = count as f64 / total as f64;
            let on_diagonal = e.matrix_labels[column] == *label;
            let (r, g, b) = if on_diagonal {
                (40, 90, 200)
            } else {
                (200, 40, 40)
            };
            let alpha = if count == 0 { 0.0 } else { 0.15 + 0.85 * share };
            let _ = write!(
                out,
                "<td style=\"background:rgba({r},{g},{b},{alpha:.2})\" title=\"{} → {}: {count}\"></td>",
                escape(label),
                escape(&e.matrix_labels[column])
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table>");
    let _ = writeln!(out, "<p>{size} labels.</p></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatlet_engine::Utterance;
    use chatlet_engine::evaluation::{Predicted, evaluate};

    #[test]
    fn html_escapes_labels_and_draws_every_cell() {
        let gold = [Utterance {
            text: "x".to_owned(),
            intent: Some("<script>alert(1)</script>".to_owned()),
            entities: Vec::new(),
        }];
        let predicted = [Predicted {
            intent: None,
            best: Some("other".to_owned()),
            entities: Vec::new(),
        }];
        let page = html("t", &evaluate(&gold, &predicted));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert_eq!(page.matches("<td ").count(), 4);
    }
}
