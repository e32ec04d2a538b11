//! Tag hash codes as stored in the ConsumeQueue: Java `String.hashCode()` widened to `long`.

/// Java's `String.hashCode()` over UTF-16 code units, sign-extended to i64 as RocketMQ stores it.
pub fn tag_hash_code(tag: &str) -> i64 {
    let mut h: i32 = 0;
    for unit in tag.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    i64::from(h)
}

/// Java's `String.hashCode()` as i32 (used by the IndexFile).
pub fn java_string_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_string_hash_code() {
        // Values computed with Java's "...".hashCode().
        assert_eq!(tag_hash_code(""), 0);
        assert_eq!(tag_hash_code("TagA"), 2598919);
        assert_eq!(tag_hash_code("hello"), 99162322);
        // Overflowing hash: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(tag_hash_code("polygenelubricants"), i64::from(i32::MIN));
        // Non-ASCII is hashed over UTF-16 code units: "é".hashCode() == 233, "😀" is a surrogate pair.
        assert_eq!(tag_hash_code("é"), 233);
        assert_eq!(tag_hash_code("😀"), 0xD83D * 31 + 0xDE00);
    }
}
