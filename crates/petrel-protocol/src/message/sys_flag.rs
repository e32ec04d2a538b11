//! Message `sysFlag` bits (RocketMQ `MessageSysFlag`, `CompressionType`).

pub const COMPRESSED: i32 = 0x1;
pub const MULTI_TAGS: i32 = 0x2;
pub const TRANSACTION_NOT_TYPE: i32 = 0;
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
pub const BORNHOST_V6: i32 = 0x10;
pub const STOREHOST_V6: i32 = 0x20;
pub const NEED_UNWRAP: i32 = 0x40;
pub const INNER_BATCH: i32 = 0x80;
pub const COMPRESSION_LZ4: i32 = 0x100;
pub const COMPRESSION_ZSTD: i32 = 0x200;
pub const COMPRESSION_ZLIB: i32 = 0x300;
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

/// The transaction type bits of a sysFlag (one of the `TRANSACTION_*` values).
pub fn transaction_type(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_ROLLBACK_TYPE
}

/// Replaces the transaction type bits.
pub fn with_transaction_type(sys_flag: i32, kind: i32) -> i32 {
    (sys_flag & !TRANSACTION_ROLLBACK_TYPE) | (kind & TRANSACTION_ROLLBACK_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_bits_round_trip() {
        let flag = COMPRESSED | TRANSACTION_PREPARED_TYPE;
        assert_eq!(transaction_type(flag), TRANSACTION_PREPARED_TYPE);
        let committed = with_transaction_type(flag, TRANSACTION_COMMIT_TYPE);
        assert_eq!(transaction_type(committed), TRANSACTION_COMMIT_TYPE);
        assert_eq!(committed & COMPRESSED, COMPRESSED);
    }
}
