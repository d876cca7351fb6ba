//! A sparse weight table: for each known feature, a short row of (column, weight) pairs. The
//! intent classifier and the slot tagger both store their weights in it. Training produces a
//! dense table; [`SparseTable::compress`] prunes and quantizes it to 8 bits. Stored
//! delta-encoded and columnar, so that gzip finds the patterns; in memory, rows with many
//! weights are kept dense, which is faster to add.

use crate::features::{FEATURE_BITS, FeatureId};
use crate::postcard_reader::{Decode, Fault, Reader, decode_fields};
use serde::Serialize;

/// `Default` is a table with no rows, which finds nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(into = "StoredTable")]
pub(crate) struct SparseTable {
    /// Width of a dense row (number of classes or tags).
    columns: usize,
    /// Sorted feature ids; row `i` belongs to `features[i]`.
    features: Vec<FeatureId>,
    /// Where row `i`'s weights are.
    spans: Vec<Span>,
    /// The rows by feature id, each slot with its row's span: a lookup then touches one slot
    /// and the weights, nothing else (prediction is dominated by these reads, and in a server
    /// they mostly miss the cache).
    index: FeatureIndex,
    /// `(column, weight in steps)`: kept together and 8-bit, so that a lookup touches few
    /// cache lines.
    cells: Vec<(u16, i8)>,
    /// The weights of dense rows, one per column, each row zero-padded to the stride. Rows with
    /// a quarter of their columns filled take no more memory that way, and are added a vector
    /// at a time instead of a cell at a time (the rows of common features — word beginnings,
    /// "what", "is" — are the dense ones, and every utterance has them).
    dense: Vec<i8>,
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
        let mut features = Vec::new();
        let mut rows = Rows::default();
        let mut origin = Vec::new();
        for (row, &feature) in vocabulary.iter().enumerate() {
            let before = rows.cells.len();
            for (k, &w) in dense[row * columns..(row + 1) * columns].iter().enumerate() {
                let kept = if strict {
                    w.abs() > cut
                } else {
                    w.abs() >= cut
                };
                let q = (w / step).round();
                if kept && q != 0.0 {
                    rows.cells.push((k as u16, q.clamp(-127.0, 127.0) as i8));
                }
            }
            if rows.cells.len() > before {
                features.push(feature);
                rows.row_start.push(rows.cells.len() as u32);
                origin.push(row);
            }
        }
        (SparseTable::new(columns, features, rows, step), origin)
    }

    /// The table of `rows`, the rows that fill a quarter of their columns or more made dense.
    fn new(columns: usize, features: Vec<FeatureId>, rows: Rows, step: f32) -> SparseTable {
        let mut table = SparseTable {
            columns,
            features,
            spans: Vec::new(),
            index: FeatureIndex::default(),
            cells: Vec::new(),
            dense: Vec::new(),
            step,
        };
        for span in rows.row_start.windows(2) {
            let row = &rows.cells[span[0] as usize..span[1] as usize];
            let span = if row.len() * 4 >= columns {
                let at = table.dense.len();
                table.dense.resize(at + table.stride(), 0);
                for &(column, q) in row {
                    table.dense[at + usize::from(column)] = q;
                }
                Span::dense(at)
            } else {
                let at = table.cells.len();
                table.cells.extend_from_slice(row);
                Span::sparse(at, row.len())
            };
            table.spans.push(span);
        }
        table.index = FeatureIndex::build(&table.features, &table.spans);
        table
    }

    /// Row `row`'s cells, `(column, weight in steps)` in column order, whether sparse or dense.
    fn row_cells(&self, row: usize) -> impl Iterator<Item = (u16, i8)> + '_ {
        let span = self.spans[row];
        let sparse = self.sparse_cells(span);
        let dense = self.dense_weights(span).unwrap_or_default();
        sparse
            .iter()
            .copied()
            .chain((0u16..).zip(dense.iter().copied()).filter(|&(_, q)| q != 0))
    }

    /// A sparse row's cells (none for a dense row).
    fn sparse_cells(&self, span: Span) -> &[(u16, i8)] {
        if span.is_dense() {
            return &[];
        }
        let start = span.start as usize;
        &self.cells[start..start + span.len as usize]
    }

    /// A dense row's weights, one per column and then zeros to the [`SparseTable::stride`].
    fn dense_weights(&self, span: Span) -> Option<&[i8]> {
        let start = span.start as usize;
        span.is_dense()
            .then(|| &self.dense[start..start + self.stride()])
    }

    /// The length of a dense row: the columns, padded.
    fn stride(&self) -> usize {
        let wide = self.columns.next_multiple_of(DENSE_ALIGN_WIDE);
        if wide * 8 <= self.columns * 9 {
            wide
        } else {
            self.columns.next_multiple_of(DENSE_ALIGN)
        }
    }

    /// `start` (one value per column) followed by zeros up to the padded length of a dense row:
    /// rows add to such a buffer in whole vectors. The values past the columns mean nothing.
    pub(crate) fn padded(&self, start: &[f32]) -> Vec<f32> {
        let mut buffer = Vec::with_capacity(self.stride());
        buffer.extend_from_slice(start);
        buffer.resize(self.stride().max(start.len()), 0.0);
        buffer
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
        self.cells.len() + self.dense.iter().filter(|&&q| q != 0).count()
    }

    /// The row of a feature, if the table has one.
    pub(crate) fn row(&self, feature: FeatureId) -> Option<Row> {
        self.index.get(feature)
    }

    /// `out[column] += weight · scale` for every weight in `row`. A dense row adds its zeros
    /// too, which changes no sum: the result is the same for either form of a row.
    pub(crate) fn add_row(&self, row: Row, scale: f32, out: &mut [f32]) {
        let scale = scale * self.step;
        if let Some(weights) = self.dense_weights(row.span) {
            add_scaled(out, weights, scale);
            return;
        }
        for &(column, q) in self.sparse_cells(row.span) {
            out[usize::from(column)] += f32::from(q) * scale;
        }
    }
}

/// `out[k] += weights[k] · scale`, the loop prediction spends most of its time in. x86-64's
/// baseline (SSE2) widens i8 to f32 in five instructions per four lanes; AVX2 does eight lanes
/// in two (see `simd.rs`).
fn add_scaled(out: &mut [f32], weights: &[i8], scale: f32) {
    crate::simd::with_avx2(|| add_scaled_lanes(out, weights, scale));
}

#[inline(always)]
fn add_scaled_lanes(out: &mut [f32], weights: &[i8], scale: f32) {
    for (o, &q) in out.iter_mut().zip(weights) {
        *o += f32::from(q) * scale;
    }
}

/// Sparse rows as built: `cells[row_start[i]..row_start[i + 1]]` is row `i`.
struct Rows {
    row_start: Vec<u32>,
    cells: Vec<(u16, i8)>,
}

impl Default for Rows {
    fn default() -> Rows {
        Rows {
            row_start: vec![0],
            cells: Vec::new(),
        }
    }
}

/// Dense rows are padded to a multiple of this many columns, so that adding one is whole
/// vectors with no odd end. Where it costs at most an eighth more memory, they are padded to a
/// multiple of [`DENSE_ALIGN_WIDE`] instead, the step of the compiled AVX2 loop: 151 intents
/// padded to 160 rather than 152 took ~20% fewer instructions to add.
const DENSE_ALIGN: usize = 8;
const DENSE_ALIGN_WIDE: usize = 32;

/// A row of a [`SparseTable`], as [`SparseTable::row`] finds it: its number (for the caller's
/// own per-row data) and where its weights are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) index: usize,
    span: Span,
}

/// Where a row's weights are: `len` cells from `cells[start]`, or, with [`Span::DENSE`] set in
/// `len`, a stride of weights from `dense[start]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const DENSE: u32 = 1 << 31;

    fn sparse(start: usize, len: usize) -> Span {
        Span {
            start: start as u32,
            len: len as u32,
        }
    }

    fn dense(start: usize) -> Span {
        Span {
            start: start as u32,
            len: Span::DENSE,
        }
    }

    fn is_dense(self) -> bool {
        self.len & Span::DENSE != 0
    }
}

/// Open-addressing hash table from feature id to row, built when a model is loaded.
#[derive(Debug, Clone, PartialEq, Default)]
struct FeatureIndex {
    /// The length is a power of two; a slot with [`Slot::EMPTY`] as its feature is empty.
    slots: Vec<Slot>,
}

/// One slot of the index: 16 bytes, four to a cache line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Slot {
    feature: FeatureId,
    row: u32,
    span: Span,
}

impl Slot {
    /// No feature id has all bits set (ids have [`FEATURE_BITS`] bits).
    const EMPTY: FeatureId = FeatureId::MAX;
}

impl FeatureIndex {
    fn build(features: &[FeatureId], spans: &[Span]) -> FeatureIndex {
        let size = (features.len() * 2).next_power_of_two().max(2);
        let empty = Slot {
            feature: Slot::EMPTY,
            row: 0,
            span: Span::default(),
        };
        let mut slots = vec![empty; size];
        for (row, (&feature, &span)) in features.iter().zip(spans).enumerate() {
            let mut slot = Self::home(feature, size);
            while slots[slot].feature != Slot::EMPTY {
                slot = (slot + 1) & (size - 1);
            }
            slots[slot] = Slot {
                feature,
                row: row as u32,
                span,
            };
        }
        FeatureIndex { slots }
    }

    fn home(feature: FeatureId, size: usize) -> usize {
        (feature.wrapping_mul(0x9E37_79B1) >> 8) as usize & (size - 1)
    }

    fn get(&self, feature: FeatureId) -> Option<Row> {
        let size = self.slots.len();
        if size == 0 || feature == Slot::EMPTY {
            return None;
        }
        let mut slot = Self::home(feature, size);
        loop {
            let found = self.slots[slot];
            if found.feature == feature {
                return Some(Row {
                    index: found.row as usize,
                    span: found.span,
                });
            }
            if found.feature == Slot::EMPTY {
                return None;
            }
            slot = (slot + 1) & (size - 1);
        }
    }
}

/// The table as stored: sorted ids as deltas, rows as lengths, columns as deltas within a row
/// and weights as 8-bit multiples of `step`.
#[derive(Serialize)]
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
        let mut weights = Vec::with_capacity(t.cells.len());
        for row in 0..t.features.len() {
            let before = weights.len();
            let mut previous = 0;
            for (column, q) in t.row_cells(row) {
                column_deltas.push(column - previous);
                weights.push(q);
                previous = column;
            }
            row_lengths.push((weights.len() - before) as u16);
        }
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

decode_fields!(StoredTable {
    columns,
    feature_deltas,
    row_lengths,
    column_deltas,
    weights,
    step,
});

impl Decode for SparseTable {
    fn decode(r: &mut Reader<'_>) -> SparseTable {
        SparseTable::try_from(r.read::<StoredTable>()).unwrap_or_else(|reason| {
            r.fail(Fault::Table(reason));
            SparseTable::default()
        })
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
        let mut rows = Rows::default();
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
                rows.cells.push((column as u16, s.weights[at + j]));
            }
            at += usize::from(length);
            rows.row_start.push(at as u32);
        }
        Ok(SparseTable::new(columns, features, rows, s.step))
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
        assert_eq!(crate::postcard_reader::round_trip(&table), table);
        let (small, _) = SparseTable::compress(3, &vocabulary, &dense, 2, 0.0);
        assert_eq!(small.weight_count(), 2);
    }

    #[test]
    fn the_dispatched_loop_adds_bit_for_bit_as_the_portable_one() {
        // Lengths around the vector widths, weights over the whole i8 range, awkward scales.
        for len in [0, 1, 7, 8, 9, 31, 32, 33, 152, 157] {
            for scale in [0.1f32, -3.7e-3, 1.0e30, f32::MIN_POSITIVE] {
                let weights: Vec<i8> = (0..len).map(|k| (k * 37 % 256) as u8 as i8).collect();
                let start: Vec<f32> = (0..len).map(|k| (k as f32 - 70.0) / 9.0).collect();
                let (mut fast, mut portable) = (start.clone(), start.clone());
                add_scaled(&mut fast, &weights, scale);
                add_scaled_lanes(&mut portable, &weights, scale);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&portable), "{len} columns, scale {scale}");
                if len > 1 && scale.abs() > 1e-3 {
                    assert_ne!(fast, start, "the row was added");
                }
            }
        }
    }

    #[test]
    fn the_index_finds_every_row_and_nothing_else() {
        // Ids spread like hashes, and runs of neighbours (long probe chains in the index).
        let mut vocabulary: Vec<FeatureId> = (0..3000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % (1 << FEATURE_BITS))
            .chain(1000..1300)
            .collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let columns = 3;
        let dense: Vec<f32> = (0..vocabulary.len() * columns)
            .map(|k| {
                if k % 5 == 0 {
                    0.0
                } else {
                    (k % 7) as f32 - 3.0
                }
            })
            .collect();
        let (table, origin) = SparseTable::compress(columns, &vocabulary, &dense, 1 << 20, 0.0);
        let mut found = 0;
        for (row, &vocabulary_row) in origin.iter().enumerate() {
            let feature = vocabulary[vocabulary_row];
            let at = table.row(feature).unwrap();
            assert_eq!(at.index, row, "feature {feature}");
            let mut out = table.padded(&[0.0; 3]);
            table.add_row(at, 1.0, &mut out);
            let expected = &dense[vocabulary_row * columns..][..columns];
            for (got, want) in out.iter().zip(expected) {
                assert!((got - want).abs() <= table.step / 2.0, "feature {feature}");
            }
            found += 1;
        }
        assert!(found > 2500);
        for absent in [1, 999, 1300, (1 << FEATURE_BITS) - 1, FeatureId::MAX] {
            if !vocabulary.contains(&absent) {
                assert_eq!(table.row(absent), None, "{absent}");
            }
        }
    }

    #[test]
    fn dense_rows_are_padded_to_the_wide_step_only_where_it_costs_little() {
        for (columns, stride) in [
            (7, 8),
            (14, 16),
            (37, 40),
            (100, 104),
            (151, 160),
            (250, 256),
        ] {
            let table = SparseTable::new(columns, Vec::new(), Rows::default(), 1.0);
            assert_eq!(table.stride(), stride, "{columns} columns");
        }
    }

    #[test]
    fn sparse_and_dense_rows_add_and_store_alike() {
        // 37 columns: a row with 3 weights stays sparse, one with 20 is made dense.
        let columns = 37;
        let mut weights = vec![0.0f32; 2 * columns];
        for (k, w) in [(2, 1.0), (17, -0.5), (36, 0.25)] {
            weights[k] = w;
        }
        for k in 0..20 {
            weights[columns + k * 3 % columns] = (k as f32 - 9.5) / 10.0;
        }
        let (table, _) = SparseTable::compress(columns, &[5, 8], &weights, 100, 0.0);
        assert_eq!(table.cells.len(), 3, "the short row is sparse");
        assert_eq!(table.dense.len(), table.stride(), "the long row is dense");
        assert_eq!(table.weight_count(), 23);
        for (row, feature) in [(0, 5), (1, 8)] {
            let mut sum = table.padded(&[0.5; 37]);
            assert_eq!(sum.len(), 40);
            let found = table.row(feature).unwrap();
            assert_eq!(found.index, row);
            table.add_row(found, 2.0, &mut sum);
            for (k, &got) in sum[..columns].iter().enumerate() {
                let expected = 0.5 + 2.0 * weights[row * columns + k];
                assert!((got - expected).abs() < 0.02, "row {row} column {k}: {got}");
            }
        }
        let back = crate::postcard_reader::round_trip(&table);
        assert_eq!(back, table);
        // Cells come back in column order, as they were stored before dense rows existed.
        let cells: Vec<u16> = back.row_cells(1).map(|(column, _)| column).collect();
        assert!(cells.windows(2).all(|w| w[0] < w[1]) && cells.len() == 20);
    }
}
