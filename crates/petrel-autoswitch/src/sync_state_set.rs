//! The master's review of its SyncStateSet (RocketMQ's `AutoSwitchHAService`
//! `maybeShrinkSyncStateSet` / `maybeExpandInSyncStateSet`), as a pure decision.
//!
//! A replica is *caught up* at a review when it has acknowledged everything the master held at
//! the previous review. A member that is not connected, or has not been caught up for
//! `haMaxTimeSlaveNotCatchup`, leaves; a connected replica that is caught up and holds the
//! current epoch's start joins. The master is always a member. The controller decides: the
//! master proposes the new set (CONTROLLER_ALTER_SYNC_STATE_SET) and uses it only once accepted;
//! while an expansion is proposed, sends wait for the union.

use std::collections::{BTreeMap, BTreeSet};

/// What the reviews remember between rounds.
#[derive(Debug, Default)]
pub struct Review {
    /// Replica → when it was last caught up (ms).
    caught_up_ms: BTreeMap<u64, i64>,
    /// The master's CommitLog end at the previous review.
    previous_end: u64,
}

impl Review {
    /// The set the master should propose, if it differs from `members`.
    ///
    /// `acks`: each connected replica's broker id and acknowledged offset; `end`: the master's
    /// CommitLog end now; `epoch_start`: where the master's epoch starts.
    #[allow(clippy::too_many_arguments)]
    pub fn review(
        &mut self,
        members: &BTreeSet<u64>,
        master_id: u64,
        acks: &[(u64, u64)],
        end: u64,
        epoch_start: u64,
        now_ms: i64,
        max_not_catchup_ms: u64,
    ) -> Option<BTreeSet<u64>> {
        for &(id, ack) in acks {
            if ack >= self.previous_end {
                self.caught_up_ms.insert(id, now_ms);
            }
        }
        let previous_end = self.previous_end;
        self.previous_end = end;
        let mut next: BTreeSet<u64> = members
            .iter()
            .copied()
            .filter(|&m| {
                if m == master_id {
                    return true;
                }
                let connected = acks.iter().any(|&(id, _)| id == m);
                let recent = self
                    .caught_up_ms
                    .get(&m)
                    .is_some_and(|&t| now_ms.saturating_sub(t) <= max_not_catchup_ms as i64);
                connected && recent
            })
            .collect();
        next.insert(master_id);
        for &(id, ack) in acks {
            if id != master_id
                && ack >= previous_end
                && ack >= epoch_start
                && self.caught_up_ms.get(&id) == Some(&now_ms)
            {
                next.insert(id);
            }
        }
        (next != *members).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u64]) -> BTreeSet<u64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_caught_up_replica_joins_a_lagging_or_gone_one_leaves() {
        let mut r = Review::default();
        let master = 1;
        // First review: the master held nothing before, so a connected replica is caught up.
        assert_eq!(
            r.review(&set(&[1]), master, &[(2, 0)], 100, 0, 1_000, 15_000),
            Some(set(&[1, 2]))
        );
        // Replica 3 connects but is behind what the master held at the last review.
        let members = set(&[1, 2]);
        assert_eq!(
            r.review(
                &members,
                master,
                &[(2, 100), (3, 50)],
                200,
                0,
                2_000,
                15_000
            ),
            None
        );
        // Replica 2 stays behind for longer than haMaxTimeSlaveNotCatchup: it leaves.
        assert_eq!(
            r.review(
                &members,
                master,
                &[(2, 150), (3, 200)],
                300,
                0,
                18_000,
                15_000
            ),
            Some(set(&[1, 3]))
        );
        // A member whose connection is gone leaves at once.
        let members = set(&[1, 3]);
        assert_eq!(
            r.review(&members, master, &[], 300, 0, 18_500, 15_000),
            Some(set(&[1]))
        );
    }

    #[test]
    fn a_replica_that_misses_the_epoch_start_does_not_join_and_the_master_always_stays() {
        let mut r = Review::default();
        // Caught up with the previous end (0), but short of the new epoch's start.
        assert_eq!(
            r.review(&set(&[]), 1, &[(2, 10)], 500, 400, 1_000, 15_000),
            Some(set(&[1]))
        );
        assert_eq!(
            r.review(&set(&[1]), 1, &[(2, 500)], 500, 400, 2_000, 15_000),
            Some(set(&[1, 2]))
        );
    }
}
