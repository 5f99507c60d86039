//! What the sessions list says about where a session was signed in: the kind of browser and
//! system, read from the user agent, and the network, shortened. Only these summaries are
//! stored, never the user agent or the address itself.

use std::net::IpAddr;

/// Longest summary kept.
const MAX_DEVICE_CHARS: usize = 60;

/// A short summary of a user agent: "Firefox on Linux", "Safari on iPhone", "API client";
/// "Unknown device" when it says nothing recognisable.
pub fn describe(user_agent: &str) -> String {
    let ua = user_agent;
    let has = |needle: &str| ua.contains(needle);
    let browser = if has("Firefox/") {
        Some("Firefox")
    } else if has("Edg/") {
        Some("Edge")
    } else if has("OPR/") {
        Some("Opera")
    } else if has("Chrome/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else {
        None
    };
    let system = if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    let summary = match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => {
            // A program rather than a browser: its own name, without its version.
            let program: String = ua
                .split(['/', ' '])
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .take(30)
                .collect();
            if program.is_empty() || program == "Mozilla" {
                "Unknown device".to_string()
            } else {
                format!("{program} (a program)")
            }
        }
    };
    summary.chars().take(MAX_DEVICE_CHARS).collect()
}

/// The network around an address, as the sessions list shows it: an IPv4 address's /24
/// ("203.0.113.0/24"), an IPv6 address's /48 ("2001:db8:7::/48"). Enough for a person to
/// tell their home from somewhere else; too coarse to find anyone by.
pub fn network_label(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_label(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
                format!("{prefix}/48")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_user_agents_read_as_people_would_say_them() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0 Safari/537.36 Edg/126.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/126.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl (a program)"),
            ("", "Unknown device"),
        ];
        for (ua, said) in cases {
            assert_eq!(describe(ua), said, "{ua}");
        }
    }

    #[test]
    fn networks_are_shortened() {
        let v4: IpAddr = "203.0.113.77".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(network_label(v4), "203.0.113.0/24");
        let v6: IpAddr = "2001:db8:7:1::5"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(network_label(v6), "2001:db8:7::/48");
        let mapped: IpAddr = "::ffff:198.51.100.9"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(network_label(mapped), "198.51.100.0/24");
    }
}
