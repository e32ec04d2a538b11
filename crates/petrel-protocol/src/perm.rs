//! Permission bits of topics and brokers (RocketMQ `PermName`): the `perm` of a `TopicConfig`,
//! of a route's `QueueData`, and the broker-wide `brokerPermission`.

/// Messages of the topic are delivered in priority (unused by RocketMQ's brokers).
pub const PERM_PRIORITY: i32 = 0x8;
/// Consumers may pull.
pub const PERM_READ: i32 = 0x4;
/// Producers may send.
pub const PERM_WRITE: i32 = 0x2;
/// Topics auto-created from this one inherit its config (set on `TBW102`).
pub const PERM_INHERIT: i32 = 0x1;

/// `PermName.isReadable`.
pub fn is_readable(perm: i32) -> bool {
    perm & PERM_READ == PERM_READ
}

/// `PermName.isWriteable`.
pub fn is_writeable(perm: i32) -> bool {
    perm & PERM_WRITE == PERM_WRITE
}

/// `PermName.isInherited`.
pub fn is_inherited(perm: i32) -> bool {
    perm & PERM_INHERIT == PERM_INHERIT
}

/// `PermName.isValid`: the values an operator may set (`R`, `W`, `RW`, plus the priority bit).
pub fn is_valid(perm: i32) -> bool {
    (0..PERM_PRIORITY).contains(&perm)
}

/// `PermName.perm2String`: `RW-`, `R--`, `-W-`, `--X` (X: inherit).
pub fn perm_to_string(perm: i32) -> String {
    let bit = |mask: i32, c: char| if perm & mask != 0 { c } else { '-' };
    [
        bit(PERM_READ, 'R'),
        bit(PERM_WRITE, 'W'),
        bit(PERM_INHERIT, 'X'),
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bits_as_java_does() {
        assert!(is_readable(6) && is_writeable(6) && !is_inherited(6));
        assert!(!is_writeable(PERM_READ));
        assert_eq!(perm_to_string(PERM_READ | PERM_WRITE), "RW-");
        assert_eq!(perm_to_string(PERM_READ | PERM_WRITE | PERM_INHERIT), "RWX");
        assert_eq!(perm_to_string(PERM_WRITE), "-W-");
        assert!(is_valid(6) && !is_valid(8) && !is_valid(-1));
    }
}
