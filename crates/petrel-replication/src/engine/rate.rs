//! Bytes per second over the last whole second, for `transferredByteInSecond`.

/// Counts bytes and reports the last complete second's total. Time is passed in (ms).
#[derive(Debug, Default, Clone)]
pub struct RateCounter {
    second: i64,
    current: u64,
    last: u64,
}

impl RateCounter {
    pub fn add(&mut self, bytes: u64, now_ms: i64) {
        self.roll(now_ms);
        self.current += bytes;
    }

    pub fn per_second(&mut self, now_ms: i64) -> u64 {
        self.roll(now_ms);
        self.last
    }

    fn roll(&mut self, now_ms: i64) {
        let second = now_ms.div_euclid(1000);
        if second != self.second {
            self.last = if second == self.second + 1 {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.second = second;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_previous_second() {
        let mut r = RateCounter::default();
        r.add(10, 5_000);
        r.add(5, 5_900);
        assert_eq!(r.per_second(6_100), 15);
        assert_eq!(r.per_second(8_000), 0);
    }
}
