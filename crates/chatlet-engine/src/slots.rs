//! A conversation's filled slots: slot names to values, in name order.

use serde::Serialize;

/// Slot names to values, sorted by name, each name once.
///
/// A sorted list and not a `BTreeMap`: a conversation holds a handful of slots, and the map's
/// code would add about 9 KB (raw) to every widget download. Its serialized form (postcard) is
/// byte for byte that of a `BTreeMap<String, String>`, so conversations saved before still load.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Slots(Vec<(String, String)>);

impl crate::postcard_reader::Decode for Slots {
    fn decode(reader: &mut crate::postcard_reader::Reader<'_>) -> Slots {
        Slots::from(reader.read::<Vec<(String, String)>>())
    }
}

impl Slots {
    /// No slots.
    pub fn new() -> Slots {
        Slots::default()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// The value of slot `name`, if it is filled.
    pub fn get(&self, name: &str) -> Option<&str> {
        let at = self.find(name).ok()?;
        Some(&self.0[at].1)
    }

    /// True when slot `name` is filled.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Fills slot `name`, replacing its value.
    pub fn insert(&mut self, name: String, value: String) {
        match self.find(&name) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (name, value)),
        }
    }

    /// Empties slot `name`.
    pub fn remove(&mut self, name: &str) {
        if let Ok(at) = self.find(name) {
            self.0.remove(at);
        }
    }

    /// Keeps the slots for which `keep(name, value)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(name, value)| keep(name, value));
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of filled slots.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no slot is filled.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<(String, String)> for Slots {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, pairs: I) {
        for (name, value) in pairs {
            self.insert(name, value);
        }
    }
}

impl FromIterator<(String, String)> for Slots {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Slots {
        let mut slots = Slots::new();
        slots.extend(pairs);
        slots
    }
}

/// Any list of pairs, as read from a saved conversation: sorted, and the last value of a name
/// repeated wins.
impl From<Vec<(String, String)>> for Slots {
    fn from(pairs: Vec<(String, String)>) -> Slots {
        pairs.into_iter().collect()
    }
}

impl IntoIterator for Slots {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn behaves_as_a_map_in_name_order() {
        let mut slots: Slots = pairs(&[("size", "大号"), ("city", "北京"), ("size", "小号")])
            .into_iter()
            .collect();
        assert_eq!(slots.get("size"), Some("小号"));
        assert_eq!(slots.len(), 2);
        slots.insert("area".into(), "海淀".into());
        slots.remove("city");
        slots.remove("never");
        assert!(!slots.contains("city") && slots.contains("area"));
        let names: Vec<&str> = slots.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["area", "size"]);
        slots.retain(|name, _| name == "size");
        assert_eq!(
            slots.into_iter().collect::<Vec<_>>(),
            pairs(&[("size", "小号")])
        );
    }

    #[test]
    fn serialized_exactly_as_a_map_was() {
        let list = pairs(&[("city", "北京"), ("order", "A123"), ("area", "海淀")]);
        let map: BTreeMap<String, String> = list.iter().cloned().collect();
        let slots: Slots = list.into_iter().collect();
        let bytes = postcard::to_allocvec(&map).unwrap();
        assert_eq!(postcard::to_allocvec(&slots).unwrap(), bytes);
        let read = |bytes: &[u8]| {
            let mut reader = crate::postcard_reader::Reader::new(bytes);
            let slots: Slots = reader.read();
            reader.finish().map(|()| slots)
        };
        assert_eq!(read(&bytes), Ok(slots));
        // Unsorted, repeated names (no map ever wrote them) still make a well-formed value.
        let odd = postcard::to_allocvec(&pairs(&[("b", "1"), ("a", "2"), ("b", "3")])).unwrap();
        let read = read(&odd).unwrap();
        assert_eq!(read.iter().collect::<Vec<_>>(), [("a", "2"), ("b", "3")]);
    }
}
