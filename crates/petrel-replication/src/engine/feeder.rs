//! A master's decision on where to start streaming to a slave, from the slave's first report.
//!
//! RocketMQ's master starts a slave that reports 0 at the start of its *last* CommitLog file;
//! Petrel starts it at the start of the whole retained log, so that a new slave holds every
//! message the master still has (the requirement). A report past the master's end means
//! the slave's log is not this master's (or is longer): refused, never merged. A report below
//! the retained log's start cannot be continued (the bytes in between are gone).

/// Why a slave cannot be fed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error(
        "the slave's CommitLog ends at {slave} but this master's ends at {master}: the slave's \
         log is longer than the master's (another broker's, or this master lost data); refusing \
         it rather than merging"
    )]
    SlaveAhead { slave: u64, master: u64 },
    #[error(
        "the slave's CommitLog ends at {slave}, before this master's retained log starts \
         ({master_start}): the bytes in between were deleted by retention; empty the slave's \
         store to copy the master afresh"
    )]
    SlaveBehindRetention { slave: u64, master_start: u64 },
}

/// Where to stream from for a slave that reported `reported` (its CommitLog max offset).
pub fn start_offset(reported: u64, master_start: u64, master_end: u64) -> Result<u64, StartError> {
    if reported == 0 {
        return Ok(master_start);
    }
    if reported > master_end {
        return Err(StartError::SlaveAhead {
            slave: reported,
            master: master_end,
        });
    }
    if reported < master_start {
        return Err(StartError::SlaveBehindRetention {
            slave: reported,
            master_start,
        });
    }
    Ok(reported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_slave_gets_the_whole_retained_log() {
        assert_eq!(start_offset(0, 0, 5000), Ok(0));
        assert_eq!(start_offset(0, 1 << 30, 3 << 30), Ok(1 << 30));
    }

    #[test]
    fn a_returning_slave_resumes_from_its_own_end() {
        assert_eq!(start_offset(4000, 0, 5000), Ok(4000));
        assert_eq!(start_offset(5000, 0, 5000), Ok(5000));
    }

    #[test]
    fn a_longer_or_stranded_slave_is_refused() {
        assert_eq!(
            start_offset(6000, 0, 5000),
            Err(StartError::SlaveAhead {
                slave: 6000,
                master: 5000
            })
        );
        assert_eq!(
            start_offset(10, 1 << 30, 3 << 30),
            Err(StartError::SlaveBehindRetention {
                slave: 10,
                master_start: 1 << 30
            })
        );
    }
}
