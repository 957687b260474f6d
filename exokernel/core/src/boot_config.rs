//! `boot.cfg`, the boot tool's instructions to the kernel, read from the ramdisk.
//!
//! One `key=value` per line; blank lines and lines starting with `#` are ignored.
//!
//! | key | value | default |
//! |---|---|---|
//! | `init` | name of the ramdisk program to start as the init environment | `init` |
//! | `args` | the init environment's argument string | empty |
//! | `log` | kernel log level: `error`, `warn`, `info`, `debug` or `trace` | `info` |
//! | `selftest` | a kernel self-test to run instead of init: `smap`, `disk` or `net` | none |

/// Name of the configuration file inside the ramdisk.
pub const FILE_NAME: &str = "boot.cfg";

/// Kernel log verbosity, most quiet first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// Every level, most quiet first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The level's spelling in `boot.cfg`.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// The level spelled `name`.
    pub fn from_name(name: &str) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|level| level.name() == name)
    }
}

/// A kernel self-test chosen at boot instead of the init environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Touch user memory from the kernel outside the user-copy path; SMAP must make it fault.
    Smap,
    /// Write a pattern to the last blocks of the disk and read it back into other frames.
    Disk,
    /// Ask the network's gateway for its Ethernet address (ARP), then echo one UDP datagram.
    Net,
}

impl SelfTest {
    /// Every self-test.
    pub const ALL: [SelfTest; 3] = [SelfTest::Smap, SelfTest::Disk, SelfTest::Net];

    /// The self-test's spelling in `boot.cfg`.
    pub fn name(self) -> &'static str {
        match self {
            SelfTest::Smap => "smap",
            SelfTest::Disk => "disk",
            SelfTest::Net => "net",
        }
    }

    /// The self-test spelled `name`.
    pub fn from_name(name: &str) -> Option<SelfTest> {
        SelfTest::ALL.into_iter().find(|test| test.name() == name)
    }
}

/// The parsed configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootConfig<'a> {
    pub init: &'a str,
    pub args: &'a str,
    pub log_level: LogLevel,
    pub self_test: Option<SelfTest>,
}

/// Why `boot.cfg` could not be read; carries the offending line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootConfigError<'a> {
    /// A line without `=`.
    MissingEquals(&'a str),
    /// A key this kernel does not know.
    UnknownKey(&'a str),
    /// A value out of its key's range.
    BadValue(&'a str),
}

impl Default for BootConfig<'_> {
    fn default() -> Self {
        BootConfig {
            init: "init",
            args: "",
            log_level: LogLevel::Info,
            self_test: None,
        }
    }
}

impl<'a> BootConfig<'a> {
    /// Parses the text of `boot.cfg`.
    pub fn parse(text: &'a str) -> Result<BootConfig<'a>, BootConfigError<'a>> {
        let mut config = BootConfig::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or(BootConfigError::MissingEquals(line))?;
            let value = value.trim();
            match key.trim() {
                "init" if !value.is_empty() => config.init = value,
                "args" => config.args = value,
                "log" => {
                    config.log_level =
                        LogLevel::from_name(value).ok_or(BootConfigError::BadValue(line))?
                }
                "selftest" => {
                    config.self_test =
                        Some(SelfTest::from_name(value).ok_or(BootConfigError::BadValue(line))?)
                }
                "init" => return Err(BootConfigError::BadValue(line)),
                _ => return Err(BootConfigError::UnknownKey(line)),
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_gives_defaults() {
        assert_eq!(BootConfig::parse("").unwrap(), BootConfig::default());
    }

    #[test]
    fn reads_every_key() {
        let text =
            "# comment\ninit=tests\nargs = hello hostile-null \nlog=debug\n\nselftest=smap\n";
        let config = BootConfig::parse(text).unwrap();
        assert_eq!(config.init, "tests");
        assert_eq!(config.args, "hello hostile-null");
        assert_eq!(config.log_level, LogLevel::Debug);
        assert_eq!(config.self_test, Some(SelfTest::Smap));
    }

    #[test]
    fn names_round_trip() {
        for level in LogLevel::ALL {
            assert_eq!(LogLevel::from_name(level.name()), Some(level));
        }
        for test in SelfTest::ALL {
            assert_eq!(SelfTest::from_name(test.name()), Some(test));
        }
    }

    #[test]
    fn rejects_bad_lines() {
        assert_eq!(
            BootConfig::parse("init"),
            Err(BootConfigError::MissingEquals("init"))
        );
        assert_eq!(
            BootConfig::parse("colour=red"),
            Err(BootConfigError::UnknownKey("colour=red"))
        );
        assert_eq!(
            BootConfig::parse("log=loud"),
            Err(BootConfigError::BadValue("log=loud"))
        );
        assert_eq!(
            BootConfig::parse("init="),
            Err(BootConfigError::BadValue("init="))
        );
        assert_eq!(
            BootConfig::parse("selftest=x"),
            Err(BootConfigError::BadValue("selftest=x"))
        );
    }
}
