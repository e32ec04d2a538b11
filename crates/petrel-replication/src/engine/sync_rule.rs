//! SYNC_MASTER's rule: whether a send waits for slaves, how many acknowledgements it needs, and
//! when it is refused at once.
//!
//! Two rules, chosen by configuration:
//! - [`SyncRule::OneSlave`], RocketMQ 4.9's (`CommitLog#submitReplicaRequest`), Petrel's
//!   default: a send waits until one slave holds its bytes; with no slave connected, or the best
//!   one more than `haSlaveFallbehindMax` behind, it is answered SLAVE_NOT_AVAILABLE at once.
//! - [`SyncRule::Replicas`], RocketMQ 5.x's (`CommitLog#handleHA`, `calcNeedAckNums`), when
//!   `inSyncReplicas` is set: `inSyncReplicas` copies (the master counted) must hold it;
//!   `enableAutoInSyncReplicas` lowers that to the replicas in sync, not below
//!   `minInSyncReplicas`; too few in sync is IN_SYNC_REPLICAS_NOT_ENOUGH. With
//!   `inSyncReplicas` ≤ 1 nothing waits (5.x's default, which Petrel does not make its own).

/// Which rule a SYNC_MASTER applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRule {
    OneSlave {
        /// `haSlaveFallbehindMax`.
        fallbehind_max_bytes: u64,
    },
    Replicas {
        /// `inSyncReplicas` (the master counts as one).
        in_sync_replicas: u32,
        /// `minInSyncReplicas`.
        min_in_sync_replicas: u32,
        /// `enableAutoInSyncReplicas`.
        auto: bool,
        /// `haMaxGapNotInSync`: a slave further behind is not in sync.
        max_gap_bytes: u64,
    },
}

/// What a send whose bytes end at `end_offset` must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Acknowledge now.
    NoWait,
    /// Wait until this many slaves acknowledged `end_offset` (bounded by `slaveTimeout`).
    Wait { slave_acks: usize },
    /// SLAVE_NOT_AVAILABLE (4.9): no slave connected, or none close enough.
    SlaveNotAvailable,
    /// IN_SYNC_REPLICAS_NOT_ENOUGH (5.x).
    InSyncReplicasNotEnough,
}

impl SyncRule {
    /// Decides for a send ending at `end_offset`, given each connected slave's acknowledged
    /// offset.
    pub fn admit(&self, end_offset: u64, slave_acks: &[u64]) -> Admission {
        match *self {
            Self::OneSlave {
                fallbehind_max_bytes,
            } => match slave_acks.iter().max() {
                Some(&best) if end_offset.saturating_sub(best) < fallbehind_max_bytes => {
                    Admission::Wait { slave_acks: 1 }
                }
                _ => Admission::SlaveNotAvailable,
            },
            Self::Replicas {
                in_sync_replicas,
                min_in_sync_replicas,
                auto,
                max_gap_bytes,
            } => {
                if in_sync_replicas <= 1 {
                    return Admission::NoWait;
                }
                let in_sync_slaves = slave_acks
                    .iter()
                    .filter(|&&ack| end_offset.saturating_sub(ack) < max_gap_bytes)
                    .count() as u32;
                let in_sync = in_sync_slaves + 1;
                let mut need = in_sync_replicas;
                if auto {
                    need = need.min(in_sync).max(min_in_sync_replicas);
                }
                if need > in_sync {
                    Admission::InSyncReplicasNotEnough
                } else if need <= 1 {
                    Admission::NoWait
                } else {
                    Admission::Wait {
                        slave_acks: (need - 1) as usize,
                    }
                }
            }
        }
    }
}

/// Have `needed` slaves acknowledged `end_offset`?
pub fn acknowledged(slave_acks: &[u64], end_offset: u64, needed: usize) -> bool {
    slave_acks.iter().filter(|&&ack| ack >= end_offset).count() >= needed
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;
    const ONE: SyncRule = SyncRule::OneSlave {
        fallbehind_max_bytes: 256 * MIB,
    };

    fn replicas(isr: u32, min: u32, auto: bool) -> SyncRule {
        SyncRule::Replicas {
            in_sync_replicas: isr,
            min_in_sync_replicas: min,
            auto,
            max_gap_bytes: 256 * 1024,
        }
    }

    #[test]
    fn four_nine_waits_for_one_slave_and_refuses_without_one() {
        assert_eq!(ONE.admit(100, &[]), Admission::SlaveNotAvailable);
        assert_eq!(ONE.admit(100, &[0]), Admission::Wait { slave_acks: 1 });
        assert_eq!(
            ONE.admit(300 * MIB, &[10]),
            Admission::SlaveNotAvailable,
            "a slave further behind than haSlaveFallbehindMax is not OK"
        );
        assert_eq!(
            ONE.admit(300 * MIB, &[10, 200 * MIB]),
            Admission::Wait { slave_acks: 1 }
        );
    }

    #[test]
    fn five_x_waits_only_with_in_sync_replicas_above_one() {
        assert_eq!(replicas(1, 1, false).admit(100, &[]), Admission::NoWait);
        assert_eq!(
            replicas(2, 1, false).admit(100, &[50]),
            Admission::Wait { slave_acks: 1 }
        );
        assert_eq!(
            replicas(2, 1, false).admit(100, &[]),
            Admission::InSyncReplicasNotEnough
        );
        assert_eq!(
            replicas(3, 1, false).admit(100, &[50, 60]),
            Admission::Wait { slave_acks: 2 }
        );
    }

    #[test]
    fn auto_in_sync_replicas_degrades_to_the_minimum() {
        // One slave of two is gone: wait for the one left.
        assert_eq!(
            replicas(3, 1, true).admit(100, &[50]),
            Admission::Wait { slave_acks: 1 }
        );
        // No slave left: the master alone, as minInSyncReplicas allows.
        assert_eq!(replicas(2, 1, true).admit(100, &[]), Admission::NoWait);
        // But not below minInSyncReplicas.
        assert_eq!(
            replicas(2, 2, true).admit(100, &[]),
            Admission::InSyncReplicasNotEnough
        );
        // A slave too far behind does not count as in sync.
        assert_eq!(
            replicas(2, 2, true).admit(10 * MIB, &[0]),
            Admission::InSyncReplicasNotEnough
        );
    }

    #[test]
    fn acknowledged_counts_slaves_at_or_past_the_offset() {
        assert!(acknowledged(&[100, 20], 100, 1));
        assert!(!acknowledged(&[100, 20], 100, 2));
        assert!(!acknowledged(&[], 1, 1));
    }
}
