//! Reading [`PackedAttrs`], the answer of [`Stanza::child_attrs`](crate::Stanza::child_attrs):
//! the attributes of a child element and of some of its own children, in
//! one string with end offsets, so they cross the boundary in three copies
//! instead of one allocation per name and value.
//!
//! The readers never panic on offsets that do not fit the text (a host bug):
//! such a string reads as empty, and a count beyond the offsets reads as
//! fewer attributes.

use crate::types::PackedAttrs;

/// One element's attributes in a [`PackedAttrs`], in document order.
#[derive(Debug, Clone, Copy)]
pub struct PackedElement<'a> {
    text: &'a str,
    /// The end offsets of this element's strings (name, value, name, …).
    ends: &'a [u32],
    /// Where its first string starts.
    start: usize,
}

impl<'a> PackedElement<'a> {
    /// The `(name, value)` pairs, names as written, values unescaped.
    pub fn attrs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (text, ends) = (self.text, self.ends);
        let mut at = self.start;
        ends.chunks_exact(2).map(move |pair| {
            let name = slice(text, at, pair[0]);
            let value = slice(text, pair[0] as usize, pair[1]);
            at = pair[1] as usize;
            (name, value)
        })
    }

    /// The value of attribute `name` (the first if repeated).
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.attrs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// How many attributes the element has.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether the element has no attributes.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

fn slice(text: &str, from: usize, to: u32) -> &str {
    text.get(from..to as usize).unwrap_or_default()
}

impl PackedAttrs {
    /// Each element in turn: the child itself first, then the selected
    /// grandchildren in document order.
    pub fn elements(&self) -> impl Iterator<Item = PackedElement<'_>> + '_ {
        let mut k = 0usize;
        self.counts.iter().map(move |&count| {
            let from = k.min(self.ends.len());
            let to = k.saturating_add(2 * count as usize).min(self.ends.len());
            let start = if from == 0 { 0 } else { self.ends[from - 1] as usize };
            k = to;
            PackedElement { text: &self.text, ends: &self.ends[from..to], start }
        })
    }

    /// The child itself (the first element).
    pub fn parent(&self) -> Option<PackedElement<'_>> {
        self.elements().next()
    }

    /// The selected grandchildren, in document order.
    pub fn children(&self) -> impl Iterator<Item = PackedElement<'_>> + '_ {
        self.elements().skip(1)
    }

    /// Packs `elements` (each a list of attributes) as the host does: for
    /// mock hosts and tests.
    pub fn pack<'s, E, A>(elements: E) -> PackedAttrs
    where
        E: IntoIterator<Item = A>,
        A: IntoIterator<Item = (&'s str, &'s str)>,
    {
        let mut packed = PackedAttrs { text: String::new(), ends: Vec::new(), counts: Vec::new() };
        for attrs in elements {
            let mut count = 0u32;
            for (name, value) in attrs {
                for s in [name, value] {
                    packed.text.push_str(s);
                    packed.ends.push(u32::try_from(packed.text.len()).unwrap_or(u32::MAX));
                }
                count += 1;
            }
            packed.counts.push(count);
        }
        packed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_elements_with_and_without_attributes() {
        let p = PackedAttrs::pack([
            vec![("per-hop", "true")],
            vec![],
            vec![("condition", "deliver"), ("value", ""), ("action", "dröp")],
        ]);
        let got: Vec<Vec<(&str, &str)>> = p.elements().map(|e| e.attrs().collect()).collect();
        assert_eq!(
            got,
            [vec![("per-hop", "true")], vec![], vec![("condition", "deliver"), ("value", ""), ("action", "dröp")]]
        );
        assert_eq!(p.parent().and_then(|e| e.attr("per-hop")), Some("true"));
        assert_eq!(p.children().count(), 2);
        assert!(p.children().next().is_some_and(|e| e.is_empty()));
        assert_eq!(p.children().nth(1).map(|e| e.len()), Some(3));
    }

    #[test]
    fn bad_offsets_read_as_empty_strings_or_fewer_attributes() {
        let p = PackedAttrs { text: "abc".into(), ends: vec![2, 99, 1], counts: vec![1, 5] };
        let got: Vec<Vec<(&str, &str)>> = p.elements().map(|e| e.attrs().collect()).collect();
        assert_eq!(got, [vec![("ab", "")], vec![]]);
        let empty = PackedAttrs { text: String::new(), ends: vec![], counts: vec![] };
        assert!(empty.parent().is_none());
    }
}
