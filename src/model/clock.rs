//! listcrypt's clock, and how it writes times.

/// Seconds since the Unix epoch. `LISTCRYPT_NOW` (seconds) sets listcrypt's
/// own clock, for tests and dry runs of time-based rules; gpg keeps the real one.
pub fn now() -> u64 {
    if let Some(fixed) = std::env::var("LISTCRYPT_NOW").ok().and_then(|v| v.parse().ok()) {
        return fixed;
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `2026-11-26T19:44:28Z` for seconds since the epoch (UTC).
pub fn utc(secs: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rem = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_formatted() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_722_268), "2026-11-26T19:44:28Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
