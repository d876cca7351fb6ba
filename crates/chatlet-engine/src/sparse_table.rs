//! A sparse weight table: for each known feature, a short row of (column, weight) pairs. The
//! intent classifier and the slot tagger both store their weights in it. Training produces a
//! dense table; [`SparseTable::compress`] prunes and quantizes it to 8 bits. Stored
//! delta-encoded and columnar, so that gzip finds the patterns.

use crate::features::{FEATURE_BITS, FeatureId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredTable", into = "StoredTable")]
pub(crate) struct SparseTable {
    /// Width of a dense row (number of classes or tags).
    columns: usize,
    /// Sorted feature ids; row `i` belongs to `features[i]`.
    features: Vec<FeatureId>,
    index: FeatureIndex,
    /// `row_start[i]..row_start[i + 1]` are row `i`'s cells.
    row_start: Vec<u32>,
    /// `(column, weight in steps)`: kept together and 8-bit, so that a lookup touches few
    /// cache lines (prediction is dominated by these reads).
    cells: Vec<(u16, i8)>,
    /// Quantization step of the stored weights.
    step: f32,
}

impl SparseTable {
    /// Keeps the weights of `dense` (`vocabulary.len()` rows of `columns`) that are at least
    /// `prune_below` of the largest, at most `max_weights` of them, quantized to 8 bits. Returns
    /// the table and, for each of its rows, the vocabulary row it came from.
    pub(crate) fn compress(
        columns: usize,
        vocabulary: &[FeatureId],
        dense: &[f32],
        max_weights: usize,
        prune_below: f32,
    ) -> (SparseTable, Vec<usize>) {
        let largest = dense.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let mut cut = largest * prune_below;
        let mut strict = false;
        if dense.iter().filter(|w| w.abs() >= cut).count() > max_weights {
            let mut magnitudes: Vec<f32> = dense.iter().map(|w| w.abs()).collect();
            let k = magnitudes.len() - max_weights - 1;
            magnitudes.select_nth_unstable_by(k, f32::total_cmp);
            // Strictly above the (max_weights + 1)-th largest: ties never break the budget.
            cut = cut.max(magnitudes[k]);
            strict = true;
        }
        let step = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        let mut table = SparseTable {
            columns,
            features: Vec::new(),
            index: FeatureIndex::default(),
            row_start: vec![0],
            cells: Vec::new(),
            step,
        };
        let mut origin = Vec::new();
        for (row, &feature) in vocabulary.iter().enumerate() {
            let before = table.cells.len();
            for (k, &w) in dense[row * columns..(row + 1) * columns].iter().enumerate() {
                let kept = if strict {
                    w.abs() > cut
                } else {
                    w.abs() >= cut
                };
                let q = (w / step).round();
                if kept && q != 0.0 {
                    table.cells.push((k as u16, q.clamp(-127.0, 127.0) as i8));
                }
            }
            if table.cells.len() > before {
                table.features.push(feature);
                table.row_start.push(table.cells.len() as u32);
                origin.push(row);
            }
        }
        table.index = FeatureIndex::build(&table.features);
        (table, origin)
    }

    /// Width of a dense row.
    pub(crate) fn columns(&self) -> usize {
        self.columns
    }

    /// Number of rows (features with at least one weight).
    pub(crate) fn len(&self) -> usize {
        self.features.len()
    }

    /// Number of stored weights.
    pub(crate) fn weight_count(&self) -> usize {
        self.cells.len()
    }

    /// The row of a feature, if the table has one.
    pub(crate) fn row(&self, feature: FeatureId) -> Option<usize> {
        self.index.get(&self.features, feature)
    }

    /// `out[column] += weight · scale` for every weight in `row`.
    pub(crate) fn add_row(&self, row: usize, scale: f32, out: &mut [f32]) {
        let span = self.row_start[row] as usize..self.row_start[row + 1] as usize;
        let scale = scale * self.step;
        for &(column, q) in &self.cells[span] {
            out[usize::from(column)] += f32::from(q) * scale;
        }
    }
}

/// Open-addressing hash table from feature id to row, built when a model is loaded.
#[derive(Debug, Clone, PartialEq, Default)]
struct FeatureIndex {
    /// Row + 1 per slot; 0 is an empty slot. The length is a power of two.
    slots: Vec<u32>,
}

impl FeatureIndex {
    fn build(features: &[FeatureId]) -> FeatureIndex {
        let size = (features.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![0u32; size];
        for (row, &feature) in features.iter().enumerate() {
            let mut slot = Self::home(feature, size);
            while slots[slot] != 0 {
                slot = (slot + 1) & (size - 1);
            }
            slots[slot] = row as u32 + 1;
        }
        FeatureIndex { slots }
    }

    fn home(feature: FeatureId, size: usize) -> usize {
        (feature.wrapping_mul(0x9E37_79B1) >> 8) as usize & (size - 1)
    }

    fn get(&self, features: &[FeatureId], feature: FeatureId) -> Option<usize> {
        let size = self.slots.len();
        if size == 0 {
            return None;
        }
        let mut slot = Self::home(feature, size);
        loop {
            let row = self.slots[slot].checked_sub(1)? as usize;
            if features.get(row) == Some(&feature) {
                return Some(row);
            }
            slot = (slot + 1) & (size - 1);
        }
    }
}

/// The table as stored: sorted ids as deltas, rows as lengths, columns as deltas within a row
/// and weights as 8-bit multiples of `step`.
#[derive(Serialize, Deserialize)]
struct StoredTable {
    columns: u32,
    feature_deltas: Vec<u32>,
    row_lengths: Vec<u16>,
    column_deltas: Vec<u16>,
    weights: Vec<i8>,
    step: f32,
}

impl From<SparseTable> for StoredTable {
    fn from(t: SparseTable) -> StoredTable {
        let mut previous = 0;
        let feature_deltas = t
            .features
            .iter()
            .map(|&f| {
                let d = f - previous;
                previous = f;
                d
            })
            .collect();
        let mut row_lengths = Vec::with_capacity(t.features.len());
        let mut column_deltas = Vec::with_capacity(t.cells.len());
        for row in t.row_start.windows(2) {
            row_lengths.push((row[1] - row[0]) as u16);
            let mut previous = 0;
            for &(column, _) in &t.cells[row[0] as usize..row[1] as usize] {
                column_deltas.push(column - previous);
                previous = column;
            }
        }
        let weights = t.cells.iter().map(|&(_, q)| q).collect();
        StoredTable {
            columns: t.columns as u32,
            feature_deltas,
            row_lengths,
            column_deltas,
            weights,
            step: t.step,
        }
    }
}

impl TryFrom<StoredTable> for SparseTable {
    type Error = String;

    /// Decodes and checks every invariant that lookups rely on.
    fn try_from(s: StoredTable) -> Result<SparseTable, String> {
        let columns = s.columns as usize;
        if columns == 0 || columns > usize::from(u16::MAX) || !s.step.is_finite() {
            return Err("a weight table has a bad shape".to_owned());
        }
        if s.row_lengths.len() != s.feature_deltas.len()
            || s.row_lengths.iter().map(|&l| usize::from(l)).sum::<usize>() != s.column_deltas.len()
            || s.column_deltas.len() != s.weights.len()
        {
            return Err("a weight table does not match its features".to_owned());
        }
        let mut features = Vec::with_capacity(s.feature_deltas.len());
        let mut previous: u32 = 0;
        for (i, &d) in s.feature_deltas.iter().enumerate() {
            if i > 0 && d == 0 {
                return Err("a feature table is not sorted".to_owned());
            }
            previous = previous
                .checked_add(d)
                .filter(|&f| f < 1 << FEATURE_BITS)
                .ok_or("a feature id is out of range")?;
            features.push(previous);
        }
        let mut row_start = Vec::with_capacity(features.len() + 1);
        row_start.push(0u32);
        let mut cells = Vec::with_capacity(s.column_deltas.len());
        let mut at = 0usize;
        for &length in &s.row_lengths {
            let mut column: u32 = 0;
            for (j, &d) in s.column_deltas[at..at + usize::from(length)]
                .iter()
                .enumerate()
            {
                if j > 0 && d == 0 {
                    return Err("a weight row is not sorted".to_owned());
                }
                column += u32::from(d);
                if column as usize >= columns {
                    return Err("a weight points outside its table".to_owned());
                }
                cells.push((column as u16, s.weights[at + j]));
            }
            at += usize::from(length);
            row_start.push(at as u32);
        }
        let index = FeatureIndex::build(&features);
        Ok(SparseTable {
            columns,
            features,
            index,
            row_start,
            cells,
            step: s.step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_looks_up_and_round_trips() {
        let vocabulary = [3, 9, 40];
        let dense = [0.0, 1.0, -2.0, 0.0, 0.0, 0.0, 0.5, 0.001, 2.0];
        let (table, origin) = SparseTable::compress(3, &vocabulary, &dense, 100, 0.01);
        assert_eq!(table.len(), 2, "the all-zero row is dropped");
        assert_eq!(origin, [0, 2]);
        assert_eq!(table.weight_count(), 4, "0.001 is below 1% of the largest");
        let mut out = [0.0; 3];
        table.add_row(table.row(40).unwrap(), 2.0, &mut out);
        assert!((out[0] - 1.0).abs() < 0.02 && out[1] == 0.0 && (out[2] - 4.0).abs() < 0.02);
        assert_eq!(table.row(9), None);
        let back: SparseTable =
            postcard::from_bytes(&postcard::to_allocvec(&table).unwrap()).unwrap();
        assert_eq!(back, table);
        let (small, _) = SparseTable::compress(3, &vocabulary, &dense, 2, 0.0);
        assert_eq!(small.weight_count(), 2);
    }
}
