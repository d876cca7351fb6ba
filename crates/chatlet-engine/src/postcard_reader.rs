//! Reads a model file's body, which `Model::to_bytes` writes with serde and postcard, by hand
//! (and a conversation's saved state, which `Conversation::to_bytes` writes so).
//! serde's generated decoding of the model's types (visitors, length checks and their messages,
//! all inlined) was ~19 KB of the widget's wasm; these plain reads are about half of that. A
//! test decodes trained models and checks that they encode back to the very same bytes.
//!
//! postcard's format: integers wider than a byte are LEB128 varints, `f32` four bytes little
//! endian, `bool` and `Option` one byte (0 or 1), sequences and strings a varint length first,
//! an enum its variant's index as a varint, structs and tuples their fields in order.

/// Why a body does not decode.
#[derive(Debug, PartialEq)]
pub(crate) enum Fault {
    /// The bytes ran out.
    EndsEarly,
    /// A value the format cannot hold (a bad tag, a number out of range, text that is not UTF-8).
    Malformed,
    /// The values decode but do not fit together; the reason says how.
    Table(String),
    /// Bytes are left after the last value.
    LeftOver,
}

/// A cursor over the body that remembers its first fault. After a fault every read gives a
/// zero, an empty text or an empty list, and the caller asks [`Reader::finish`] at the end:
/// reads that cannot fail leave the decoding of each type without error paths, and those paths
/// (dropping whatever had been read so far) were most of the code serde's decoding brought.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    fault: Option<Fault>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, fault: None }
    }

    /// Records a fault (the first one counts) and stops reading.
    pub(crate) fn fail(&mut self, fault: Fault) {
        self.fault.get_or_insert(fault);
        self.bytes = &[];
    }

    /// The first fault, if any, or bytes left over.
    pub(crate) fn finish(self) -> Result<(), Fault> {
        match self.fault {
            Some(fault) => Err(fault),
            None if !self.bytes.is_empty() => Err(Fault::LeftOver),
            None => Ok(()),
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        match self.bytes.split_at_checked(n) {
            Some((taken, rest)) => {
                self.bytes = rest;
                taken
            }
            None => {
                self.fail(Fault::EndsEarly);
                &[]
            }
        }
    }

    fn byte(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte();
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
        }
        self.fail(Fault::Malformed);
        0
    }

    /// A varint that must fit in `T`.
    fn number<T: TryFrom<u64> + Default>(&mut self) -> T {
        let wide = self.varint();
        T::try_from(wide).unwrap_or_else(|_| {
            self.fail(Fault::Malformed);
            T::default()
        })
    }

    /// A sequence's length, capped by the bytes left: every element takes at least one, so a
    /// damaged length cannot make a reader reserve more than the file holds.
    fn length(&mut self) -> usize {
        let n: usize = self.number();
        if n > self.bytes.len() {
            self.fail(Fault::EndsEarly);
            return 0;
        }
        n
    }

    /// An enum's variant index.
    pub(crate) fn variant(&mut self) -> u32 {
        self.number()
    }

    /// Decodes a value of any type that can be decoded.
    pub(crate) fn read<T: Decode>(&mut self) -> T {
        T::decode(self)
    }
}

/// A type read from a model file, in the order and encoding serde and postcard write it. On a
/// fault it records it in the reader and gives any value: the caller discards it.
pub(crate) trait Decode {
    fn decode(reader: &mut Reader<'_>) -> Self;
}

impl Decode for u8 {
    fn decode(reader: &mut Reader<'_>) -> u8 {
        reader.byte()
    }
}

impl Decode for i8 {
    fn decode(reader: &mut Reader<'_>) -> i8 {
        reader.byte() as i8
    }
}

impl Decode for u16 {
    fn decode(reader: &mut Reader<'_>) -> u16 {
        reader.number()
    }
}

impl Decode for u32 {
    fn decode(reader: &mut Reader<'_>) -> u32 {
        reader.number()
    }
}

impl Decode for u64 {
    fn decode(reader: &mut Reader<'_>) -> u64 {
        reader.number()
    }
}

impl Decode for usize {
    fn decode(reader: &mut Reader<'_>) -> usize {
        reader.number()
    }
}

impl Decode for i64 {
    fn decode(reader: &mut Reader<'_>) -> i64 {
        // Zigzag: 0, -1, 1, -2 … are written as 0, 1, 2, 3 …
        let n = reader.varint();
        (n >> 1) as i64 ^ -((n & 1) as i64)
    }
}

impl Decode for f32 {
    fn decode(reader: &mut Reader<'_>) -> f32 {
        match *reader.take(4) {
            [a, b, c, d] => f32::from_le_bytes([a, b, c, d]),
            _ => 0.0,
        }
    }
}

impl Decode for bool {
    fn decode(reader: &mut Reader<'_>) -> bool {
        match reader.byte() {
            0 => false,
            1 => true,
            _ => {
                reader.fail(Fault::Malformed);
                false
            }
        }
    }
}

impl Decode for String {
    fn decode(reader: &mut Reader<'_>) -> String {
        let n = reader.length();
        match std::str::from_utf8(reader.take(n)) {
            Ok(text) => text.to_owned(),
            Err(_) => {
                reader.fail(Fault::Malformed);
                String::new()
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(reader: &mut Reader<'_>) -> Option<T> {
        reader.read::<bool>().then(|| reader.read())
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(reader: &mut Reader<'_>) -> Vec<T> {
        let n = reader.length();
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(reader.read());
        }
        items
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(reader: &mut Reader<'_>) -> (A, B) {
        (reader.read(), reader.read())
    }
}

/// Implements [`Decode`] for a struct read field by field, in the order the fields are listed,
/// which must be the order they are declared in (serde writes them so).
macro_rules! decode_fields {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::postcard_reader::Decode for $name {
            fn decode(r: &mut $crate::postcard_reader::Reader<'_>) -> $name {
                $name { $($field: r.read()),* }
            }
        }
    };
}
pub(crate) use decode_fields;

#[cfg(test)]
pub(crate) fn round_trip<T: serde::Serialize + Decode>(value: &T) -> T {
    let bytes = postcard::to_allocvec(value).unwrap();
    let mut reader = Reader::new(&bytes);
    let back = reader.read();
    assert_eq!(reader.finish(), Ok(()));
    back
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn both_ways<T: Serialize + Decode + PartialEq + std::fmt::Debug>(value: T) {
        assert_eq!(round_trip(&value), value);
    }

    #[test]
    fn reads_what_postcard_writes() {
        for n in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            both_ways(n);
        }
        for n in [0u16, 127, 128, u16::MAX] {
            both_ways(n);
        }
        both_ways(-128i8);
        both_ways(255u8);
        both_ways(-0.0f32);
        both_ways(f32::MAX);
        both_ways(true);
        both_ways(String::new());
        both_ways("北京 ok".to_owned());
        both_ways(Some(vec![(3u32, 9u16), (u32::MAX, 0)]));
        both_ways(None::<String>);
        both_ways(vec![vec!["a".to_owned()], vec![]]);
    }

    #[test]
    fn damaged_bytes_are_refused_not_trusted() {
        fn fault<T: Decode>(bytes: &[u8]) -> Result<(), Fault> {
            let mut reader = Reader::new(bytes);
            reader.read::<T>();
            reader.finish()
        }
        // A length beyond the bytes left, and one that runs out inside a string.
        assert_eq!(
            fault::<Vec<String>>(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Err(Fault::EndsEarly)
        );
        assert_eq!(fault::<Vec<String>>(&[1, 3, b'a']), Err(Fault::EndsEarly));
        assert_eq!(fault::<Vec<String>>(&[1, 1, 0xff]), Err(Fault::Malformed));
        // A varint longer than any number, a u16 out of range, a bool that is neither.
        assert_eq!(fault::<u32>(&[0x80; 11]), Err(Fault::Malformed));
        assert_eq!(fault::<u16>(&[0x80, 0x80, 0x04]), Err(Fault::Malformed));
        assert_eq!(fault::<bool>(&[2]), Err(Fault::Malformed));
        assert_eq!(fault::<f32>(&[]), Err(Fault::EndsEarly));
        // The first fault is the one reported; and a value's end must be the body's.
        assert_eq!(
            fault::<(u16, f32)>(&[0x80, 0x80, 0x04]),
            Err(Fault::Malformed)
        );
        assert_eq!(fault::<u8>(&[1, 2]), Err(Fault::LeftOver));
    }
}
