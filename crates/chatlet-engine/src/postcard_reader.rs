//! Reads a model file's body, which `Model::to_bytes` writes with serde and postcard, by hand.
//! serde's generated decoding of the model's types (visitors, length checks and their messages,
//! all inlined) was ~19 KB of the widget's wasm; these plain reads are a fraction of that. A
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
}

impl From<String> for Fault {
    fn from(reason: String) -> Fault {
        Fault::Table(reason)
    }
}

/// A cursor over the body.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// True when every byte has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Fault> {
        let (taken, rest) = self.bytes.split_at_checked(n).ok_or(Fault::EndsEarly)?;
        self.bytes = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, Fault> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, Fault> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Fault::Malformed)
    }

    /// A sequence's length, capped by the bytes left: every element takes at least one, so a
    /// damaged length cannot make a reader reserve more than the file holds.
    fn length(&mut self) -> Result<usize, Fault> {
        let n = usize::try_from(self.varint()?).map_err(|_| Fault::Malformed)?;
        if n > self.bytes.len() {
            return Err(Fault::EndsEarly);
        }
        Ok(n)
    }

    /// An enum's variant index.
    pub(crate) fn variant(&mut self) -> Result<u32, Fault> {
        Decode::decode(self)
    }

    /// Decodes a value of any type that can be decoded.
    pub(crate) fn read<T: Decode>(&mut self) -> Result<T, Fault> {
        T::decode(self)
    }
}

/// A type read from a model file, in the order and encoding serde and postcard write it.
pub(crate) trait Decode: Sized {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, Fault>;
}

impl Decode for u8 {
    fn decode(reader: &mut Reader<'_>) -> Result<u8, Fault> {
        reader.byte()
    }
}

impl Decode for i8 {
    fn decode(reader: &mut Reader<'_>) -> Result<i8, Fault> {
        Ok(reader.byte()? as i8)
    }
}

impl Decode for u16 {
    fn decode(reader: &mut Reader<'_>) -> Result<u16, Fault> {
        u16::try_from(reader.varint()?).map_err(|_| Fault::Malformed)
    }
}

impl Decode for u32 {
    fn decode(reader: &mut Reader<'_>) -> Result<u32, Fault> {
        u32::try_from(reader.varint()?).map_err(|_| Fault::Malformed)
    }
}

impl Decode for f32 {
    fn decode(reader: &mut Reader<'_>) -> Result<f32, Fault> {
        let b = reader.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl Decode for bool {
    fn decode(reader: &mut Reader<'_>) -> Result<bool, Fault> {
        match reader.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Fault::Malformed),
        }
    }
}

impl Decode for String {
    fn decode(reader: &mut Reader<'_>) -> Result<String, Fault> {
        let n = reader.length()?;
        let bytes = reader.take(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Fault::Malformed)
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(reader: &mut Reader<'_>) -> Result<Option<T>, Fault> {
        Ok(match reader.read()? {
            false => None,
            true => Some(reader.read()?),
        })
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(reader: &mut Reader<'_>) -> Result<Vec<T>, Fault> {
        let n = reader.length()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(reader.read()?);
        }
        Ok(items)
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(reader: &mut Reader<'_>) -> Result<(A, B), Fault> {
        Ok((reader.read()?, reader.read()?))
    }
}

/// Implements [`Decode`] for a struct read field by field, in the order the fields are listed,
/// which must be the order they are declared in (serde writes them so).
macro_rules! decode_fields {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::postcard_reader::Decode for $name {
            fn decode(
                r: &mut $crate::postcard_reader::Reader<'_>,
            ) -> Result<$name, $crate::postcard_reader::Fault> {
                Ok($name { $($field: r.read()?),* })
            }
        }
    };
}
pub(crate) use decode_fields;

/// Writes `value` as a model file does and reads it back by hand; the whole encoding must be read.
#[cfg(test)]
pub(crate) fn round_trip<T: serde::Serialize + Decode>(value: &T) -> T {
    let bytes = postcard::to_allocvec(value).unwrap();
    let mut reader = Reader::new(&bytes);
    let back = reader.read().unwrap();
    assert!(reader.is_done(), "bytes left over");
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
        let read = |bytes: &[u8]| Reader::new(bytes).read::<Vec<String>>();
        // A length beyond the bytes left, and one that runs out inside a string.
        assert_eq!(read(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Err(Fault::EndsEarly));
        assert_eq!(read(&[1, 3, b'a']), Err(Fault::EndsEarly));
        assert_eq!(read(&[1, 1, 0xff]), Err(Fault::Malformed));
        // A varint longer than any number, a u16 out of range, a bool that is neither.
        assert_eq!(
            Reader::new(&[0x80; 11]).read::<u32>(),
            Err(Fault::Malformed)
        );
        assert_eq!(
            Reader::new(&[0x80, 0x80, 0x04]).read::<u16>(),
            Err(Fault::Malformed)
        );
        assert_eq!(Reader::new(&[2]).read::<bool>(), Err(Fault::Malformed));
        assert_eq!(Reader::new(&[]).read::<f32>(), Err(Fault::EndsEarly));
    }
}
