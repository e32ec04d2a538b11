//! The `sysFlag` bits of a PULL_MESSAGE request (RocketMQ `PullSysFlag`).

/// The request carries `commitOffset`; the broker commits it for the group.
pub const FLAG_COMMIT_OFFSET: i32 = 0x1;
/// The broker may hold the request (long polling) up to `suspendTimeoutMillis`.
pub const FLAG_SUSPEND: i32 = 0x2;
/// The request carries its subscription expression (otherwise the broker uses the one the
/// group's heartbeat registered).
pub const FLAG_SUBSCRIPTION: i32 = 0x4;
/// Class filter mode (filter servers; removed in 5.x).
pub const FLAG_CLASS_FILTER: i32 = 0x8;
/// Sent by the lite pull consumer.
pub const FLAG_LITE_PULL: i32 = 0x10;

/// `PullSysFlag.buildSysFlag`.
pub fn build(commit_offset: bool, suspend: bool, subscription: bool, class_filter: bool) -> i32 {
    let bit = |on: bool, flag: i32| if on { flag } else { 0 };
    bit(commit_offset, FLAG_COMMIT_OFFSET)
        | bit(suspend, FLAG_SUSPEND)
        | bit(subscription, FLAG_SUBSCRIPTION)
        | bit(class_filter, FLAG_CLASS_FILTER)
}

pub fn has_commit_offset(sys_flag: i32) -> bool {
    sys_flag & FLAG_COMMIT_OFFSET != 0
}

pub fn has_suspend(sys_flag: i32) -> bool {
    sys_flag & FLAG_SUSPEND != 0
}

pub fn has_subscription(sys_flag: i32) -> bool {
    sys_flag & FLAG_SUBSCRIPTION != 0
}

/// `PullSysFlag.clearCommitOffsetFlag`: a slave (or a broker refusing the commit) drops it.
pub fn clear_commit_offset(sys_flag: i32) -> i32 {
    sys_flag & !FLAG_COMMIT_OFFSET
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_flags() {
        let flag = build(true, true, false, false);
        assert_eq!(flag, 0x3);
        assert!(has_commit_offset(flag) && has_suspend(flag) && !has_subscription(flag));
        assert_eq!(clear_commit_offset(flag), FLAG_SUSPEND);
        assert_eq!(build(false, false, true, true), 0xC);
    }
}
