//! `extFields`: the string map that carries a command's custom header.
//!
//! Java keeps these in a `HashMap<String, String>`. We keep them in a `BTreeMap` because:
//! lookups by name are O(log n) on maps of 5–20 entries (as cheap as hashing in practice, and no
//! hasher state); iteration is sorted, so encoding is deterministic and the JSON form comes out in
//! the same alphabetical order fastjson writes; ACL signing (§11) needs the fields sorted by key
//! anyway; and a duplicate key keeps the last value, as Java's `HashMap.put` does. An ordered
//! `Vec` would preserve a binary header's entry order, but Java writes that order from a
//! `HashMap`, so it carries no meaning worth preserving.

use std::collections::btree_map;
use std::collections::BTreeMap;

/// A command's `extFields`, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields(BTreeMap<String, String>);

impl ExtFields {
    pub fn new() -> ExtFields {
        ExtFields(BTreeMap::new())
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Sets `name` to `value`, returning the value it replaced.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(name.into(), value.into())
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        ExtFields(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.0
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl IntoIterator for ExtFields {
    type Item = (String, String);
    type IntoIter = btree_map::IntoIter<String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<BTreeMap<String, String>> for ExtFields {
    fn from(map: BTreeMap<String, String>) -> Self {
        ExtFields(map)
    }
}

impl From<ExtFields> for BTreeMap<String, String> {
    fn from(fields: ExtFields) -> Self {
        fields.0
    }
}
