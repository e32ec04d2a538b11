//! The queue a FIFO message goes to, chosen as Apache's proxy chooses it
//! (`SendMessageActivity.SendMessageQueueSelector`): Guava's `Hashing.consistentHash` of the
//! message group's Java `String.hashCode()` over the topic's writable queues. Same group, same
//! queue — also across a Petrel and an Apache proxy in front of the same topic.

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Guava's `Hashing.consistentHash(long, int)`: the jump consistent hash of Lamping and Veach
/// driven by a 64-bit linear congruential generator. `buckets` must be positive (0 is answered 0).
pub fn consistent_hash(input: i64, buckets: i32) -> i32 {
    if buckets <= 0 {
        return 0;
    }
    let mut state = input;
    let mut candidate: i32 = 0;
    loop {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        // (int) (state >>> 33) + 1, over 2^31: a double in (0, 1].
        let next_double = f64::from(((state as u64) >> 33) as i32 + 1) / 2_147_483_648.0;
        // Java's (int) cast of a double saturates, as Rust's `as` does.
        let next = (f64::from(candidate + 1) / next_double) as i32;
        if next >= 0 && next < buckets {
            candidate = next;
        } else {
            return candidate;
        }
    }
}

/// The index of the queue among `writable` queues for a message group.
pub fn queue_index_for_group(message_group: &str, writable: usize) -> usize {
    let buckets = i32::try_from(writable).unwrap_or(i32::MAX);
    let bucket = consistent_hash(i64::from(java_string_hash(message_group)), buckets);
    usize::try_from(bucket).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_codes() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Wraps like Java's int arithmetic.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // UTF-16 code units, not bytes or chars: U+1F600 is two units.
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn consistent_hash_stays_in_range_and_moves_little() {
        for input in [-5i64, 0, 1, 42, 99_162_322, i64::from(i32::MIN)] {
            assert_eq!(consistent_hash(input, 1), 0);
            let mut previous = consistent_hash(input, 1);
            for buckets in 2..64 {
                let b = consistent_hash(input, buckets);
                assert!((0..buckets).contains(&b));
                // Jump hash: growing by one bucket either keeps the bucket or moves to the new one.
                assert!(b == previous || b == buckets - 1, "{input} {buckets}");
                previous = b;
            }
        }
    }

    /// Guava 32's `Hashing.consistentHash(group.hashCode(), buckets)`, printed by Java.
    #[test]
    fn the_same_buckets_as_guava() {
        let expected: &[(&str, i32, i32)] = &[
            ("group-a", 1, 0),
            ("group-a", 2, 0),
            ("group-a", 4, 2),
            ("group-a", 8, 7),
            ("group-a", 16, 7),
            ("group-a", 7, 2),
            ("group-b", 1, 0),
            ("group-b", 2, 1),
            ("group-b", 4, 3),
            ("group-b", 8, 3),
            ("group-b", 16, 15),
            ("group-b", 7, 3),
            ("order-42", 1, 0),
            ("order-42", 2, 0),
            ("order-42", 4, 3),
            ("order-42", 8, 3),
            ("order-42", 16, 10),
            ("order-42", 7, 3),
            ("hello", 1, 0),
            ("hello", 2, 0),
            ("hello", 4, 3),
            ("hello", 8, 4),
            ("hello", 16, 8),
            ("hello", 7, 4),
            ("", 1, 0),
            ("", 2, 0),
            ("", 4, 0),
            ("", 8, 0),
            ("", 16, 0),
            ("", 7, 0),
            ("été", 1, 0),
            ("été", 2, 1),
            ("été", 4, 1),
            ("été", 8, 7),
            ("été", 16, 7),
            ("été", 7, 6),
            ("polygenelubricants", 1, 0),
            ("polygenelubricants", 2, 1),
            ("polygenelubricants", 4, 2),
            ("polygenelubricants", 8, 2),
            ("polygenelubricants", 16, 2),
            ("polygenelubricants", 7, 2),
            ("x", 1, 0),
            ("x", 2, 1),
            ("x", 4, 1),
            ("x", 8, 4),
            ("x", 16, 12),
            ("x", 7, 4),
        ];
        for &(group, buckets, bucket) in expected {
            assert_eq!(
                consistent_hash(i64::from(java_string_hash(group)), buckets),
                bucket,
                "{group:?} over {buckets}"
            );
        }
    }

    #[test]
    fn same_group_same_queue() {
        let a = queue_index_for_group("order-42", 8);
        assert_eq!(a, queue_index_for_group("order-42", 8));
        assert!(a < 8);
        assert_eq!(queue_index_for_group("x", 0), 0);
    }
}
