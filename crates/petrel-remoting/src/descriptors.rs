//! File descriptors: the process's limit, raising it at start, and the reserve the transport
//! keeps for the rest of the process.
//!
//! Every connection costs a descriptor, and so does every store segment file, the checkpoint
//! being replaced, and the name server's sockets. If peers could take the last descriptor, the
//! store's next segment or checkpoint would fail (the store turns read-only) and the name
//! server would stop answering. So a server refuses a connection whose descriptor number is
//! within `descriptor_reserve` of the soft limit: Linux gives out the lowest free number, so a
//! number that high means at most `reserve` descriptors are left, and every socket the
//! transport keeps has a lower number, leaving at least `reserve` to everyone else.

use std::os::fd::{AsRawFd, RawFd};

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The soft and hard `RLIMIT_NOFILE` (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorLimit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// The process's descriptor limit now.
pub fn descriptor_limit() -> DescriptorLimit {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    DescriptorLimit {
        soft: current,
        hard: maximum,
    }
}

/// Raises the soft descriptor limit to the hard limit (what a process may do without
/// privileges), as servers that hold many sockets do at start. Returns the limits before and
/// after.
pub fn raise_descriptor_limit() -> std::io::Result<(DescriptorLimit, DescriptorLimit)> {
    let before = descriptor_limit();
    if before.soft != before.hard {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: before.hard,
                maximum: before.hard,
            },
        )?;
    }
    Ok((before, descriptor_limit()))
}

/// The first descriptor number a server will not keep a connection on: `soft - reserve`
/// (`None`: no limit to keep a reserve below).
pub(crate) fn connection_ceiling(reserve: usize) -> Option<u64> {
    let soft = descriptor_limit().soft?;
    Some(soft.saturating_sub(reserve as u64))
}

/// Whether a socket's descriptor number eats into the reserve.
pub(crate) fn in_reserve(socket: &impl AsRawFd, ceiling: Option<u64>) -> bool {
    let fd: RawFd = socket.as_raw_fd();
    match (ceiling, u64::try_from(fd)) {
        (Some(ceiling), Ok(fd)) => fd >= ceiling,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_leaves_the_reserve_below_the_soft_limit() {
        let limit = descriptor_limit();
        match (limit.soft, connection_ceiling(256)) {
            (Some(soft), Some(ceiling)) => assert_eq!(ceiling, soft.saturating_sub(256)),
            (None, None) => {}
            other => panic!("{other:?}"),
        }
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(in_reserve(&file, Some(0)));
        assert!(!in_reserve(&file, Some(u64::MAX)));
        assert!(!in_reserve(&file, None));
    }
}
