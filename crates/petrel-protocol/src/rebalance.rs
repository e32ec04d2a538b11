//! How a group's queues are shared out (RocketMQ's `AllocateMessageQueueAveragely`), as index
//! arithmetic both sides need: Petrel's client rebalances by it, and the broker answers
//! QUERY_ASSIGNMENT (server-side rebalance) by it, so that both agree with Java consumers.

use std::ops::Range;

/// The queues (indices into the sorted queue list of length `queues`) that member `index` of
/// `members` (sorted client ids) owns: contiguous runs, the first `queues % members` members
/// taking one more. Empty when there are more members than queues and `index` is past them.
pub fn average_range(index: usize, queues: usize, members: usize) -> Range<usize> {
    if members == 0 || queues == 0 {
        return 0..0;
    }
    let rem = queues % members;
    let average = if queues <= members {
        1
    } else if rem > 0 && index < rem {
        queues / members + 1
    } else {
        queues / members
    };
    let start = if rem > 0 && index < rem {
        index * average
    } else {
        index * average + rem
    }
    .min(queues);
    start..start + average.min(queues - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_contiguous_and_cover_every_queue_once() {
        assert_eq!(average_range(0, 5, 2), 0..3);
        assert_eq!(average_range(1, 5, 2), 3..5);
        assert_eq!(average_range(4, 5, 7), 4..5);
        assert_eq!(average_range(6, 5, 7), 5..5);
        assert_eq!(average_range(0, 0, 3), 0..0);
        assert_eq!(average_range(0, 4, 0), 0..0);
        for queues in 0..20 {
            for members in 1..8 {
                let covered: Vec<usize> = (0..members)
                    .flat_map(|m| average_range(m, queues, members))
                    .collect();
                assert_eq!(
                    covered,
                    (0..queues).collect::<Vec<_>>(),
                    "{queues}/{members}"
                );
            }
        }
    }
}
